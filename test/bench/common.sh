# test/bench/common.sh: sourced by the benchmark scripts. Sets PG_CONFIG, BINDIR, OWNER and as_owner (the
# clusters run as postgres when the script runs as root, else as the caller), and defines log, need_tools and
# free_port. BENCH_NAME names the script in messages.
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
