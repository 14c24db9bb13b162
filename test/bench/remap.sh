#!/usr/bin/env bash
# test/bench/remap.sh: what rewriting Supabase user IDs by value costs: the pull of a table without user IDs
# against the build before value remapping, the pull of a uuid column and of a jsonb column remapped against
# the same table with the column kept out, migrate_audit_ids against migrate_checksum of the same table, and
# the audit's memory at two table sizes.
#
# One run on two throwaway clusters (initdb in a temporary directory): the source, reached over TCP on
# 127.0.0.1 as it would be across machines, and the target, reached through its Unix socket.
#   source: `pgbench -i -s 20` (pgbench_accounts, 2,000,000 rows: no user IDs, but its filler char(84) is a
#           string the pull now reads for them), auth.users (10,000 users), events (2,000,000 rows of
#           id bigint primary key, user_id uuid references auth.users, payload text of 52 characters, as in
#           pull.sh), audit_bench.docs (2,000,000 rows) and audit_small.docs_small (500,000 rows) of
#           (id bigint primary key, payload jsonb), no foreign key, each payload holding two user IDs, one nested
#           in an array: {"by": "<id>", "seen": {"list": ["<id2>"], "at": "<timestamp>"}, "n": <int>,
#           "note": "doc <n> <16 hex digits>"}. docs and docs_small sit alone in their schemas, so that
#           migrate_audit_ids('{audit_bench}') reads docs only.
#   target: two databases, each with the same empty tables, migrate_source pointing at the source's database
#           and every user mapped (migrate_map_put(id, md5('stack-' || id)::uuid, email), one transaction):
#             bench       the installed pg_cutover (this tree's build once `make install` ran)
#             bench_base  pg_cutover_base: the baseline, the code before value remapping (BENCH_BASELINE_REF,
#                         default e2cb254), taken out of this repository with git archive into the work
#                         directory, renamed (MODULE_big, control file, module_pathname, script) so that it
#                         installs next to pg_cutover, built (the extension alone) and installed with
#                         `make install`; removed from the installation again when the script ends. Both
#                         extensions create the schema cutover and the same functions, hence two databases.
#                         Installing needs write access to pkglibdir and sharedir/extension (root): without
#                         it, (b) and its ratio are skipped with a message saying so.
# Timed, each the best of 3 runs by the wall clock around the psql that runs it, after one untimed round to
# warm the caches; the methods take turns (a, b, c, d, e, ..., h', then b, a, d, c, e, ...: the pairs (a, b) and (c, d)
# take turns going first, so that neither always follows the same work):
#   (a)  migrate_pull('pgbench_accounts'), current build (database bench)
#   (b)  migrate_pull('pgbench_accounts'), baseline build (database bench_base)
#   (c)  migrate_pull('events'), user_id kept out (migrate_remap_column('events', 'user_id', false))
#   (d)  migrate_pull('events'), user_id remapped on every row
#   (e)  migrate_pull('audit_bench.docs'), both IDs of every payload rewritten inside the JSON
#   (f)  migrate_pull('audit_bench.docs'), payload kept out (migrate_remap_column(..., 'payload', false))
#   (g)  migrate_audit_ids('{audit_bench}') over docs as (f) left it: the 2 Supabase IDs of each row are found
#        and counted (the audit sets max_parallel_workers_per_gather = 0 itself)
#   (h)  SELECT * FROM migrate_checksum('audit_bench.docs') with max_parallel_workers_per_gather = 0, as (g)
#   (h') the same with the cluster's default max_parallel_workers_per_gather (for information)
# A mark of remap_column is taken back by deleting it from cutover.remap_column. Before each run, untimed: a
# pulled table emptied and migrate_reset, CHECKPOINT on both clusters and sync. Every run must load (or count)
# the expected number of rows. After each method of the last round, untimed: migrate_verify ok for every
# table pulled by each build; events holding the mapped IDs after (d) and the source's after (c); after (e), no
# Supabase ID left in docs (payload->>'by' and payload->'seen'->'list'->>0 counted against cutover.id_map) and
# migrate_audit_ids finding nothing; after (f), the source IDs there and the audit finding exactly $.by and
# $.seen.list[*], once per row each; (h) and (h') the same checksum.
# Then the target backend's peak RSS (VmHWM - RssShmem of /proc/<pid>/status, read in the auditing session
# itself after the call) for migrate_audit_ids over docs_small and over docs, both pulled with payload kept out.
#
# Needs the installed extension and the PostgreSQL binaries in $(pg_config --bindir); for (b) also git, make,
# a C++ compiler and PostgreSQL's server headers, as `make` needs for this tree. As root, the clusters run as
# the postgres user. Environment:
#   PG_CONFIG           pg_config to use (default: PostgreSQL 15's)
#   BENCH_SCALE         pgbench scale factor (default 20, i.e. 2,000,000 rows)
#   BENCH_EVENTS        rows of events (default 2000000)
#   BENCH_DOCS          rows of docs (default 2000000)
#   BENCH_DOCS_SMALL    rows of docs_small, the smaller size of the memory check (default 500000)
#   BENCH_USERS         users in auth.users and in the ID map (default 10000)
#   BENCH_RUNS          timed runs per method (default 3)
#   BENCH_BASELINE_REF  the commit of the baseline build (default e2cb254, the last before value remapping)
#   BENCH_STRICT=1      exit 1 when a ratio misses its target or (b) was skipped (by default only a failed
#                       correctness check fails)
set -euo pipefail

BENCH_NAME=remap.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TREE_SO=$REPO/pg_cutover.so
SCALE=${BENCH_SCALE:-20}
EVENTS=${BENCH_EVENTS:-2000000}
DOCS=${BENCH_DOCS:-2000000}
DOCS_SMALL=${BENCH_DOCS_SMALL:-500000}
USERS=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
BASELINE_REF=${BENCH_BASELINE_REF:-e2cb254}
ACCOUNTS=$((SCALE * 100000))
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
EXTDIR=$("$PG_CONFIG" --sharedir)/extension

need_tools initdb pg_ctl psql pgbench postgres

bench_pair bench_remap

# git of this repository, also as root in a checkout someone else owns.
repo_git() { git -c safe.directory="$REPO" -C "$REPO" "$@"; }
BUILD=$(repo_git describe --always --dirty 2>/dev/null || echo "unknown (not a git checkout)")
BASELINE_DESC=$(repo_git describe --always "$BASELINE_REF" 2>/dev/null || echo "not found in $REPO")

# ---------------------------------------------------------------------------------------------------------
# The baseline build, installed as pg_cutover_base (and removed from the installation at exit).
# ---------------------------------------------------------------------------------------------------------
BASE_SKIP=''
BASE_INSTALLED=0
# shellcheck disable=SC2317 # the EXIT trap calls it
remap_cleanup() {
	local rc=$?
	set +e
	if [ "$BASE_INSTALLED" = 1 ]; then
		rm -f "$PKGLIBDIR/pg_cutover_base.so" "$EXTDIR/pg_cutover_base.control" "$EXTDIR"/pg_cutover_base--*.sql
	fi
	(exit "$rc")
	bench_cleanup
}
trap remap_cleanup EXIT

# build_baseline: the tree of BASELINE_REF in $WORK/baseline, renamed pg_cutover_base, built and installed; or
# BASE_SKIP set to the reason why not.
build_baseline() {
	local src=$WORK/baseline mk version tool
	if [ ! -w "$PKGLIBDIR" ] || [ ! -w "$EXTDIR" ]; then
		BASE_SKIP="$(id -un) cannot install the baseline build into $PKGLIBDIR and $EXTDIR (run as root)"
		return 0
	fi
	for tool in git make tar; do
		command -v "$tool" >/dev/null || { BASE_SKIP="no $tool to build the baseline with"; return 0; }
	done
	mkdir "$src"
	if ! repo_git archive "$BASELINE_REF" 2>"$WORK/baseline-archive.log" | tar -x -C "$src" 2>>"$WORK/baseline-archive.log"; then
		BASE_SKIP="git archive $BASELINE_REF failed in $REPO: $(head -n 1 "$WORK/baseline-archive.log")"
		return 0
	fi
	# The extension renamed: its library, its control file and module_pathname, its script; the client and the
	# Stack Auth emulator (of `all`, and the client of `install`) left out.
	mk=$src/Makefile
	sed -i -e 's/^MODULE_big = pg_cutover$/MODULE_big = pg_cutover_base/' \
		-e 's#extension/pg_cutover--#extension/pg_cutover_base--#g' \
		-e 's#extension/pg_cutover\.control#extension/pg_cutover_base.control#g' \
		-e '/^all: client\/cutover/d' -e '/^install: install-client$/d' "$mk"
	sed "s#^module_pathname = .*#module_pathname = '\$libdir/pg_cutover_base'#" "$src/extension/pg_cutover.control" \
		>"$src/extension/pg_cutover_base.control"
	version=$(sed -n 's/^EXTVERSION = //p' "$mk")
	# shellcheck disable=SC2016 # $(EXTVERSION) is make's
	if ! grep -q '^MODULE_big = pg_cutover_base$' "$mk" ||
		! grep -q '^DATA_built = extension/pg_cutover_base--$(EXTVERSION).sql$' "$mk" ||
		! grep -q '^DATA = extension/pg_cutover_base.control ' "$mk" ||
		! grep -q '^extension/pg_cutover_base--$(EXTVERSION).sql: extension/pg_cutover.sql$' "$mk" ||
		grep -q '^all: client/cutover\|^install: install-client' "$mk" ||
		! grep -q "^module_pathname = '\$libdir/pg_cutover_base'$" "$src/extension/pg_cutover_base.control" ||
		! grep -q 'MODULE_PATHNAME' "$src/extension/pg_cutover.sql" || [ -z "$version" ]; then
		log "$BENCH_NAME: the Makefile or control file of $BASELINE_REF is not as this script expects; renaming failed"
		exit 1
	fi
	log "baseline: $BASELINE_REF ($BASELINE_DESC) built as pg_cutover_base in $src"
	# CI= : a warning of an old tree with this compiler is no reason to time nothing.
	if ! make -C "$src" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" CI= pg_cutover_base.so \
		"extension/pg_cutover_base--$version.sql" >"$WORK/baseline-build.log" 2>&1; then
		tail -n 40 "$WORK/baseline-build.log" >&2
		log "$BENCH_NAME: the baseline build failed"
		exit 1
	fi
	BASE_INSTALLED=1
	if ! make -C "$src" PG_CONFIG="$PG_CONFIG" CI= install >>"$WORK/baseline-build.log" 2>&1; then
		tail -n 20 "$WORK/baseline-build.log" >&2
		log "$BENCH_NAME: make install of the baseline failed"
		exit 1
	fi
	log "baseline: installed $PKGLIBDIR/pg_cutover_base.so, $EXTDIR/pg_cutover_base.control," \
		"$EXTDIR/pg_cutover_base--$version.sql"
}
build_baseline
if [ -n "$BASE_SKIP" ]; then
	log "SKIPPED: the comparison with the baseline build, (b) and (a) / (b): $BASE_SKIP"
fi


# Nothing else running while a load is timed (2 CPUs): no autovacuum after each load, no JIT.
SETTINGS=('max_wal_size = 8GB' 'checkpoint_timeout = 30min' 'autovacuum = off' 'jit = off')
start_cluster "$SRC_DATA" "$SRC_PORT" 127.0.0.1 "${SETTINGS[@]}"
start_cluster "$TGT_DATA" "$TGT_PORT" '' "${SETTINGS[@]}"

TGT_DBS=(bench)
[ -n "$BASE_SKIP" ] || TGT_DBS+=(bench_base)
as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$SRC_PORT" -U "$OWNER" -d postgres -c "CREATE DATABASE bench"
for db in "${TGT_DBS[@]}"; do
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$TGT_PORT" -U "$OWNER" -d postgres -c "CREATE DATABASE $db"
done
# psql_base [psql args...]: database bench_base of the target, the baseline build's.
psql_base() { as_owner "$BINDIR/psql" -X -v ON_ERROR_STOP=1 -h "$WORK" -p "$TGT_PORT" -U "$OWNER" -d bench_base "$@"; }

# ---------------------------------------------------------------------------------------------------------
# The source.
# ---------------------------------------------------------------------------------------------------------
log "source: pgbench -i -s $SCALE"
as_owner "$BINDIR/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U "$OWNER" bench >"$WORK/pgbench.log" 2>&1 ||
	{ cat "$WORK/pgbench.log" >&2; exit 1; }
log "source: auth.users ($USERS users), events ($EVENTS rows), audit_bench.docs ($DOCS rows)," \
	"audit_small.docs_small ($DOCS_SMALL rows)"
psql_src -q <<SQL
$(users_sql "$USERS")
$(events_sql events "$EVENTS" "$USERS")
-- Two user IDs a document, found by value only: one at the top, one in an array inside an object.
CREATE FUNCTION pg_temp.doc(i bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE AS \$\$
    SELECT jsonb_build_object(
        'by', md5('supabase-user-' || (1 + i % $USERS))::uuid::text,
        'seen', jsonb_build_object(
            'list', jsonb_build_array(md5('supabase-user-' || (1 + (i * 7 + 3) % $USERS))::uuid::text),
            'at', to_char(timestamp '2024-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
        'n', i,
        'note', 'doc ' || i || ' ' || left(md5(i::text), 16))
\$\$;
CREATE SCHEMA audit_bench;
CREATE SCHEMA audit_small;
CREATE TABLE audit_bench.docs (id bigint PRIMARY KEY, payload jsonb);
CREATE TABLE audit_small.docs_small (id bigint PRIMARY KEY, payload jsonb);
INSERT INTO audit_bench.docs SELECT i, pg_temp.doc(i) FROM generate_series(1, $DOCS) AS i;
INSERT INTO audit_small.docs_small SELECT i, pg_temp.doc(i) FROM generate_series(1, $DOCS_SMALL) AS i;
VACUUM ANALYZE;
SQL

# ---------------------------------------------------------------------------------------------------------
# The target.
# ---------------------------------------------------------------------------------------------------------
for db in "${TGT_DBS[@]}"; do
	log "target database $db: empty tables, pg_cutover$([ "$db" = bench ] || echo _base), migrate_source, ID map"
	# d: drop, t: create the tables, p: primary keys; no data
	as_owner "$BINDIR/pgbench" -i -q -I dtp -s "$SCALE" -h "$WORK" -p "$TGT_PORT" -U "$OWNER" "$db" >"$WORK/pgbench.log" 2>&1 ||
		{ cat "$WORK/pgbench.log" >&2; exit 1; }
done
psql_tgt -q <<SQL
CREATE TABLE events (id bigint PRIMARY KEY, user_id uuid, payload text);
CREATE SCHEMA audit_bench;
CREATE SCHEMA audit_small;
CREATE TABLE audit_bench.docs (id bigint PRIMARY KEY, payload jsonb);
CREATE TABLE audit_small.docs_small (id bigint PRIMARY KEY, payload jsonb);
CREATE EXTENSION pg_cutover CASCADE;
SQL
psql_tgt -At -c "SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER')" >&2
log "ID map of bench: $(map_users psql_tgt) pairs recorded"
if [ -z "$BASE_SKIP" ]; then
	psql_base -q -c "CREATE EXTENSION pg_cutover_base CASCADE"
	psql_base -At -c "SELECT migrate_source('host=127.0.0.1 port=$SRC_PORT dbname=bench user=$OWNER')" >&2
	log "ID map of bench_base: $(map_users psql_base) pairs recorded"
	BASE_SO=$(psql_base -At -c "SELECT probin FROM pg_proc WHERE proname = 'migrate_pull'")
	log "bench_base's migrate_pull is in $BASE_SO"
fi
DEFAULT_WORKERS=$(psql_tgt -At -c "SHOW max_parallel_workers_per_gather")

# ---------------------------------------------------------------------------------------------------------
# Timing.
# ---------------------------------------------------------------------------------------------------------
# The timed methods: each prints the number of rows it loaded or read (the audit: the IDs it found), and the
# checksum its checksum after it; the pulls: run_pull (common.sh).
# shellcheck disable=SC2317 # one calls it (through take_turns)
run_audit() {
	psql_tgt -At -c "SELECT coalesce(sum(ids), 0) FROM migrate_audit_ids('{audit_bench}')"
}
# run_checksum [WORKERS]: with max_parallel_workers_per_gather = WORKERS, or the cluster's default without.
# shellcheck disable=SC2317 # one calls it (through take_turns)
run_checksum() {
	psql_tgt -q -At -F ' ' ${1:+-c "SET max_parallel_workers_per_gather = $1"} \
		-c "SELECT rows, checksum FROM migrate_checksum('audit_bench.docs')"
}

# count_doc_ids COLUMN: "by list": rows of docs whose payload->>'by', and whose payload->'seen'->'list'->>0, is
# the COLUMN (source_id or target_id) of a pair.
# shellcheck disable=SC2317 # check_method calls it (through take_turns)
count_doc_ids() {
	# joins on the uuid, so that the map is hashed once (a text comparison per pair would scan it per row)
	psql_tgt -At -F ' ' -c "SELECT
	    (SELECT count(*) FROM audit_bench.docs d JOIN cutover.id_map m ON m.$1 = (d.payload->>'by')::uuid),
	    (SELECT count(*) FROM audit_bench.docs d JOIN cutover.id_map m ON m.$1 = (d.payload->'seen'->'list'->>0)::uuid)"
}
# audit SCHEMA: what migrate_audit_ids finds, a line per place: table|column|json path|kind|ids|remap.
# shellcheck disable=SC2317 # check_method calls it (through take_turns)
audit() {
	psql_tgt -At -c "SELECT table_name, column_name, coalesce(json_path, ''), kind, ids, remap
	                 FROM migrate_audit_ids('{$1}') ORDER BY 1, 2, 3, 4"
}

METHODS=(a/b c/d e f g h h2)
[ -z "$BASE_SKIP" ] || METHODS=(a c/d e f g h h2)
declare -A LABEL=([a]="(a)" [b]="(b)" [c]="(c)" [d]="(d)" [e]="(e)" [f]="(f)" [g]="(g)" [h]="(h)" [h2]="(h')")
declare -A TABLE=([a]=pgbench_accounts [b]=pgbench_accounts [c]=events [d]=events [e]=audit_bench.docs
	[f]=audit_bench.docs [g]=audit_bench.docs [h]=audit_bench.docs [h2]=audit_bench.docs)
# rows loaded or read; the audit's figure is the IDs it finds, two a row
declare -A EXPECTED=([a]=$ACCOUNTS [b]=$ACCOUNTS [c]=$EVENTS [d]=$EVENTS [e]=$DOCS [f]=$DOCS [g]=$((2 * DOCS))
	[h]=$DOCS [h2]=$DOCS)
declare -A CHECKSUM

# one ROUND METHOD: one run of METHOD, after its table was emptied and reset (for a pull) and both clusters
# checkpointed; timed unless ROUND is 0. A run that loads or reads another number of rows than expected is a
# failure.
# shellcheck disable=SC2317 # take_turns calls it
one() {
	local round=$1 m=$2 table=${TABLE[$2]} t0 t1 ms out rows sum
	case $m in
	b) psql_base -q -c "SELECT migrate_reset('$table')" -c "TRUNCATE $table" >/dev/null ;;
	a | c | d | e | f) psql_tgt -q -c "SELECT migrate_reset('$table')" -c "TRUNCATE $table" >/dev/null ;;
	esac
	case $m in
	c) mark_column out public events user_id ;;
	d) mark_column in public events user_id ;;
	e) mark_column in audit_bench docs payload ;;
	f) mark_column out audit_bench docs payload ;;
	esac
	checkpoint_pair
	t0=$EPOCHREALTIME
	case $m in
	b) out=$(run_pull psql_base "$table") ;;
	g) out=$(run_audit) ;;
	h) out=$(run_checksum 0) ;;
	h2) out=$(run_checksum) ;;
	*) out=$(run_pull psql_tgt "$table") ;;
	esac
	t1=$EPOCHREALTIME
	ms=$(elapsed_ms "$t0" "$t1")
	read -r rows sum <<<"$out"
	[ -z "$sum" ] || CHECKSUM[$m]=$sum
	[ "$rows" = "${EXPECTED[$m]}" ] ||
		fail "${LABEL[$m]} run $round $([ "$m" = g ] && echo "found '$rows' IDs in" || echo "gave '$rows' rows of") $table, not ${EXPECTED[$m]}"
	record_run "$round" "$m" "${LABEL[$m]}" "$ms" "$rows"
}

# What the audit must find in docs with payload kept out: each of the two places once per row.
AUDIT_KEPT_OUT_EXPECTED="audit_bench.docs|payload|\$.by|json value|$DOCS|off
audit_bench.docs|payload|\$.seen.list[*]|json value|$DOCS|off"

# check_method METHOD: METHOD in the last round checked (untimed), after it is timed.
# shellcheck disable=SC2317 # take_turns calls it
check_method() {
	case $1 in
	a) verify "(a)" psql_tgt pgbench_accounts ;;
	b) verify "(b)" psql_base pgbench_accounts ;;
	c)
		verify "(c)" psql_tgt events
		SOURCE_IDS_C=$(count_user_ids source_id)
		[ "$SOURCE_IDS_C" = "$EVENTS" ] || fail "after (c), $SOURCE_IDS_C of $EVENTS events rows hold a source ID"
		;;
	d)
		verify "(d)" psql_tgt events
		TARGET_IDS_D=$(count_user_ids target_id)
		[ "$TARGET_IDS_D" = "$EVENTS" ] || fail "after (d), $TARGET_IDS_D of $EVENTS events rows hold a mapped (target) ID"
		;;
	e)
		verify "(e)" psql_tgt audit_bench.docs
		read -r DOC_SRC_BY_E DOC_SRC_LIST_E <<<"$(count_doc_ids source_id)"
		read -r DOC_TGT_BY_E DOC_TGT_LIST_E <<<"$(count_doc_ids target_id)"
		[ "$DOC_SRC_BY_E $DOC_SRC_LIST_E" = "0 0" ] ||
			fail "after (e), docs rows with a Supabase ID: $DOC_SRC_BY_E at by, $DOC_SRC_LIST_E at seen.list[0] (not 0)"
		[ "$DOC_TGT_BY_E $DOC_TGT_LIST_E" = "$DOCS $DOCS" ] ||
			fail "after (e), docs rows with a mapped ID: $DOC_TGT_BY_E at by, $DOC_TGT_LIST_E at seen.list[0] (not $DOCS)"
		AUDIT_E=$(audit audit_bench)
		[ -z "$AUDIT_E" ] || fail "after (e), migrate_audit_ids('{audit_bench}') still finds: $(paste -sd ';' <<<"$AUDIT_E")"
		;;
	f)
		verify "(f)" psql_tgt audit_bench.docs
		read -r DOC_SRC_BY_F DOC_SRC_LIST_F <<<"$(count_doc_ids source_id)"
		[ "$DOC_SRC_BY_F $DOC_SRC_LIST_F" = "$DOCS $DOCS" ] ||
			fail "after (f), docs rows with their source ID: $DOC_SRC_BY_F at by, $DOC_SRC_LIST_F at seen.list[0] (not $DOCS)"
		AUDIT_F=$(audit audit_bench)
		[ "$AUDIT_F" = "$AUDIT_KEPT_OUT_EXPECTED" ] ||
			fail "after (f), migrate_audit_ids('{audit_bench}') finds '$(paste -sd ';' <<<"$AUDIT_F")', not '$(paste -sd ';' <<<"$AUDIT_KEPT_OUT_EXPECTED")'"
		;;
	h2)
		[ "${CHECKSUM[h]:-}" = "${CHECKSUM[h2]:-}" ] ||
			fail "migrate_checksum of docs with 0 workers '${CHECKSUM[h]:-}', with the default '${CHECKSUM[h2]:-}'"
		;;
	esac
}

# Round 0 warms the caches (and the target's shared buffers) untimed; then RUNS rounds, the methods taking
# turns so that each sees the same machine. In the last round, every method is checked after it is timed.
log "timing: one untimed round, then the best of $RUNS rounds"
take_turns one check_method "${METHODS[@]}"

# ---------------------------------------------------------------------------------------------------------
# Memory: the peak RSS of the backend that ran migrate_audit_ids, read from /proc/self/status in that same
# session after the call, over docs_small and docs, both with payload kept out (the audit finds every ID).
# VmHWM counts the pages of shared_buffers the backend touched (RssShmem) as well as its own memory;
# VmHWM - RssShmem (at the end) estimates the peak of its own memory.
# ---------------------------------------------------------------------------------------------------------
log "docs_small: pulled with payload kept out (untimed)"
psql_tgt -q -c "SELECT migrate_reset('audit_small.docs_small')" -c "TRUNCATE audit_small.docs_small" >/dev/null
mark_column out audit_small docs_small payload
SMALL_ROWS=$(run_pull psql_tgt audit_small.docs_small)
[ "$SMALL_ROWS" = "$DOCS_SMALL" ] || fail "the pull of docs_small loaded '$SMALL_ROWS' rows, not $DOCS_SMALL"
verify "docs_small, payload kept out" psql_tgt audit_small.docs_small

# rss_audit SCHEMA: prints "ids vmhwm_kb rssanon_kb rssshmem_kb hwm_before_kb" (all kB) of an audit of SCHEMA.
rss_audit() {
	backend_rss "SELECT coalesce(sum(ids), 0) FROM migrate_audit_ids('{$1}');"
}
log "peak RSS of the target backend during migrate_audit_ids: docs_small, then docs"
read -r RSS_S_IDS RSS_S_HWM RSS_S_ANON RSS_S_SHM RSS_S_BEFORE <<<"$(rss_audit audit_small)"
read -r RSS_L_IDS RSS_L_HWM RSS_L_ANON RSS_L_SHM RSS_L_BEFORE <<<"$(rss_audit audit_bench)"
[ "$RSS_S_IDS" = $((2 * DOCS_SMALL)) ] || fail "the memory run found '$RSS_S_IDS' IDs in docs_small, not $((2 * DOCS_SMALL))"
[ "$RSS_L_IDS" = $((2 * DOCS)) ] || fail "the memory run found '$RSS_L_IDS' IDs in docs, not $((2 * DOCS))"

# ---------------------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------------------
echo
echo "pg_cutover remap benchmark: pgbench_accounts $ACCOUNTS rows (scale $SCALE), events $EVENTS rows, docs $DOCS rows" \
	"(docs_small $DOCS_SMALL), $USERS users mapped, $(nproc) CPUs, $("$BINDIR/postgres" --version)"
echo "two clusters: source over TCP 127.0.0.1:$SRC_PORT, target over its Unix socket; fsync off, autovacuum off, jit off"
report_extension "$TREE_SO"
echo "build: $BUILD (working tree of $REPO); baseline: $BASELINE_REF ($BASELINE_DESC)," \
	"$([ -n "$BASE_SKIP" ] && echo "SKIPPED: $BASE_SKIP" || echo "built as pg_cutover_base, $BASE_SO")"
echo "runs: best of $RUNS by the wall clock around psql, after one untimed round; max_parallel_workers_per_gather:" \
	"0 for (g) (migrate_audit_ids sets it) and (h), the cluster's default $DEFAULT_WORKERS for (h')"
echo

printf '%-68s %9s %6s %11s %12s\n' "method" "rows" "runs" "best ms" "rows/s"
row() {
	if [ -z "$3" ]; then
		printf '%-68s %9s %6s %11s %12s\n' "$1" "$2" "-" "skipped" "-"
	else
		printf '%-68s %9s %6s %11s %12s\n' "$1" "$2" "$RUNS" "$3" "$(rate "$2" "$3")"
	fi
}
row "(a)  migrate_pull('pgbench_accounts'), current build" "$ACCOUNTS" "${BEST[a]}"
row "(b)  migrate_pull('pgbench_accounts'), baseline build $BASELINE_REF" "$ACCOUNTS" "${BEST[b]:-}"
row "(c)  migrate_pull('events'), user_id kept out" "$EVENTS" "${BEST[c]}"
row "(d)  migrate_pull('events'), user_id remapped" "$EVENTS" "${BEST[d]}"
row "(e)  migrate_pull('audit_bench.docs'), jsonb payload remapped" "$DOCS" "${BEST[e]}"
row "(f)  migrate_pull('audit_bench.docs'), payload kept out" "$DOCS" "${BEST[f]}"
row "(g)  migrate_audit_ids('{audit_bench}'), $((2 * DOCS)) IDs found" "$DOCS" "${BEST[g]}"
row "(h)  migrate_checksum('audit_bench.docs'), 0 parallel workers" "$DOCS" "${BEST[h]}"
row "(h') migrate_checksum('audit_bench.docs'), default ($DEFAULT_WORKERS workers)" "$DOCS" "${BEST[h2]}"
echo

MISSES=0
# check LABEL A B TARGET: the time ratio A / B (ms) against at most TARGET; without A, skipped (a miss under
# BENCH_STRICT); without TARGET, for information.
check() {
	local verdict value
	if [ -z "$2" ]; then
		printf '%-58s %9s   %-15s %s\n' "$1" "-" "target <= $4" "SKIPPED"
		MISSES=$((MISSES + 1))
		return
	fi
	value=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", a / b }')
	if [ -z "${4:-}" ]; then
		printf '%-58s %9s   %-15s %s\n' "$1" "$value" "" "(information)"
		return
	fi
	verdict=$(awk -v v="$2" -v b="$3" -v t="$4" 'BEGIN { print (v / b <= t) ? "PASS" : "MISS" }')
	printf '%-58s %9s   %-15s %s\n' "$1" "$value" "target <= $4" "$verdict"
	[ "$verdict" = PASS ] || MISSES=$((MISSES + 1))
}
printf '%-58s %9s   %-15s %s\n' "ratio (time)" "value" "" "result"
if [ -n "$BASE_SKIP" ]; then
	check "(a) / (b): pgbench_accounts, current / baseline" "" "" 1.05
else
	check "(a) / (b): pgbench_accounts, current / baseline" "${BEST[a]}" "${BEST[b]}" 1.05
fi
check "(d) / (c): events, user_id remapped / kept out" "${BEST[d]}" "${BEST[c]}" 1.10
check "(e) / (f): docs, jsonb remapped / kept out" "${BEST[e]}" "${BEST[f]}" 1.5
check "(g) / (h): audit / checksum, 0 parallel workers each" "${BEST[g]}" "${BEST[h]}" 2.0
check "(g) / (h'): audit / checksum at the default ($DEFAULT_WORKERS workers)" "${BEST[g]}" "${BEST[h2]}"
echo

echo "target backend memory during migrate_audit_ids (payload kept out: every ID found), read from /proc/self/status" \
	"in the auditing session after the call:"
rss_heading "$(printf '%-24s %9s %9s' table rows 'IDs found')"
rss_row "$(printf '%-24s %9s %9s' audit_small.docs_small "$DOCS_SMALL" "$RSS_S_IDS")" "$RSS_S_BEFORE" "$RSS_S_HWM" "$RSS_S_SHM" \
	"$RSS_S_ANON"
rss_row "$(printf '%-24s %9s %9s' audit_bench.docs "$DOCS" "$RSS_L_IDS")" "$RSS_L_BEFORE" "$RSS_L_HWM" "$RSS_L_SHM" "$RSS_L_ANON"
# The raw VmHWM of docs also holds the shared buffers of the bigger table.
rss_flat audit difference "$DOCS_SMALL" "$DOCS" "$RSS_S_HWM" "$RSS_S_SHM" "$RSS_L_HWM" "$RSS_L_SHM" || MISSES=$((MISSES + 1))
echo

for key in "(a)" "(b)" "(c)" "(d)" "(e)" "(f)" "docs_small, payload kept out"; do
	echo "migrate_verify ok after $key: ${VERIFIED[$key]:-not run}"
done
echo "events rows holding a source ID after (c): $SOURCE_IDS_C of $EVENTS"
echo "events rows holding a mapped (target) ID after (d): $TARGET_IDS_D of $EVENTS"
echo "docs rows holding a Supabase ID after (e): by $DOC_SRC_BY_E, seen.list[0] $DOC_SRC_LIST_E (of $DOCS)"
echo "docs rows holding a mapped (target) ID after (e): by $DOC_TGT_BY_E, seen.list[0] $DOC_TGT_LIST_E (of $DOCS)"
echo "docs rows holding their source ID after (f): by $DOC_SRC_BY_F, seen.list[0] $DOC_SRC_LIST_F (of $DOCS)"
if [ -z "$AUDIT_E" ]; then
	echo "migrate_audit_ids('{audit_bench}') after (e): no row"
else
	echo "migrate_audit_ids('{audit_bench}') after (e): $(paste -sd ';' <<<"$AUDIT_E")"
fi
echo "migrate_audit_ids('{audit_bench}') after (f): $(paste -sd ';' <<<"$AUDIT_F")"
echo "migrate_checksum of docs, 0 workers and default: ${CHECKSUM[h]:-none} / ${CHECKSUM[h2]:-none}"
bench_finish "$MISSES"
