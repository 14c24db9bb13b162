#!/usr/bin/env bash
# test/bench/users.sh: how fast `cutover users` creates users in Stack Auth when every request takes 50 ms, at
# the default settings and at --concurrency 16 (the default before issue 18), taking turns.
#
# A throwaway source cluster holding test/fixtures/supabase.sql plus BENCH_USERS (default 20,000) regular
# users with a bcrypt hash, a confirmed email and a name; a target cluster with pg_cutover; the Stack Auth
# emulator of the tests with --latency-ms 50 (the round trip of a hosted Stack Auth), 64 worker threads. Each run
# starts from an empty Stack Auth and an empty journal and ID map, times `cutover users` to the end, and checks
# that every user is mapped once and Stack Auth holds each once. Prints users per second of each method and run.
#
# Environment: PG_CONFIG (default: PostgreSQL 15's), BENCH_USERS, BENCH_RUNS (timed rounds, default 2),
# BENCH_LATENCY_MS (default 50), BENCH_STRICT=1 (exit 1 when the default settings stay under 500 users/s).
set -euo pipefail

BENCH_NAME=users.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USERS=${BENCH_USERS:-20000}
RUNS=${BENCH_RUNS:-2}
LATENCY=${BENCH_LATENCY_MS:-50}
CUTOVER=${CUTOVER_BIN:-$ROOT/client/cutover}
EMULATOR=${STACK_AUTH_EMULATOR:-$ROOT/test/stack_auth_emulator/stack_auth_emulator}

need_tools initdb pg_ctl psql
[ -x "$CUTOVER" ] && [ -x "$EMULATOR" ] || { log "$BENCH_NAME: build the client and the emulator first (make)"; exit 2; }

bench_pair bench_users
SETTINGS=('autovacuum = off' 'jit = off')
start_cluster "$SRC_DATA" "$SRC_PORT" 127.0.0.1 "${SETTINGS[@]}"
start_cluster "$TGT_DATA" "$TGT_PORT" '' "${SETTINGS[@]}"
for port in "$SRC_PORT" "$TGT_PORT"; do
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$port" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"
done

log "source: test/fixtures/supabase.sql and $USERS more users"
psql_src -q -f "$ROOT/test/fixtures/supabase.sql" >/dev/null
psql_src -q <<SQL
INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, last_sign_in_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
SELECT '00000000-0000-0000-0000-000000000000', md5('bench-user-' || i)::uuid, 'authenticated', 'authenticated',
       'bench' || i || '@example.com', '\$2a\$10\$FQnXzUMyENo8QoIkI6ItlOIt.soM41yWEY7ThMzosCuTp78ev8HCu',
       now() - interval '30 days', now() - interval '1 day', '{"provider": "email", "providers": ["email"]}',
       jsonb_build_object('full_name', 'Bench User ' || i), now() - interval '30 days', now()
FROM generate_series(1, $USERS) AS i;
INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
SELECT md5('bench-user-' || i)::uuid::text, md5('bench-user-' || i)::uuid,
       jsonb_build_object('sub', md5('bench-user-' || i)::uuid::text, 'email', 'bench' || i || '@example.com'),
       'email', now() - interval '30 days', now()
FROM generate_series(1, $USERS) AS i;
ANALYZE;
SQL
TOTAL=$(psql_src -At -c "SELECT count(*) FROM auth.users")

psql_tgt -q -c "CREATE EXTENSION pg_cutover CASCADE"
psql_tgt -At -c "SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER')" >&2

# The emulator, as the postgres user runs nothing of it: this process's own child.
KEY=ssk_bench_$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
PROJECT=5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35
STACK_SECRET_SERVER_KEY=$KEY "$EMULATOR" --port 0 --port-file "$WORK/emulator.port" --latency-ms "$LATENCY" \
	--threads 64 >"$WORK/emulator.out" 2>/dev/null &
EMULATOR_PID=$!
trap 'kill "$EMULATOR_PID" 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 100); do [ -s "$WORK/emulator.port" ] && break; sleep 0.05; done
API=http://127.0.0.1:$(cat "$WORK/emulator.port")
control() { curl -sf -X "$1" "$API/__emulator/$2"; }

export PGHOST=$WORK PGPORT=$TGT_PORT PGUSER=$OWNER PGDATABASE=bench
export CUTOVER_SOURCE_URL="host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER"
export STACK_API_URL=$API STACK_PROJECT_ID=$PROJECT STACK_SECRET_SERVER_KEY=$KEY

declare -A RATE=()
# shellcheck disable=SC2317 # take_turns calls it
one() {
	local round=$1 method=$2 start end ms rate flags=() mapped users
	[ "$method" = c16 ] && flags=(--concurrency 16)
	control POST reset >/dev/null
	psql_tgt -q -c "DELETE FROM cutover.user_journal; DELETE FROM cutover.id_map"
	start=$EPOCHREALTIME
	"$CUTOVER" users "${flags[@]}" >"$WORK/users.out" 2>"$WORK/users.err" ||
		{ tail -n 20 "$WORK/users.err" >&2; fail "cutover users ($method) failed"; return; }
	end=$EPOCHREALTIME
	ms=$(elapsed_ms "$start" "$end")
	mapped=$(psql_tgt -At -c "SELECT count(*) FROM cutover.id_map")
	users=$(control GET stats | tr -d " \n" | sed -n 's/.*"users":\([0-9]*\).*/\1/p')
	[ "$mapped" = "$TOTAL" ] && [ "$users" = "$TOTAL" ] ||
		fail "$method: $mapped users mapped and $users in Stack Auth, not $TOTAL"
	rate=$(rate "$TOTAL" "$ms")
	record_run "$round" "$method" "$method" "$ms" "$rate users/s"
	if [ "$round" -gt 0 ] && { [ -z "${RATE[$method]:-}" ] || [ "$rate" -gt "${RATE[$method]}" ]; }; then
		RATE[$method]=$rate
	fi
}

log "timing: $RUNS rounds of $TOTAL users, the default settings and --concurrency 16 taking turns"
take_turns one '' default/c16

echo
echo "users.sh: $TOTAL users, Stack Auth emulator at $LATENCY ms a request, source and target on this machine"
echo "best of $RUNS runs, taking turns:"
printf '  %-28s %9s ms   %6s users/s\n' "default settings" "${BEST[default]}" "${RATE[default]}"
printf '  %-28s %9s ms   %6s users/s\n' "--concurrency 16" "${BEST[c16]}" "${RATE[c16]}"
misses=0
if [ "${RATE[default]:-0}" -ge 500 ]; then
	echo "default settings: ${RATE[default]} users/s (target >= 500: PASS)"
else
	echo "default settings: ${RATE[default]:-0} users/s (target >= 500: MISS)"
	misses=1
fi
bench_finish "$misses"
