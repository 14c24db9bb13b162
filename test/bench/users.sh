#!/usr/bin/env bash
# test/bench/users.sh: how fast `cutover users` creates users in Stack Auth when every request takes 50 ms, at
# the default settings and at --concurrency 16 (the default before issue 18), taking turns; and how long
# `cutover users --sync` then takes in the window, against that full creation.
#
# A throwaway source cluster holding test/fixtures/supabase.sql plus BENCH_USERS (default 20,000) regular
# users with a bcrypt hash, a confirmed email and a name; a target cluster with pg_cutover; the Stack Auth
# emulator of the tests with --latency-ms 50 (the round trip of a hosted Stack Auth), 64 worker threads. Each run
# starts from an empty Stack Auth and an empty journal and ID map, times `cutover users` to the end, and checks
# that every user is mapped once and Stack Auth holds each once. Prints users per second of each method and run.
# After each creation at the default settings, the source changes as a live Supabase does before the freeze
# (2% of the users renamed, 1% new, 0.5% deleted), `cutover users --sync` is timed and checked (every change
# sent once, the deleted users kept), and the source is put back. Target: the sync takes at most 1/20 of the
# creation.
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
[ -x /usr/bin/time ] || { log "$BENCH_NAME: needs /usr/bin/time (apt-get install time)"; exit 2; }
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
# insert_users PREFIX FROM TO [WHERE]: users PREFIX-i for i in FROM..TO (where WHERE holds of i), with their
# email identities; those already there are left as they are.
insert_users() {
	psql_src -q <<SQL
INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, last_sign_in_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
SELECT '00000000-0000-0000-0000-000000000000', md5('$1-' || i)::uuid, 'authenticated', 'authenticated',
       '$1' || i || '@example.com', '\$2a\$10\$FQnXzUMyENo8QoIkI6ItlOIt.soM41yWEY7ThMzosCuTp78ev8HCu',
       now() - interval '30 days', now() - interval '1 day', '{"provider": "email", "providers": ["email"]}',
       jsonb_build_object('full_name', 'Bench User ' || i), now() - interval '30 days', now()
FROM generate_series($2, $3) AS i WHERE ${4:-true}
ON CONFLICT DO NOTHING;
INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
SELECT md5('$1-' || i)::uuid::text, md5('$1-' || i)::uuid,
       jsonb_build_object('sub', md5('$1-' || i)::uuid::text, 'email', '$1' || i || '@example.com'),
       'email', now() - interval '30 days', now()
FROM generate_series($2, $3) AS i WHERE ${4:-true}
ON CONFLICT DO NOTHING;
SQL
}
insert_users bench-user 1 "$USERS"
psql_src -q -c ANALYZE
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
CHANGED=$((USERS / 50)) NEW=$((USERS / 100)) DELETED=$((USERS / 200))

# The source as a live Supabase leaves it days after the creation: 2% renamed, 1% new, 0.5% deleted.
change_source() {
	psql_src -q <<SQL
UPDATE auth.users SET raw_user_meta_data = jsonb_build_object('full_name', 'Renamed ' || i)
FROM generate_series(50, $USERS, 50) AS i WHERE id = md5('bench-user-' || i)::uuid;
DELETE FROM auth.users WHERE id IN (SELECT md5('bench-user-' || i)::uuid FROM generate_series(7, $USERS, 200) AS i);
SQL
	insert_users bench-new 1 "$NEW"
}

# The source back as it was before change_source.
restore_source() {
	psql_src -q <<SQL
UPDATE auth.users SET raw_user_meta_data = jsonb_build_object('full_name', 'Bench User ' || i)
FROM generate_series(50, $USERS, 50) AS i WHERE id = md5('bench-user-' || i)::uuid;
DELETE FROM auth.users WHERE email LIKE 'bench-new%';
SQL
	insert_users bench-user 7 "$USERS" "i % 200 = 7"
}

# After a creation: the source changed, `cutover users --sync` timed and checked, the source put back.
sync_one() {
	local round=$1 start end ms stats
	change_source
	start=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$WORK/sync.rss" "$CUTOVER" users --sync >"$WORK/sync.out" 2>"$WORK/sync.err" ||
		{ tail -n 20 "$WORK/sync.err" >&2; fail "cutover users --sync failed"; }
	end=$EPOCHREALTIME
	ms=$(elapsed_ms "$start" "$end")
	stats=$(control GET stats | tr -d " \n")
	field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$stats"; }
	[ "$(field creates)/$(field updates)/$(field deletes)/$(field users)" = "$((TOTAL + NEW))/$CHANGED/0/$((TOTAL + NEW))" ] ||
		fail "sync: Stack Auth saw not $((TOTAL + NEW)) creates, $CHANGED updates and no delete, or holds not $((TOTAL + NEW)) users: $stats"
	SYNC_RSS=$(tail -n 1 "$WORK/sync.rss")
	record_run "$round" sync "sync" "$ms" "$CHANGED changed, $NEW new, $DELETED deleted, client peak RSS $SYNC_RSS kB"
	restore_source
}

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
	if [ "$method" = default ]; then
		sync_one "$round"
	fi
}

log "timing: $RUNS rounds of $TOTAL users, the default settings and --concurrency 16 taking turns"
take_turns one '' default/c16

echo
echo "users.sh: $TOTAL users, Stack Auth emulator at $LATENCY ms a request, source and target on this machine"
echo "best of $RUNS runs, taking turns:"
printf '  %-28s %9s ms   %6s users/s\n' "default settings" "${BEST[default]}" "${RATE[default]}"
printf '  %-28s %9s ms   %6s users/s\n' "--concurrency 16" "${BEST[c16]}" "${RATE[c16]}"
printf '  %-28s %9s ms   (%s changed, %s new, %s deleted)\n' "users --sync after it" "${BEST[sync]}" \
	"$CHANGED" "$NEW" "$DELETED"
echo "client peak RSS during the last sync: $SYNC_RSS kB for $TOTAL users"
misses=0
share=$(awk -v s="${BEST[sync]}" -v f="${BEST[default]}" 'BEGIN { printf "%.1f", f / s }')
if awk -v s="${BEST[sync]}" -v f="${BEST[default]}" 'BEGIN { exit !(s * 20 <= f) }'; then
	echo "sync: 1/$share of the full creation (target <= 1/20: PASS)"
else
	echo "sync: 1/$share of the full creation (target <= 1/20: MISS)"
	misses=1
fi
if [ "${RATE[default]:-0}" -ge 500 ]; then
	echo "default settings: ${RATE[default]} users/s (target >= 500: PASS)"
else
	echo "default settings: ${RATE[default]:-0} users/s (target >= 500: MISS)"
	misses=1
fi
bench_finish "$misses"
