#!/usr/bin/env bash
# test/bench/checksum.sh: how fast the canonical checksum is, on 2,000,000 rows of pgbench_accounts.
#
# One run on a throwaway cluster: initdb in a temporary directory, two databases made by `pgbench -i -s 20`
# (bench_src plays the source, bench_tgt the target with pg_cutover and migrate_source pointing at bench_src),
# then each query timed as the best of 3 runs with psql's \timing (the slow baseline, 2 runs), after one
# untimed run to warm the cache. Prints the times, the ratios the checksum has to meet, and whether
# migrate_checksum on the target gives the same checksum as the plain-SQL script on the source.
#
# Needs only the installed extension and the PostgreSQL binaries in $(pg_config --bindir). As root, the
# cluster runs as the postgres user. Environment:
#   PG_CONFIG       pg_config to use (default: PostgreSQL 15's)
#   BENCH_SCALE     pgbench scale factor (default 20, i.e. 2,000,000 rows)
#   BENCH_RUNS      timed runs per query (default 3)
#   BENCH_STRICT=1  exit 1 when a ratio misses its target (by default only a checksum mismatch fails)
set -euo pipefail

BENCH_NAME=checksum.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TREE_SO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/pg_cutover.so
SCALE=${BENCH_SCALE:-20}
RUNS=${BENCH_RUNS:-3}
SEED_RUNS=2
STRICT=${BENCH_STRICT:-0}

need_tools initdb pg_ctl psql pgbench

bench_workdir bench
DATA=$WORK/data
PORT=$(free_port)

start_cluster "$DATA" "$PORT" '' 'max_wal_size = 4GB' 'max_parallel_workers_per_gather = 2'

psql_db() {
	local db=$1
	shift
	as_owner "$BINDIR/psql" -X -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -U "$OWNER" -d "$db" "$@"
}

for db in bench_src bench_tgt; do
	log "loading $db: pgbench -i -s $SCALE"
	psql_db postgres -q -c "CREATE DATABASE $db"
	as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h "$WORK" -p "$PORT" -U "$OWNER" "$db" >"$WORK/pgbench.log" 2>&1 ||
		{ cat "$WORK/pgbench.log" >&2; exit 1; }
	psql_db "$db" -q -c "VACUUM ANALYZE"
done
psql_db bench_tgt -q -c "CREATE EXTENSION pg_cutover CASCADE"
psql_db bench_tgt -At -c "SELECT migrate_source('host=$WORK port=$PORT dbname=bench_src')" >&2

COUNT_SQL="SELECT count(*) FROM pgbench_accounts;"
SEED_SQL="SELECT md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) FROM pgbench_accounts t;"
HALVES_SQL="SELECT sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint),
       sum(('x' || substr(md5(t::text), 17, 16))::bit(64)::bigint) FROM pgbench_accounts t;"
CHECKSUM_SQL="SELECT * FROM migrate_checksum('pgbench_accounts');"
VERIFY_SQL="SELECT * FROM migrate_verify('pgbench_accounts');"
SOURCE_SQL=$(psql_db bench_tgt -At -c "SELECT migrate_source_checksum_sql('pgbench_accounts')")

# time_sql DB RUNS SQL: runs SQL (one statement or a script) RUNS times in one session and prints
# "ms <best>" and the query output of the last run as "out <line>". The time of a run is the sum of the
# \timing of its statements.
time_sql() {
	local db=$1 runs=$2 sql=$3 input i
	input='\timing on'$'\n'
	for ((i = 0; i < runs; i++)); do
		input+='\echo @@run'$'\n'"$sql"$'\n'
	done
	printf '%s\n' "$input" | psql_db "$db" -q -A -t -F '|' | awk '
		/^@@run$/ { run++; out = ""; next }
		/^Time: [0-9.]+ ms/ { ms[run] += $2; next }
		/^Timing is (on|off)\.$/ { next }
		{ out = out "out " $0 "\n" }
		END {
			best = -1
			for (r = 1; r <= run; r++) if (best < 0 || ms[r] < best) best = ms[r]
			printf "ms %.1f\n%s", best, out
		}'
}

best_ms() { sed -n 's/^ms //p' <<<"$1"; }
output() { sed -n 's/^out //p' <<<"$1"; }

# The untimed run of migrate_verify also runs the source script on bench_src (the same text as SOURCE_SQL),
# so that one is not run again here: it is the slowest query of the lot.
log "warming the cache (one untimed run of each query)"
time_sql bench_src 1 "$COUNT_SQL" >/dev/null
for q in "$COUNT_SQL" "$HALVES_SQL" "$CHECKSUM_SQL" "$VERIFY_SQL"; do
	time_sql bench_tgt 1 "$q" >/dev/null
done

log "timing: best of $RUNS runs (the seed's query: best of $SEED_RUNS)"
A=$(time_sql bench_tgt "$RUNS" "$COUNT_SQL")
B=$(time_sql bench_tgt "$SEED_RUNS" "$SEED_SQL")
C=$(time_sql bench_tgt "$RUNS" "$HALVES_SQL")
D=$(time_sql bench_tgt "$RUNS" "$CHECKSUM_SQL")
E=$(time_sql bench_src "$RUNS" "$SOURCE_SQL")
F=$(time_sql bench_tgt "$RUNS" "$VERIFY_SQL")

ROWS=$(output "$A")
D_OUT=$(output "$D")
E_OUT=$(output "$E")
F_OUT=$(output "$F")

echo
echo "pg_cutover checksum benchmark: pgbench_accounts, $ROWS rows (scale $SCALE), $(nproc) CPUs, $("$BINDIR/postgres" --version)"
report_extension "$TREE_SO"
echo
printf '%-58s %6s %12s\n' "query" "runs" "best ms"
printf '%-58s %6s %12s\n' "(a) SELECT count(*)" "$RUNS" "$(best_ms "$A")"
printf '%-58s %6s %12s\n' "(b) seed: md5(string_agg(md5(t::text) ORDER BY ...))" "$SEED_RUNS" "$(best_ms "$B")"
printf '%-58s %6s %12s\n' "(c) plain SQL: sum of md5 halves" "$RUNS" "$(best_ms "$C")"
printf '%-58s %6s %12s\n' "(d) migrate_checksum('pgbench_accounts')" "$RUNS" "$(best_ms "$D")"
printf '%-58s %6s %12s\n' "(e) migrate_source_checksum_sql script, on bench_src" "$RUNS" "$(best_ms "$E")"
printf '%-58s %6s %12s\n' "(f) migrate_verify('pgbench_accounts')" "$RUNS" "$(best_ms "$F")"
echo

MISSES=0
# ratio LABEL NUMERATOR DENOMINATOR OP TARGET
ratio() {
	local verdict
	verdict=$(awk -v n="$2" -v d="$3" -v op="$4" -v t="$5" 'BEGIN {
		r = (d > 0) ? n / d : 0
		ok = (op == "<=") ? (r <= t) : (r >= t)
		printf "%.2f %s", r, ok ? "PASS" : "MISS" }')
	printf '%-40s %8s   target %s %-4s  %s\n' "$1" "${verdict% *}" "$4" "$5" "${verdict#* }"
	[ "${verdict#* }" = PASS ] || MISSES=$((MISSES + 1))
}
printf '%-40s %8s   %-16s %s\n' "ratio" "value" "" "result"
ratio "migrate_checksum / count(*)" "$(best_ms "$D")" "$(best_ms "$A")" "<=" 3
ratio "seed / migrate_checksum" "$(best_ms "$B")" "$(best_ms "$D")" ">=" 10
ratio "migrate_verify / source SQL" "$(best_ms "$F")" "$(best_ms "$E")" "<=" 1.2
echo

FAIL=0
echo "migrate_checksum (target): $D_OUT"
echo "source SQL (bench_src):    $E_OUT"
if [ -n "$D_OUT" ] && [ "$D_OUT" = "$E_OUT" ]; then
	echo "checksums: EQUAL"
else
	echo "checksums: DIFFERENT"
	FAIL=1
fi
VERIFY_OK=$(cut -d'|' -f6 <<<"$F_OUT")
echo "migrate_verify ok: $VERIFY_OK"
[ "$VERIFY_OK" = t ] || FAIL=1

if [ "$FAIL" -ne 0 ]; then
	exit 1
fi
if [ "$STRICT" = 1 ] && [ "$MISSES" -ne 0 ]; then
	exit 1
fi
exit 0
