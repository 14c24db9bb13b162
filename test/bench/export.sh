#!/usr/bin/env bash
# test/bench/export.sh: how fast `cutover export` writes a table, against psql's COPY ... TO STDOUT into a
# file, and how much memory the client needs for it.
#
# One throwaway cluster (initdb in a temporary directory), reached over TCP on 127.0.0.1 as a source would be:
# `pgbench -i -s $((BENCH_ROWS / 100000))` (pgbench_accounts, 1,000,000 rows by default) and a second table,
# wide, of BENCH_ROWS / 10 rows with the types the archive must keep exactly (numeric, timestamptz, interval,
# bytea, jsonb, text[], uuid).
# Timed, each the best of BENCH_RUNS runs by the wall clock, the methods taking turns:
#   (a) psql -c "COPY pgbench_accounts TO STDOUT" > file
#   (b) cutover export --dir DIR of pgbench_accounts alone (the other tables in another schema)
# Then the peak RSS of the client (/usr/bin/time -v) for an export of BENCH_ROWS / 10 rows and of
# BENCH_ROWS rows: flat memory means the two are about the same. Prints the figures and the ratio (a)/(b)
# (the target is >= 0.5).
#
# Needs the cutover client (client/cutover, or CUTOVER_BIN) and the PostgreSQL binaries. As root, the cluster
# runs as the postgres user. Environment: PG_CONFIG, BENCH_ROWS (default 1000000), BENCH_RUNS (default 3).
set -euo pipefail

BENCH_NAME=export.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CUTOVER=${CUTOVER_BIN:-$ROOT/client/cutover}
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}
SCALE=$((ROWS / 100000))
[ "$SCALE" -ge 1 ] || { log "$BENCH_NAME: BENCH_ROWS must be at least 100000"; exit 2; }
ROWS=$((SCALE * 100000))

need_tools initdb pg_ctl psql pgbench postgres
[ -x "$CUTOVER" ] || { log "$BENCH_NAME: $CUTOVER not found (make client/cutover)"; exit 2; }
[ -x /usr/bin/time ] || { log "$BENCH_NAME: /usr/bin/time not found (apt-get install time)"; exit 2; }

bench_workdir bench_export
DATA=$WORK/source
PORT=$(free_port)
mkdir "$WORK/out"
cp "$CUTOVER" "$WORK/cutover" # the owner of the cluster runs it: the tree may not be readable to it
CUTOVER=$WORK/cutover
[ "$OWNER" = "$(id -un)" ] || chown -R "$OWNER" "$WORK/out" "$WORK/cutover"
start_cluster "$DATA" "$PORT" 127.0.0.1 'shared_buffers = 512MB' 'autovacuum = off' 'jit = off'
CONN="host=127.0.0.1 port=$PORT user=$OWNER dbname=bench"
psql_src() { as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$CONN" "$@"; }
as_owner "$BINDIR/psql" -X -q -h 127.0.0.1 -p "$PORT" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"

log "source: pgbench -i -s $SCALE ($ROWS rows in pgbench_accounts), wide ($((ROWS / 10)) rows)"
as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U "$OWNER" bench >"$WORK/pgbench.log" 2>&1 ||
	{ cat "$WORK/pgbench.log" >&2; exit 1; }
psql_src <<SQL
CREATE SCHEMA acc;
ALTER TABLE pgbench_accounts SET SCHEMA acc;
CREATE SCHEMA small;
CREATE TABLE small.pgbench_accounts AS SELECT * FROM acc.pgbench_accounts WHERE aid <= $((ROWS / 10));
CREATE SCHEMA wide;
CREATE TABLE wide.t (id bigint PRIMARY KEY, n numeric, big bigint, f float8, at timestamptz, span interval,
	blob bytea, doc jsonb, tags text[], u uuid, note text);
INSERT INTO wide.t SELECT i, (i * 1234567.891011)::numeric * 10 ^ 20, 9223372036854775807 - i, i / 7.0,
	'2024-01-01 00:00:00.123456+00'::timestamptz + i * interval '1 second', i * interval '1 day 1 microsecond',
	decode(md5(i::text), 'hex'), jsonb_build_object('i', i, 'name', 'très "quoted"', 'list', jsonb_build_array(i, null)),
	ARRAY['a b', 'c\\d', NULL], md5(i::text)::uuid, E'tab\there\nnewline'
FROM generate_series(1, $((ROWS / 10))) AS i;
VACUUM ANALYZE;
SQL

now() { date +%s.%N; }
export_once() { # export_once SCHEMA DIR
	as_owner "$CUTOVER" -q --source "$CONN" --target "$CONN" --schema "$1" export --dir "$2" >/dev/null
}

best_copy=""
best_export=""
for run in $(seq 0 "$RUNS"); do
	rm -rf "$WORK/out/"*
	start=$(now)
	as_owner "$BINDIR/psql" -X -q "$CONN" -c "COPY acc.pgbench_accounts TO STDOUT" >"$WORK/out/copy.txt"
	copy_s=$(echo "$(now) - $start" | bc)
	start=$(now)
	export_once acc "$WORK/out/archive"
	export_s=$(echo "$(now) - $start" | bc)
	if [ "$run" -eq 0 ]; then continue; fi # warm-up round
	log "run $run: psql COPY ${copy_s}s, cutover export ${export_s}s"
	if [ -z "$best_copy" ] || [ "$(echo "$copy_s < $best_copy" | bc)" -eq 1 ]; then best_copy=$copy_s; fi
	if [ -z "$best_export" ] || [ "$(echo "$export_s < $best_export" | bc)" -eq 1 ]; then best_export=$export_s; fi
done
copy_bytes=$(stat -c %s "$WORK/out/copy.txt")
archive_bytes=$(du -cb "$WORK/out/archive" | tail -1 | cut -f1)

rss() { # rss SCHEMA: peak RSS in kB of the client exporting SCHEMA
	rm -rf "$WORK/out/rss"
	as_owner /usr/bin/time -v "$CUTOVER" -q --source "$CONN" --target "$CONN" --schema "$1" export \
		--dir "$WORK/out/rss" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $NF }'
}
rss_small=$(rss small)
rss_full=$(rss acc)
start=$(now)
export_once wide "$WORK/out/wide"
wide_s=$(echo "$(now) - $start" | bc)
rss_wide=$(rss wide)

ratio=$(echo "scale=2; $best_copy / $best_export" | bc)
printf 'export of %s rows (pgbench_accounts), best of %s runs:\n' "$ROWS" "$RUNS"
printf '  psql COPY TO STDOUT > file   %8.3f s  (%s bytes)\n' "$best_copy" "$copy_bytes"
printf '  cutover export               %8.3f s  (%s bytes with the manifest)\n' "$best_export" "$archive_bytes"
printf '  speed of export / psql COPY  %8s    (target >= 0.5)\n' "$ratio"
printf 'client peak RSS: %s kB for %s rows, %s kB for %s rows\n' "$rss_small" "$((ROWS / 10))" "$rss_full" "$ROWS"
printf 'wide table (numeric, bigint, float8, timestamptz, interval, bytea, jsonb, text[], uuid, text), %s rows: %.3f s, peak RSS %s kB\n' \
	"$((ROWS / 10))" "$wide_s" "$rss_wide"
