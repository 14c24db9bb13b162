#!/usr/bin/env bash
# test/bench/diff.sh: how long migrate_diff takes to find 10 changed rows in 2,000,000, next to migrate_verify of
# the same table (which only says that the table differs).
#
# One run on two throwaway clusters (initdb in a temporary directory): the source, reached over TCP on
# 127.0.0.1 as it would be across machines, and the target with pg_cutover, reached through its Unix socket.
# Both get `pgbench -i -s 20` (pgbench_accounts, 2,000,000 rows, primary key aid); then on the target 10 rows at
# random places (a seeded choice, printed) get another abalance. migrate_source points the target at the source.
# Timed by the wall clock around psql, after one untimed run of each to warm the caches, as the best of 3 runs,
# the two calls taking turns (verify, diff, verify, diff, ...):
#   (v) SELECT ok FROM migrate_verify('pgbench_accounts')
#   (d) SELECT key, status, columns FROM migrate_diff('pgbench_accounts', whole_table => true)
#   (r) SELECT key, status, columns FROM migrate_diff('pgbench_accounts'), the table verified in 64 key ranges
#       before (migrate_split, migrate_verify_range, migrate_verify_ranges; untimed): only the ranges that
#       differed are read
# Every run of (d) and (r) must return exactly the 10 changed keys, each once as changed with {abalance}, and
# every run of (v) must say the table is not ok. Then the ratio (d) / (v), whose target is at most 2, and
# (r) / (d), what reusing the verification's ranges saves.
#
# Needs only the installed extension and the PostgreSQL binaries in $(pg_config --bindir). As root, the
# clusters run as the postgres user. Environment:
#   PG_CONFIG       pg_config to use (default: PostgreSQL 15's); its bindir and pkglibdir are the ones timed
#   BENCH_SCALE     pgbench scale factor (default 20, i.e. 2,000,000 rows)
#   BENCH_CHANGES   rows changed on the target (default 10)
#   BENCH_SEED      seed of the choice of rows (default 20261126)
#   BENCH_RUNS      timed runs per call (default 3)
#   BENCH_RANGES    key ranges of the verification (r) reuses (default 64)
#   BENCH_STRICT=1  exit 1 when the ratio misses its target (by default only a wrong result fails)
set -euo pipefail

BENCH_NAME=diff.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TREE_SO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/pg_cutover.so
SCALE=${BENCH_SCALE:-20}
CHANGES=${BENCH_CHANGES:-10}
SEED=${BENCH_SEED:-20261126}
RUNS=${BENCH_RUNS:-3}
RANGES=${BENCH_RANGES:-64}
ROWS=$((SCALE * 100000))

need_tools initdb pg_ctl psql pgbench postgres

bench_pair bench_diff

# Nothing else running while a call is timed (2 CPUs); both calls without JIT (migrate_diff turns it off on the
# source for itself, so migrate_verify runs without it too, for a fair comparison).
SETTINGS=('max_wal_size = 4GB' 'autovacuum = off' 'jit = off')
start_cluster "$SRC_DATA" "$SRC_PORT" 127.0.0.1 "${SETTINGS[@]}"
start_cluster "$TGT_DATA" "$TGT_PORT" '' "${SETTINGS[@]}"


for port in "$SRC_PORT" "$TGT_PORT"; do
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$port" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"
done
log "source and target: pgbench -i -s $SCALE"
as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U "$OWNER" bench >"$WORK/pgbench-src.log" 2>&1 ||
	{ cat "$WORK/pgbench-src.log" >&2; exit 1; }
as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h "$WORK" -p "$TGT_PORT" -U "$OWNER" bench >"$WORK/pgbench-tgt.log" 2>&1 ||
	{ cat "$WORK/pgbench-tgt.log" >&2; exit 1; }

# The rows to change: CHANGES distinct aids in 1..ROWS from bash's generator, seeded.
RANDOM=$SEED
declare -A PICKED=()
while [ "${#PICKED[@]}" -lt "$CHANGES" ]; do
	PICKED[$(((RANDOM * 32768 + RANDOM) % ROWS + 1))]=1
done
KEYS=$(printf '%s\n' "${!PICKED[@]}" | sort -n | paste -sd, -)
log "target: abalance changed in $CHANGES rows (seed $SEED): $KEYS"
psql_tgt -q -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid IN ($KEYS)"
psql_tgt -q -c "CREATE EXTENSION pg_cutover CASCADE"
psql_tgt -At -c "SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER')" >&2
psql_src -q -c "VACUUM ANALYZE"
psql_tgt -q -c "VACUUM ANALYZE"
psql_src -q -c CHECKPOINT
psql_tgt -q -c CHECKPOINT
log "target: verified in $RANGES key ranges, for (r)"
DIFFERED=$(psql_tgt -At -c "SELECT count(*) FILTER (WHERE NOT v.ok) FROM migrate_split('pgbench_accounts', $RANGES) AS s,
LATERAL migrate_verify_range('pgbench_accounts', s.range_no) AS v")
SHARE=$(psql_tgt -At -c "SELECT round(100.0 * sum(target_rows) FILTER (WHERE source_checksum <> target_checksum)
/ sum(target_rows), 1) FROM cutover.table_ranges WHERE table_name = 'pgbench_accounts'")
[ "$(psql_tgt -At -c "SELECT ok FROM migrate_verify_ranges('pgbench_accounts')")" = f ] ||
	fail "the verification in $RANGES key ranges says the table is ok"



EXPECTED=$(tr , '\n' <<<"$KEYS" | sed 's/$/|changed|{abalance}/')
declare -A LAST

# one ROUND CALL: one run of CALL (v or d), its result checked; timed unless ROUND is 0.
# shellcheck disable=SC2317 # take_turns calls it
one() {
	local round=$1 call=$2 t0 t1 ms out
	t0=$EPOCHREALTIME
	case $call in
	v) out=$(psql_tgt -At -c "SELECT ok FROM migrate_verify('pgbench_accounts')") ;;
	d) out=$(psql_tgt -At -c "SELECT key, status, columns FROM migrate_diff('pgbench_accounts', whole_table => true)") ;;
	r) out=$(psql_tgt -At -c "SELECT key, status, columns FROM migrate_diff('pgbench_accounts')" 2>"$WORK/notice") ;;
	esac
	t1=$EPOCHREALTIME
	ms=$(elapsed_ms "$t0" "$t1")
	case $call in
	v) [ "$out" = f ] || fail "migrate_verify run $round says ok = '$out', not f" ;;
	d | r)
		if [ "$out" != "$EXPECTED" ]; then
			fail "migrate_diff ($call) run $round returned $(wc -l <<<"$out") rows, not exactly the $CHANGES changed keys"
			log "$out"
		fi
		;;&
	r) grep -q 'migrate_diff compared key range' "$WORK/notice" || fail "migrate_diff (r) run $round read the whole table" ;;
	esac
	LAST[$call]=$out
	record_run "$round" "$call" "($call)" "$ms"
}

log "timing: one untimed run of each, then the best of $RUNS runs, taking turns"
take_turns one '' v d/r

echo
echo "pg_cutover diff benchmark: pgbench_accounts $ROWS rows (scale $SCALE), $CHANGES rows changed on the target" \
	"(seed $SEED), $(nproc) CPUs, $("$BINDIR/postgres" --version)"
echo "two clusters: source over TCP 127.0.0.1:$SRC_PORT, target over its Unix socket; fsync off, autovacuum off, jit off"
report_extension "$TREE_SO"
echo "changed keys: $KEYS"
echo
printf '%-58s %6s %12s\n' "call" "runs" "best ms"
printf '%-58s %6s %12s\n' "(v) migrate_verify('pgbench_accounts')" "$RUNS" "${BEST[v]}"
printf '%-58s %6s %12s\n' "(d) migrate_diff('pgbench_accounts', whole_table => true)" "$RUNS" "${BEST[d]}"
printf '%-58s %6s %12s\n' "(r) migrate_diff, $DIFFERED of $RANGES verified key ranges differ" "$RUNS" "${BEST[r]}"
echo
RATIO=$(awk -v d="${BEST[d]}" -v v="${BEST[v]}" 'BEGIN { printf "%.2f", d / v }')
VERDICT=$(awk -v r="$RATIO" 'BEGIN { print (r <= 2) ? "PASS" : "MISS" }')
printf '%-40s %8s   target <= 2     %s\n' "migrate_diff / migrate_verify" "$RATIO" "$VERDICT"
printf '%-40s %8s   (%s of %s ranges read, %s%% of the rows)\n' "over the ranges that differed / whole" \
	"$(awk -v r="${BEST[r]}" -v d="${BEST[d]}" 'BEGIN { printf "%.2f", r / d }')" "$DIFFERED" "$RANGES" "$SHARE"
FOUND=$(grep -c . <<<"${LAST[d]}" || true)
echo "differences found by migrate_diff: $FOUND (expected exactly the $CHANGES changed keys: $([ "$FAIL" -eq 0 ] && echo yes || echo NO))"
echo
MISSES=0
[ "$VERDICT" = PASS ] || MISSES=1
bench_finish "$MISSES"
