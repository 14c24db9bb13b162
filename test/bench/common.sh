# test/bench/common.sh: sourced by the benchmark scripts. Sets PG_CONFIG, BINDIR, OWNER and as_owner (the
# clusters run as postgres when the script runs as root, else as the caller), and defines log, need_tools,
# free_port, bench_workdir, bench_pair, start_cluster, fail and elapsed_ms, then the pieces the scripts share:
# the source's users and events, the pulls and their checks, the timed rounds, the peak RSS and the report.
# BENCH_NAME names the script in messages.
source "$(dirname "${BASH_SOURCE[0]}")/../pg_config.sh"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
BINDIR=$("$PG_CONFIG" --bindir)

log() { printf '%s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
	OWNER=postgres
	as_owner() { runuser -u "$OWNER" -- "$@"; }
else
	OWNER=$(id -un)
	as_owner() { "$@"; }
fi

# need_tools TOOL...: exits 2 unless every tool is in $BINDIR.
need_tools() {
	local tool
	for tool in "$@"; do
		[ -x "$BINDIR/$tool" ] || { log "$BENCH_NAME: $BINDIR/$tool not found"; exit 2; }
	done
}

# free_port [TAKEN]: a port nothing listens on (and not TAKEN); a cluster's socket name carries its port
# even when TCP is off.
free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % 30000))
		[ "$port" -eq 55432 ] && continue
		[ -n "${1:-}" ] && [ "$port" -eq "$1" ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	log "$BENCH_NAME: no free port found"
	return 1
}

# bench_workdir NAME: sets WORK to a fresh directory the clusters' owner may use, and cds there. On exit, the
# clusters whose data directories were added to BENCH_CLUSTERS (once started) are stopped and WORK removed.
BENCH_CLUSTERS=()
bench_workdir() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_cutover_$1.XXXXXX")
	if [ "$OWNER" != "$(id -un)" ]; then
		chown "$OWNER" "$WORK"
	fi
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cd "$WORK"
}
# fail MESSAGE: a failed correctness check, said at once and kept in FAILURES (FAIL=1).
FAIL=0
FAILURES=()
fail() {
	log "FAILED: $*"
	FAILURES+=("$*")
	FAIL=1
}

# elapsed_ms START END: milliseconds between two $EPOCHREALTIME values
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# bench_pair NAME: bench_workdir NAME, then a source and a target cluster to be: SRC_DATA, TGT_DATA and two
# free ports SRC_PORT, TGT_PORT.
bench_pair() {
	bench_workdir "$1"
	SRC_DATA=$WORK/source
	TGT_DATA=$WORK/target
	SRC_PORT=$(free_port)
	TGT_PORT=$(free_port "$SRC_PORT")
}
# psql_src / psql_tgt [psql args...]: database bench of the pair's clusters, the source over TCP as a source is
psql_src() { as_owner "$BINDIR/psql" -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SRC_PORT" -U "$OWNER" -d bench "$@"; }
psql_tgt() { as_owner "$BINDIR/psql" -X -v ON_ERROR_STOP=1 -h "$WORK" -p "$TGT_PORT" -U "$OWNER" -d bench "$@"; }
bench_cleanup() {
	local rc=$? data
	for data in "${BENCH_CLUSTERS[@]}"; do
		(cd "$WORK" && as_owner "$BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1) || true
	done
	rm -rf "$WORK"
	exit "$rc"
}

# start_cluster DATA PORT LISTEN [SETTING...]: initdb DATA and start it on PORT, its socket in $WORK, on TCP at
# LISTEN ('' for none), with the settings of every benchmark cluster (a throwaway: durability is not what is
# measured), then each SETTING line (a later line wins); stopped at exit (BENCH_CLUSTERS).
start_cluster() {
	local data=$1 port=$2 listen=$3 name
	shift 3
	name=$(basename "$data")
	log "cluster $name: $data (port $port, socket in $WORK${listen:+, TCP on $listen})"
	as_owner "$BINDIR/initdb" -D "$data" -U "$OWNER" --encoding=UTF8 --locale=C.UTF-8 --auth=trust --no-instructions \
		>"$WORK/initdb-$name.log" 2>&1 || { cat "$WORK/initdb-$name.log" >&2; exit 1; }
	{
		cat <<CONF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$WORK'
shared_buffers = 1GB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
		printf '%s\n' "$@"
	} >>"$data/postgresql.conf"
	as_owner "$BINDIR/pg_ctl" -D "$data" -l "$WORK/server-$name.log" -w start >/dev/null ||
		{ cat "$WORK/server-$name.log" >&2; exit 1; }
	BENCH_CLUSTERS+=("$data")
}

# checkpoint_pair: CHECKPOINT on both clusters of the pair and the kernel's dirty pages written out (sync), so that
# neither a checkpoint nor the write-back of the previous load falls into a timed run.
checkpoint_pair() {
	psql_src -q -c CHECKPOINT
	psql_tgt -q -c CHECKPOINT
	sync
}

# users_sql USERS: the SQL of the source's auth.users, USERS users of ID md5('supabase-user-' || i)::uuid.
users_sql() {
	cat <<SQL
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
INSERT INTO auth.users SELECT md5('supabase-user-' || i)::uuid, 'user' || i || '@example.com'
FROM generate_series(1, $1) AS i;
SQL
}

# events_sql TABLE ROWS USERS: the SQL of a source table TABLE of ROWS rows (id bigint primary key, user_id uuid
# references auth.users, the USERS users of users_sql in turn, payload text of 52 characters).
events_sql() {
	cat <<SQL
CREATE TABLE $1 (id bigint PRIMARY KEY, user_id uuid, payload text);
INSERT INTO $1
SELECT i, md5('supabase-user-' || (1 + i % $3))::uuid, rpad('event ' || i || ' ' || md5(i::text), 52, '.')
FROM generate_series(1, $2) AS i;
-- added after the load: one validating scan instead of a trigger per row
ALTER TABLE $1 ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
SQL
}

# map_users PSQL...: the users as the client would read them from the source, mapped in one transaction by
# the database PSQL reaches (migrate_map_put(id, md5('stack-' || id)::uuid, email)); prints the pairs recorded.
map_users() {
	psql_src -c "COPY (SELECT id, email FROM auth.users) TO STDOUT" |
		"$@" -q -At -1 -c "CREATE TEMP TABLE supabase_users (id uuid, email text)" \
			-c "COPY supabase_users FROM STDIN" \
			-c "SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) FROM supabase_users"
}

# run_pull PSQL TABLE: migrate_pull(TABLE) in the database PSQL reaches; prints the rows it loaded.
run_pull() {
	"$1" -At -c "SELECT rows FROM migrate_pull('$2') WHERE status = 'loaded'"
}

# verify KEY PSQL TABLE: migrate_verify(TABLE) in the database PSQL reaches must say ok (untimed); kept in
# VERIFIED[KEY].
declare -A VERIFIED=()
verify() {
	local ok
	ok=$("$2" -At -c "SELECT ok FROM migrate_verify('$3')")
	# shellcheck disable=SC2034 # the scripts report it
	VERIFIED[$1]=$ok
	[ "$ok" = t ] || fail "migrate_verify('$3') after $1 says '$ok'"
}

# count_user_ids COLUMN: rows of the target's events whose user_id is the COLUMN (source_id or target_id) of a pair.
count_user_ids() {
	psql_tgt -At -c "SELECT count(*) FROM events e WHERE EXISTS (SELECT FROM cutover.id_map m WHERE m.$1 = e.user_id)"
}

# mark_column out|in SCHEMA TABLE COLUMN: on the target, the column kept out of remapping, or its mark deleted
# (remapped by value, or as a user-ID column through its foreign key).
mark_column() {
	if [ "$1" = out ]; then
		psql_tgt -q -At -c "SELECT migrate_remap_column('$2.$3', '$4', false)" >/dev/null
	else
		psql_tgt -q -c "DELETE FROM cutover.remap_column WHERE (table_schema, table_name, column_name) = ('$2', '$3', '$4')"
	fi
}

# take_turns ONE LAST METHOD...: round 0 (untimed, to warm the caches), then rounds 1 to RUNS, each running
# ONE ROUND METHOD for every METHOD in turn, so that each sees the same machine; in the last round, LAST METHOD
# right after it (none when LAST is ''). A METHOD written A/B is a pair that takes turns going first: A then B in
# odd rounds, B then A in even ones, so that neither always follows the same work.
take_turns() {
	local one=$1 last=$2 round m pair
	shift 2
	for ((round = 0; round <= RUNS; round++)); do
		for pair in "$@"; do
			local order=("${pair%%/*}")
			if [ "$pair" != "${pair#*/}" ]; then
				if ((round % 2 == 1)); then order+=("${pair#*/}"); else order=("${pair#*/}" "${order[0]}"); fi
			fi
			for m in "${order[@]}"; do
				"$one" "$round" "$m"
				if [ -n "$last" ] && [ "$round" -eq "$RUNS" ]; then
					"$last" "$m"
				fi
			done
		done
	done
}

# record_run ROUND KEY LABEL MS [WHAT]: logs a run of LABEL that took MS ms (and did WHAT); round 0 is the
# warm-up, a later round's MS is kept in BEST[KEY] if it is the least so far.
declare -A BEST=()
record_run() {
	local round=$1 key=$2 label=$3 ms=$4 what=${5+, $5}
	if [ "$round" -eq 0 ]; then
		log "  $label warm-up: $ms ms$what"
		return
	fi
	log "  $label run $round: $ms ms$what"
	if [ -z "${BEST[$key]:-}" ] || awk -v a="$ms" -v b="${BEST[$key]}" 'BEGIN { exit !(a < b) }'; then
		BEST[$key]=$ms
	fi
}

# backend_rss QUERY [SETUP]: after checkpoint_pair, SETUP then QUERY (SQL printing one line) in one session of
# the target; prints that line and "vmhwm_kb rssanon_kb rssshmem_kb hwm_before_kb" of the backend's
# /proc/self/status, read after QUERY (hwm_before: VmHWM before QUERY).
backend_rss() {
	checkpoint_pair
	psql_tgt -At -F ' ' <<SQL | tail -n 2 | paste -sd ' '
${2:-}
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s*(\d+)'))[1] AS hwm_before \gset
$1
SELECT (regexp_match(s, 'VmHWM:\s*(\d+)'))[1], (regexp_match(s, 'RssAnon:\s*(\d+)'))[1],
       (regexp_match(s, 'RssShmem:\s*(\d+)'))[1], :'hwm_before'
FROM pg_read_file('/proc/self/status') AS s;
SQL
}

# report_extension TREE_SO: which pg_cutover.so of pkglibdir was timed, and whether it is this tree's build
# TREE_SO (`make bench` builds the tree but times the installed extension).
report_extension() {
	local installed
	installed=$("$PG_CONFIG" --pkglibdir)/pg_cutover.so
	if [ ! -f "$1" ]; then
		echo "extension: $installed"
	elif cmp -s "$1" "$installed"; then
		echo "extension: $installed (this tree's build)"
	else
		echo "extension: $installed (NOT this tree's build: run make install to time it)"
	fi
}

# rate ROWS MS: rows per second, rounded
rate() { awk -v r="$1" -v ms="$2" 'BEGIN { printf "%.0f", (ms > 0) ? r / (ms / 1000) : 0 }'; }
# mb KB: KB as "<n.n> MB"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

# rss_heading LEAD / rss_row LEAD BEFORE HWM SHM ANON: a line of a peak-RSS table: LEAD (its first columns, laid
# out), then the headings of the memory columns, or VmHWM BEFORE, VmHWM, RssShmem, VmHWM - RssShmem and RssAnon
# (kB) in MB.
rss_heading() {
	printf '%s %14s %14s %14s %18s %16s\n' "$1" "VmHWM before" "VmHWM (peak)" "RssShmem" "VmHWM - RssShmem" "RssAnon at end"
}
rss_row() {
	local hwm=$3 shm=$4
	printf '%s %14s %14s %14s %18s %16s\n' "$1" "$(mb "$2")" "$(mb "$hwm")" "$(mb "$shm")" "$(mb $((hwm - shm)))" "$(mb "$5")"
}

# rss_flat WHO CHANGE SMALL_ROWS LARGE_ROWS SMALL_HWM SMALL_SHM LARGE_HWM LARGE_SHM: the peak RSS CHANGE (kB) from
# SMALL_ROWS to LARGE_ROWS rows, then whether WHO's own memory (VmHWM - RssShmem) grows with table size beyond
# 10% or 4 MB of noise: no (PASS), or yes (MISS, status 1). The raw VmHWM also grows by the shared buffers touched.
rss_flat() {
	local small_hwm=$5 small_shm=$6 large_hwm=$7 large_shm=$8 growth
	growth=$(((large_hwm - large_shm) - (small_hwm - small_shm)))
	printf 'peak RSS %s from %s to %s rows: VmHWM %+.1f MB, VmHWM - RssShmem %+.1f MB\n' "$2" "$3" "$4" \
		"$(awk -v k=$((large_hwm - small_hwm)) 'BEGIN { print k / 1024 }')" "$(awk -v k="$growth" 'BEGIN { print k / 1024 }')"
	if awk -v g="$growth" -v s=$((small_hwm - small_shm)) 'BEGIN { exit !(g <= 4096 || g <= s * 0.10) }'; then
		echo "$1 memory grows with table size: no (PASS)"
	else
		echo "$1 memory grows with table size: yes (MISS)"
		return 1
	fi
}

# bench_finish MISSES: the end of a script: the failed checks and "correctness: FAILED" (exit 1), else
# "correctness: ok", then exit 1 if MISSES targets were missed under BENCH_STRICT=1, else 0.
bench_finish() {
	if [ "$FAIL" -ne 0 ]; then
		printf 'FAILED: %s\n' "${FAILURES[@]}"
		echo "correctness: FAILED"
		exit 1
	fi
	echo "correctness: ok"
	if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$1" -ne 0 ]; then
		exit 1
	fi
	exit 0
}
