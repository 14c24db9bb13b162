#!/usr/bin/env bash
# test/bench/split.sh: how much faster `cutover pull -j 2` and `cutover verify -j 2` move and verify one big
# table by splitting it in key ranges, against -j 1 (the table whole, one backend), on this machine.
#
# One run on two throwaway clusters (initdb in a temporary directory): the source, reached over TCP on
# 127.0.0.1 as it would be across machines, and the target, reached through its Unix socket.
#   source: auth.users (10,000 users); schema uuid_keyed with readings (id uuid primary key, user_id uuid
#           references auth.users, payload text of 52 characters), BENCH_ROWS rows (default 4,000,000) whose
#           keys are random; schema bigint_keyed with events, the same with an id bigint primary key; schema
#           small with events of BENCH_SMALL_ROWS rows (default 50,000, below the split threshold).
#   target: the same tables, empty, without the foreign keys to auth.users, each with one more index on user_id;
#           pg_cutover with migrate_source pointing at the source, every user mapped.
# Timed by the wall clock around the client, after one untimed round to warm the caches; the two methods take
# turns (-j 1 then -j 2, then -j 2 then -j 1, ...), BENCH_RUNS timed rounds (default 1), best kept:
#   `cutover pull --schema S -j N` (with its snapshot, as the runbook runs it), after `cutover reset` of the
#   table, CHECKPOINT and sync (untimed); after the last round, untimed, `cutover verify` must say ok and every
#   user ID must be a mapped one
#   `cutover verify --schema uuid_keyed -j N`
# The split threshold is the default (256MB or 1,000,000 rows), so the 4,000,000-row tables split and the small
# one does not. Prints the times, the share of the machine's CPUs busy during each run (/proc/stat: on a
# machine where -j 1 keeps every CPU busy already, source and target sharing them, -j 2 has nothing to win)
# and the ratios -j 1 / -j 2.
#
# Environment: PG_CONFIG, BENCH_ROWS, BENCH_SMALL_ROWS, BENCH_RUNS, CUTOVER_BIN; BENCH_STRICT=1 exits 1 when a
# ratio misses its target (pull and verify -j 2 at least 1.5x faster; the small table no slower than 10%).
set -euo pipefail

BENCH_NAME=split.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROWS=${BENCH_ROWS:-4000000}
SMALL=${BENCH_SMALL_ROWS:-50000}
USERS=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-1}
CUTOVER=${CUTOVER_BIN:-$ROOT/client/cutover}

need_tools initdb pg_ctl psql
[ -x "$CUTOVER" ] || { log "$BENCH_NAME: build the client first (make)"; exit 2; }

bench_pair bench_split
SETTINGS=('max_wal_size = 8GB' 'checkpoint_timeout = 30min' 'autovacuum = off' 'jit = off')
start_cluster "$SRC_DATA" "$SRC_PORT" 127.0.0.1 "${SETTINGS[@]}"
start_cluster "$TGT_DATA" "$TGT_PORT" '' "${SETTINGS[@]}"
for port in "$SRC_PORT" "$TGT_PORT"; do
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$port" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"
done

# table_sql SCHEMA TABLE KEY_TYPE KEY_EXPR ROWS
table_sql() {
	cat <<SQL
CREATE SCHEMA $1;
CREATE TABLE $1.$2 (id $3 NOT NULL, user_id uuid, payload text);
INSERT INTO $1.$2
SELECT $4, md5('supabase-user-' || (1 + i % $USERS))::uuid, rpad('event ' || i || ' ' || md5(i::text), 52, '.')
FROM generate_series(1, $5) AS i;
-- keys added after the load: one sort and one validating scan instead of an entry and a trigger per row
ALTER TABLE $1.$2 ADD PRIMARY KEY (id), ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
SQL
}
log "source: $USERS users, uuid_keyed.readings and bigint_keyed.events of $ROWS rows, small.events of $SMALL"
{
	users_sql "$USERS"
	table_sql uuid_keyed readings uuid "md5('reading-' || i)::uuid" "$ROWS"
	table_sql bigint_keyed events bigint i "$ROWS"
	table_sql small events bigint i "$SMALL"
	echo "VACUUM ANALYZE;"
} | psql_src -q
psql_tgt -q <<SQL
CREATE EXTENSION pg_cutover CASCADE;
CREATE SCHEMA uuid_keyed; CREATE SCHEMA bigint_keyed; CREATE SCHEMA small;
CREATE TABLE uuid_keyed.readings (id uuid PRIMARY KEY, user_id uuid, payload text);
CREATE TABLE bigint_keyed.events (id bigint PRIMARY KEY, user_id uuid, payload text);
CREATE TABLE small.events (id bigint PRIMARY KEY, user_id uuid, payload text);
CREATE INDEX ON uuid_keyed.readings (user_id);
CREATE INDEX ON bigint_keyed.events (user_id);
CREATE INDEX ON small.events (user_id);
SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER');
SQL
log "target: $(map_users psql_tgt) users mapped"

cutover() { as_owner env PGHOST="$WORK" PGPORT="$TGT_PORT" PGUSER="$OWNER" PGDATABASE=bench \
	CUTOVER_SOURCE_URL="host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER" "$CUTOVER" --quiet "$@"; }

# cpu_busy: busy and total jiffies of every CPU so far (/proc/stat), as "busy total"
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# cpu_share BEFORE AFTER: the machine's CPUs busy between two cpu_busy readings, in percent of all of them
cpu_share() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f%% of %d CPUs busy", 100 * (y[1] - x[1]) / (y[2] - x[2]), '"$(nproc)"' }'; }

# timed ROUND KEY LABEL COMMAND...: CHECKPOINT and sync, then COMMAND (cutover's arguments) timed with the share
# of the CPUs busy meanwhile (record_run); a failure is said with cutover's stderr.
timed() {
	local round=$1 key=$2 label=$3 start end cpu
	shift 3
	checkpoint_pair
	cpu=$(cpu_busy)
	start=$EPOCHREALTIME
	cutover "$@" >"$WORK/run.out" 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; fail "cutover $*"; return 1; }
	end=$EPOCHREALTIME
	record_run "$round" "$key" "$label" "$(elapsed_ms "$start" "$end")" "$(cpu_share "$cpu" "$(cpu_busy)")"
}

# pull_run ROUND METHOD: METHOD is SCHEMA:TABLE:JOBS; the table reset first, checked after the last round
pull_run() {
	local round=$1 schema table jobs left
	IFS=: read -r schema table jobs <<<"$2"
	cutover reset "$schema.$table" --schema "$schema" >/dev/null
	timed "$round" "pull:$2" "pull $schema.$table -j $jobs" pull --schema "$schema" -j "$jobs" || return 0
	if [ "$round" -eq "$RUNS" ]; then
		cutover verify --schema "$schema" >/dev/null 2>&1 || fail "verify after pull --schema $schema -j $jobs"
		left=$(psql_tgt -At -c "SELECT count(*) FROM $schema.$table e WHERE NOT EXISTS (SELECT FROM cutover.id_map m WHERE m.target_id = e.user_id)")
		[ "$left" = 0 ] || fail "$schema.$table: $left user IDs not rewritten after -j $jobs"
	fi
}

# verify_run ROUND METHOD: METHOD is SCHEMA:JOBS
verify_run() {
	local schema jobs
	IFS=: read -r schema jobs <<<"$2"
	timed "$1" "verify:$2" "verify $schema -j $jobs" verify --schema "$schema" -j "$jobs" || true
}

take_turns pull_run '' uuid_keyed:readings:1/uuid_keyed:readings:2 bigint_keyed:events:1/bigint_keyed:events:2 \
	small:events:1/small:events:2
take_turns verify_run '' uuid_keyed:1/uuid_keyed:2

ratio() { awk -v a="${BEST[$1]}" -v b="${BEST[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
echo "pg_cutover split benchmark: $ROWS rows a big table, $SMALL the small one, $(nproc) CPUs, $("$BINDIR/postgres" --version), best of $RUNS"
echo "$(report_extension "$ROOT/pg_cutover.so")"
MISSED=()
check() { # LABEL RATIO OP TARGET
	echo "$1: $2 (target $3 $4)"
	awk -v r="$2" -v t="$4" -v op="$3" 'BEGIN { exit !((op == ">=") ? r >= t : r <= t) }' || MISSED+=("$1")
}
for key in pull:uuid_keyed:readings pull:bigint_keyed:events pull:small:events verify:uuid_keyed; do
	echo "  $key: -j 1 ${BEST[$key:1]} ms, -j 2 ${BEST[$key:2]} ms"
done
check "pull uuid -j1/-j2" "$(ratio pull:uuid_keyed:readings:1 pull:uuid_keyed:readings:2)" ">=" 1.5
check "pull bigint -j1/-j2" "$(ratio pull:bigint_keyed:events:1 pull:bigint_keyed:events:2)" ">=" 1.5
check "pull small -j2/-j1" "$(ratio pull:small:events:2 pull:small:events:1)" "<=" 1.1
check "verify uuid -j1/-j2" "$(ratio verify:uuid_keyed:1 verify:uuid_keyed:2)" ">=" 1.5
if [ "$FAIL" -ne 0 ]; then
	printf 'FAILED: %s\n' "${FAILURES[@]}"
	exit 1
fi
if [ ${#MISSED[@]} -gt 0 ]; then
	echo "missed: ${MISSED[*]}"
	[ "${BENCH_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
