# test/bench/common.sh: sourced by the benchmark scripts. Sets PG_CONFIG, BINDIR, OWNER and as_owner (the
# clusters run as postgres when the script runs as root, else as the caller), and defines log, need_tools,
# free_port, bench_workdir, bench_pair, start_cluster, fail and elapsed_ms. BENCH_NAME names the script in
# messages.
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
