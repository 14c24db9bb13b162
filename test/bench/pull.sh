#!/usr/bin/env bash
# test/bench/pull.sh: how fast migrate_pull moves a table, with and without user IDs remapped, against a
# psql COPY pipe and a postgres_fdw INSERT ... SELECT, and how much memory the target backend needs for it.
#
# One run on two throwaway clusters (initdb in a temporary directory): the source, reached over TCP on
# 127.0.0.1 as it would be across machines, and the target, reached through its Unix socket.
#   source: `pgbench -i -s 20` (pgbench_accounts, 2,000,000 rows), auth.users (10,000 users) and two tables
#           events (2,000,000 rows) and events_small (500,000 rows) of (id bigint primary key,
#           user_id uuid references auth.users, payload text), so migrate_plan finds user_id as a user-ID
#           column. A payload is 52 characters: an events COPY line is about as long as a pgbench_accounts one.
#   target: the same tables, empty, without the foreign key to auth.users; pg_cutover with migrate_source
#           pointing at the source, every user mapped (migrate_map_put(id, md5('stack-' || id)::uuid, email),
#           one transaction), and a postgres_fdw server to the source with fetch_size 10000.
# Timed, each the best of 3 runs by the wall clock around the client that runs it, after one untimed round to
# warm the caches; the methods take turns (a, b, c, c', d, a, b, ...):
#   (a)  psql COPY (SELECT * FROM pgbench_accounts) TO STDOUT on the source, piped into psql on the target
#        running TRUNCATE and COPY pgbench_accounts FROM STDIN in one transaction
#   (b)  postgres_fdw on the target: TRUNCATE and INSERT INTO pgbench_accounts SELECT * FROM remote_accounts,
#        in one transaction
#   (c)  migrate_pull('pgbench_accounts'): no user-ID column, nothing remapped
#   (c') migrate_pull('events') with user_id kept out (migrate_remap_column('events', 'user_id', false))
#   (d)  migrate_pull('events'): user_id remapped on every row
# Before each run, untimed: the target table emptied (and migrate_reset for a pull), CHECKPOINT on both
# clusters and sync. After each load of the last round, untimed: migrate_verify must say ok, and the events user
# IDs must be the mapped ones after (d) and the source's after (c'). Then the target backend's peak RSS (VmHWM of
# /proc/<pid>/status, read in the pulling session itself after the pull) for (d) on events_small and on events.
#
# Needs only the installed extension and the PostgreSQL binaries in $(pg_config --bindir). As root, the
# clusters run as the postgres user. Environment:
#   PG_CONFIG           pg_config to use (default: PostgreSQL 15's)
#   BENCH_SCALE         pgbench scale factor (default 20, i.e. 2,000,000 rows)
#   BENCH_EVENTS        rows of events (default 2000000)
#   BENCH_EVENTS_SMALL  rows of events_small, the smaller size of the memory check (default 500000)
#   BENCH_USERS         users in auth.users and in the ID map (default 10000)
#   BENCH_RUNS          timed runs per method (default 3)
#   BENCH_STRICT=1      exit 1 when a ratio misses its target (by default only a failed correctness check fails)
set -euo pipefail

BENCH_NAME=pull.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TREE_SO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/pg_cutover.so
SCALE=${BENCH_SCALE:-20}
EVENTS=${BENCH_EVENTS:-2000000}
EVENTS_SMALL=${BENCH_EVENTS_SMALL:-500000}
USERS=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
ACCOUNTS=$((SCALE * 100000))

need_tools initdb pg_ctl psql pgbench postgres

bench_pair bench_pull


# Nothing else running while a load is timed (2 CPUs): no autovacuum after each load, no JIT compiling the
# postgres_fdw INSERT ... SELECT.
SETTINGS=('max_wal_size = 8GB' 'checkpoint_timeout = 30min' 'autovacuum = off' 'jit = off')
start_cluster "$SRC_DATA" "$SRC_PORT" 127.0.0.1 "${SETTINGS[@]}"
start_cluster "$TGT_DATA" "$TGT_PORT" '' "${SETTINGS[@]}"


for port in "$SRC_PORT" "$TGT_PORT"; do
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$port" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"
done

# ---------------------------------------------------------------------------------------------------------
# The source.
# ---------------------------------------------------------------------------------------------------------
log "source: pgbench -i -s $SCALE"
as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U "$OWNER" bench >"$WORK/pgbench.log" 2>&1 ||
	{ cat "$WORK/pgbench.log" >&2; exit 1; }
log "source: auth.users ($USERS users), events ($EVENTS rows), events_small ($EVENTS_SMALL rows)"
psql_src -q <<SQL
$(users_sql "$USERS")
$(events_sql events "$EVENTS" "$USERS")
$(events_sql events_small "$EVENTS_SMALL" "$USERS")
VACUUM ANALYZE;
SQL

# ---------------------------------------------------------------------------------------------------------
# The target.
# ---------------------------------------------------------------------------------------------------------
log "target: empty tables, pg_cutover, migrate_source, postgres_fdw server, ID map"
# d: drop, t: create the tables, p: primary keys; no data
as_owner "$BINDIR/pgbench" -i -q -I dtp -s "$SCALE" -h "$WORK" -p "$TGT_PORT" -U "$OWNER" bench >"$WORK/pgbench.log" 2>&1 ||
	{ cat "$WORK/pgbench.log" >&2; exit 1; }
psql_tgt -q <<SQL
CREATE TABLE events (id bigint PRIMARY KEY, user_id uuid, payload text);
CREATE TABLE events_small (id bigint PRIMARY KEY, user_id uuid, payload text);
CREATE EXTENSION pg_cutover CASCADE;
CREATE SERVER bench_source FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '$SRC_PORT', dbname 'bench', fetch_size '10000');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_source OPTIONS (user '$OWNER');
CREATE FOREIGN TABLE remote_accounts (aid integer NOT NULL, bid integer, abalance integer, filler character(84))
    SERVER bench_source OPTIONS (schema_name 'public', table_name 'pgbench_accounts');
SQL
psql_tgt -At -c "SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER')" >&2
log "ID map: $(map_users psql_tgt) pairs recorded"


# The user-ID columns the pull will remap, as migrate_plan reports them for a table.
# shellcheck disable=SC2317 # check_load calls it (through take_turns)
plan_columns() {
	psql_tgt -At -c "SELECT array_to_string(user_id_columns, ', ') FROM migrate_plan()
	                 WHERE table_name = 'public.$1'"
}

# ---------------------------------------------------------------------------------------------------------
# Timing.
# ---------------------------------------------------------------------------------------------------------
# The timed methods: each prints the number of rows it loaded.
# shellcheck disable=SC2317 # one calls it (through take_turns)
run_pipe() {
	local out
	out=$(psql_src -c "COPY (SELECT * FROM pgbench_accounts) TO STDOUT" |
		psql_tgt -1 -c "TRUNCATE pgbench_accounts" -c "COPY pgbench_accounts FROM STDIN")
	sed -n 's/^COPY \([0-9]*\)$/\1/p' <<<"$out"
}
# shellcheck disable=SC2317 # one calls it (through take_turns)
run_fdw() {
	local out
	out=$(psql_tgt -1 -c "TRUNCATE pgbench_accounts" -c "INSERT INTO pgbench_accounts SELECT * FROM remote_accounts")
	sed -n 's/^INSERT 0 \([0-9]*\)$/\1/p' <<<"$out"
}
# (c), (c') and (d): run_pull (common.sh).

METHODS=(a b c c2 d)
declare -A LABEL=([a]="(a)" [b]="(b)" [c]="(c)" [c2]="(c')" [d]="(d)")
declare -A TABLE=([a]=pgbench_accounts [b]=pgbench_accounts [c]=pgbench_accounts [c2]=events [d]=events)
declare -A EXPECTED=([a]=$ACCOUNTS [b]=$ACCOUNTS [c]=$ACCOUNTS [c2]=$EVENTS [d]=$EVENTS)

# one ROUND METHOD: one run of METHOD, after its table was emptied (and reset, for a pull) and both clusters
# checkpointed; timed unless ROUND is 0. A run that loads another number of rows than expected is a failure.
# shellcheck disable=SC2317 # take_turns calls it
one() {
	local round=$1 m=$2 table=${TABLE[$2]} t0 t1 ms rows
	# user_id of events kept out of remapping (c') or a user-ID column through its foreign key again (d)
	case $m in
	c2) mark_column out public events user_id ;;
	d) mark_column in public events user_id ;;
	esac
	case $m in
	a | b) psql_tgt -q -c "TRUNCATE $table" ;;
	*) psql_tgt -q -c "SELECT migrate_reset('$table')" -c "TRUNCATE $table" >/dev/null ;;
	esac
	checkpoint_pair
	t0=$EPOCHREALTIME
	case $m in
	a) rows=$(run_pipe) ;;
	b) rows=$(run_fdw) ;;
	*) rows=$(run_pull psql_tgt "$table") ;;
	esac
	t1=$EPOCHREALTIME
	ms=$(elapsed_ms "$t0" "$t1")
	[ "$rows" = "${EXPECTED[$m]}" ] || fail "${LABEL[$m]} run $round loaded '$rows' rows of $table, not ${EXPECTED[$m]}"
	record_run "$round" "$m" "${LABEL[$m]}" "$ms" "$rows rows"
}

# check_load METHOD: the load of METHOD in the last round checked (untimed), after it is timed.
# shellcheck disable=SC2317 # take_turns calls it
check_load() {
	local m=$1
	case $m in
	c)
		PLAN_ACCOUNTS=$(plan_columns pgbench_accounts)
		;;
	c2)
		PLAN_EVENTS_OUT=$(plan_columns events)
		SOURCE_IDS_C2=$(count_user_ids source_id)
		[ "$SOURCE_IDS_C2" = "$EVENTS" ] || fail "after (c'), $SOURCE_IDS_C2 of $EVENTS events rows hold a source ID"
		;;
	d)
		PLAN_EVENTS=$(plan_columns events)
		TARGET_IDS_D=$(count_user_ids target_id)
		[ "$TARGET_IDS_D" = "$EVENTS" ] || fail "after (d), $TARGET_IDS_D of $EVENTS events rows hold a mapped (target) ID"
		;;
	esac
	verify "${LABEL[$m]}" psql_tgt "${TABLE[$m]}"
}

# Round 0 warms the caches (and the target's shared buffers) untimed; then RUNS rounds, the methods taking
# turns so that each sees the same machine. In the last round, every load is checked after it is timed.
log "timing: one untimed round, then the best of $RUNS rounds"
take_turns one check_load "${METHODS[@]}"
A_MS=${BEST[a]} B_MS=${BEST[b]} C_MS=${BEST[c]} C2_MS=${BEST[c2]} D_MS=${BEST[d]}

# ---------------------------------------------------------------------------------------------------------
# Memory: the peak RSS of the backend that ran (d), read from /proc/self/status in that same session after
# the pull. VmHWM counts the pages of shared_buffers the backend touched (RssShmem) as well as its own
# memory; VmHWM - RssShmem (at the end) estimates the peak of its own memory.
# The pull holds one COPY line and the ID map; after the rows, a large table's indexes are built by a sort
# that PostgreSQL caps at maintenance_work_mem, as for CREATE INDEX. Both runs set it to $SORT_MEM, which
# both sizes reach, so that a difference left between them is memory that grows with the table.
# ---------------------------------------------------------------------------------------------------------
SORT_MEM=16MB
# rss TABLE: prints "rows vmhwm_kb rssanon_kb rssshmem_kb hwm_before_kb" (all kB).
rss() {
	psql_tgt -q -c "SELECT migrate_reset('$1')" -c "TRUNCATE $1" >/dev/null
	backend_rss "SELECT rows FROM migrate_pull('$1') WHERE status = 'loaded';" "SET maintenance_work_mem = '$SORT_MEM';"
}
log "peak RSS of the target backend during (d): events_small, then events"
read -r RSS_S_ROWS RSS_S_HWM RSS_S_ANON RSS_S_SHM RSS_S_BEFORE <<<"$(rss events_small)"
read -r RSS_L_ROWS RSS_L_HWM RSS_L_ANON RSS_L_SHM RSS_L_BEFORE <<<"$(rss events)"
[ "$RSS_S_ROWS" = "$EVENTS_SMALL" ] || fail "memory run loaded '$RSS_S_ROWS' rows of events_small, not $EVENTS_SMALL"
[ "$RSS_L_ROWS" = "$EVENTS" ] || fail "memory run loaded '$RSS_L_ROWS' rows of events, not $EVENTS"
verify "memory run, events_small" psql_tgt events_small

# ---------------------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------------------
echo
echo "pg_cutover pull benchmark: pgbench_accounts $ACCOUNTS rows (scale $SCALE), events $EVENTS rows, $USERS users mapped," \
	"$(nproc) CPUs, $("$BINDIR/postgres" --version)"
echo "two clusters: source over TCP 127.0.0.1:$SRC_PORT, target over its Unix socket; fsync off, autovacuum off, jit off"
report_extension "$TREE_SO"
echo "user-ID columns (migrate_plan): pgbench_accounts {${PLAN_ACCOUNTS}}; events during (c') {${PLAN_EVENTS_OUT}}, during (d) {${PLAN_EVENTS}}"
echo

printf '%-60s %9s %6s %11s %12s\n' "method" "rows" "runs" "best ms" "rows/s"
row() { printf '%-60s %9s %6s %11s %12s\n' "$1" "$2" "$RUNS" "$3" "$(rate "$2" "$3")"; }
row "(a)  psql COPY pipe, source -> target" "$ACCOUNTS" "$A_MS"
row "(b)  postgres_fdw INSERT ... SELECT (fetch_size 10000)" "$ACCOUNTS" "$B_MS"
row "(c)  migrate_pull('pgbench_accounts'), nothing remapped" "$ACCOUNTS" "$C_MS"
row "(c') migrate_pull('events'), user_id kept out" "$EVENTS" "$C2_MS"
row "(d)  migrate_pull('events'), user_id remapped" "$EVENTS" "$D_MS"
echo

MISSES=0
# check LABEL VALUE OP TARGET [%]: VALUE against TARGET; with %, both are fractions printed as percentages.
check() {
	local verdict shown
	verdict=$(awk -v v="$2" -v op="$3" -v t="$4" 'BEGIN { ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "PASS" : "MISS" }')
	if [ "${5:-}" = % ]; then
		shown=$(awk -v v="$2" 'BEGIN { printf "%+.1f%%", v * 100 }')
		printf '%-52s %9s   target %s %-6s %s\n' "$1" "$shown" "$3" "$(awk -v t="$4" 'BEGIN { printf "%+.0f%%", t * 100 }')" "$verdict"
	else
		shown=$(awk -v v="$2" 'BEGIN { printf "%.2f", v }')
		printf '%-52s %9s   target %s %-6s %s\n' "$1" "$shown" "$3" "$4" "$verdict"
	fi
	[ "$verdict" = PASS ] || MISSES=$((MISSES + 1))
}
# per_row_overhead MS_A ROWS_A MS_B ROWS_B: (ms_a / rows_a) / (ms_b / rows_b) - 1
per_row_overhead() { awk -v a="$1" -v ra="$2" -v b="$3" -v rb="$4" 'BEGIN { print (a / ra) / (b / rb) - 1 }'; }

printf '%-52s %9s   %-15s %s\n' "ratio" "value" "" "result"
check "migrate_pull (c) / COPY pipe (a), rows/s" "$(awk -v a="$A_MS" -v c="$C_MS" 'BEGIN { print a / c }')" ">=" 1.0
check "remap overhead per row, (d) vs (c)" "$(per_row_overhead "$D_MS" "$EVENTS" "$C_MS" "$ACCOUNTS")" "<=" 0.10 %
check "remap overhead per row, (d) vs (c') (same table)" "$(per_row_overhead "$D_MS" "$EVENTS" "$C2_MS" "$EVENTS")" "<=" 0.10 %
check "migrate_pull (c) / postgres_fdw (b), rows/s" "$(awk -v b="$B_MS" -v c="$C_MS" 'BEGIN { print b / c }')" ">=" 2.0
echo

echo "target backend memory during (d), read from /proc/self/status in the pulling session after the pull" \
	"(maintenance_work_mem $SORT_MEM for the index build):"
rss_heading "$(printf '%-14s %9s' table rows)"
rss_row "$(printf '%-14s %9s' events_small "$RSS_S_ROWS")" "$RSS_S_BEFORE" "$RSS_S_HWM" "$RSS_S_SHM" "$RSS_S_ANON"
rss_row "$(printf '%-14s %9s' events "$RSS_L_ROWS")" "$RSS_L_BEFORE" "$RSS_L_HWM" "$RSS_L_SHM" "$RSS_L_ANON"
# The raw VmHWM of events also holds the shared buffers of the bigger primary key.
rss_flat backend growth "$RSS_S_ROWS" "$RSS_L_ROWS" "$RSS_S_HWM" "$RSS_S_SHM" "$RSS_L_HWM" "$RSS_L_SHM" ||
	MISSES=$((MISSES + 1))
echo

for key in "(a)" "(b)" "(c)" "(c')" "(d)" "memory run, events_small"; do
	echo "migrate_verify ok after $key: ${VERIFIED[$key]:-not run}"
done
echo "events rows holding a source ID after (c'): $SOURCE_IDS_C2 of $EVENTS"
echo "events rows holding a mapped (target) ID after (d): $TARGET_IDS_D of $EVENTS"
bench_finish "$MISSES"
