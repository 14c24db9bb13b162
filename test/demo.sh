#!/usr/bin/env bash
# test/demo.sh: a source and a target cluster with pg_cutover, verified end to end. Run by `make demo`.
#
#   test/demo.sh          install what is missing (test/deps.sh, as root), build and install the extension,
#                         start two throwaway clusters under /tmp/pg_cutover_demo, load the Supabase-shaped
#                         fixture test/fixtures/app.sql into the source, copy it to the target with
#                         pg_dump | psql, point the target at the source with migrate_source, plan,
#                         map every user to a new ID, pull every table again with migrate_pull (user IDs
#                         rewritten inline), and run migrate_verify_all(ARRAY['public'])
#   test/demo.sh stop     stop both clusters and remove /tmp/pg_cutover_demo (`make demo-stop`)
#
# As root the clusters run as the postgres user; otherwise as the current user, and the extension must be
# installable by that user (or installed already). Environment: PG_CONFIG (default: PostgreSQL 15's), MAKE,
# DEMO_INSTALL=0 to skip the build and use the pg_cutover already installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=/tmp/pg_cutover_demo
MARKER=$DEMO/.pg_cutover_demo
DB=app
MAKE=${MAKE:-make}

source "$root/test/pg_config.sh"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

step() { printf '==> %s\n' "$*"; }
die() {
	printf 'demo.sh: %s\n' "$*" >&2
	exit 1
}

if ((EUID == 0)); then
	OWNER=postgres
	as_owner() { (cd "$DEMO" && runuser -u "$OWNER" -- "$@"); }
else
	OWNER=$(id -un)
	as_owner() { (cd "$DEMO" && "$@"); }
fi

# stop: stops the clusters a previous run started (only those under our own directory) and removes it.
stop_demo() {
	[[ -e $DEMO ]] || return 0
	[[ -f $MARKER ]] || die "$DEMO exists but was not made by demo.sh: not touching it"
	local bindir side
	bindir=$(cat "$DEMO/bindir" 2>/dev/null || "$PG_CONFIG" --bindir)
	for side in source target; do
		if [[ -f $DEMO/$side/postmaster.pid ]]; then
			local owner
			owner=$(stat -c %U "$DEMO/$side")
			if ((EUID == 0)); then
				(cd "$DEMO" && runuser -u "$owner" -- "$bindir/pg_ctl" -D "$DEMO/$side" -m fast -w stop >/dev/null) || true
			else
				(cd "$DEMO" && "$bindir/pg_ctl" -D "$DEMO/$side" -m fast -w stop >/dev/null) || true
			fi
			echo "stopped the $side cluster"
		fi
	done
	rm -rf "$DEMO"
}

if [[ ${1:-} == stop ]]; then
	stop_demo
	echo "demo stopped; $DEMO removed"
	exit 0
elif [[ $# -gt 0 ]]; then
	echo "usage: test/demo.sh [stop]" >&2
	exit 2
fi

started=$(date +%s)

# A TCP port on 127.0.0.1 nothing listens on (55432 belongs to someone else on shared machines).
free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % 30000))
		((port == 55432)) && continue
		[[ ${1:-} == "$port" ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

stop_demo
trap 'rc=$?; ((rc == 0)) || echo "demo.sh: the demo did not finish; make demo-stop (test/demo.sh stop) removes what it started" >&2' EXIT
if [[ -f $root/test/deps.sh ]]; then
	step "Checking Debian packages (test/deps.sh)"
	bash "$root/test/deps.sh"
fi

mkdir -p "$DEMO"
touch "$MARKER"
[[ $OWNER == "$(id -un)" ]] || chown "$OWNER" "$DEMO"
BINDIR=$("$PG_CONFIG" --bindir)
echo "$BINDIR" >"$DEMO/bindir"

# Builds the extension and installs it when we may; otherwise uses the one installed already.
install_extension() {
	local sharedir pkglibdir
	sharedir=$("$PG_CONFIG" --sharedir)
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	if [[ ${DEMO_INSTALL:-1} == 0 ]]; then
		[[ -f $sharedir/extension/pg_cutover.control ]] || die "DEMO_INSTALL=0 but pg_cutover is not installed"
		step "Using the pg_cutover installed in $sharedir/extension (DEMO_INSTALL=0)"
		return
	fi
	step "Building and installing pg_cutover"
	# Parallel build, unless `make -jN demo` already handed us its jobserver.
	local jobs=()
	[[ " ${MAKEFLAGS:-} " == *" -j"* || ${MAKEFLAGS:-} == *jobserver* ]] || jobs=(-j"$(nproc 2>/dev/null || echo 2)")
	if ! "$MAKE" -C "$root" --no-print-directory "${jobs[@]}" PG_CONFIG="$PG_CONFIG" all >"$DEMO/build.log" 2>&1; then
		tail -n 40 "$DEMO/build.log" >&2
		die "build failed (full log: $DEMO/build.log)"
	fi
	if [[ -w $pkglibdir ]]; then
		if ! "$MAKE" -C "$root" --no-print-directory PG_CONFIG="$PG_CONFIG" install >>"$DEMO/build.log" 2>&1; then
			tail -n 40 "$DEMO/build.log" >&2
			die "make install failed (full log: $DEMO/build.log)"
		fi
	elif [[ -f $sharedir/extension/pg_cutover.control ]]; then
		echo "    not root: using the pg_cutover already installed in $sharedir/extension"
	else
		die "pg_cutover is not installed and $pkglibdir is not writable: run as root"
	fi
}
install_extension

SOURCE_PORT=$(free_port)
TARGET_PORT=$(free_port "$SOURCE_PORT")
step "Starting the source cluster (port $SOURCE_PORT) and the target cluster (port $TARGET_PORT) in $DEMO"
start_cluster() { # start_cluster NAME PORT
	local data=$DEMO/$1
	as_owner "$BINDIR/initdb" -D "$data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 --no-instructions >"$DEMO/$1-initdb.log" 2>&1 ||
		{ cat "$DEMO/$1-initdb.log" >&2; die "initdb of the $1 cluster failed"; }
	cat >>"$data/postgresql.conf" <<CONF
# pg_cutover demo: $1 cluster
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$DEMO'
fsync = off
cluster_name = 'pg_cutover_demo_$1'
CONF
	as_owner "$BINDIR/pg_ctl" -D "$data" -l "$DEMO/$1.log" -w start >/dev/null ||
		{ tail -n 20 "$DEMO/$1.log" >&2; die "the $1 cluster did not start"; }
}
start_cluster source "$SOURCE_PORT"
start_cluster target "$TARGET_PORT"

psql_on() { # psql_on PORT [psql args...]: as the superuser postgres, over the socket
	local port=$1
	shift
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DEMO" -p "$port" -U postgres "$@"
}

step "Loading test/fixtures/app.sql into the source (database $DB)"
psql_on "$SOURCE_PORT" -d postgres -c "CREATE DATABASE $DB"
psql_on "$SOURCE_PORT" -d "$DB" <"$root/test/fixtures/app.sql"
# The role the target reads the source with: password authentication over TCP, as with a hosted source.
# BYPASSRLS, or row-level security would hide rows from it. The password goes through stdin, never argv.
SOURCE_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
psql_on "$SOURCE_PORT" -d "$DB" <<SQL
CREATE ROLE cutover_reader LOGIN BYPASSRLS PASSWORD '$SOURCE_PASSWORD';
GRANT USAGE ON SCHEMA auth, public TO cutover_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA auth, public TO cutover_reader;
SQL
psql_on "$SOURCE_PORT" -d "$DB" -At -F ' ' -c "
SELECT format('%-22s %s rows', t.name, t.n) FROM (
    SELECT 'auth.users' AS name, count(*) AS n FROM auth.users
    UNION ALL SELECT 'auth.identities', count(*) FROM auth.identities
    UNION ALL SELECT 'public.profiles', count(*) FROM public.profiles
    UNION ALL SELECT 'public.sites', count(*) FROM public.sites
    UNION ALL SELECT 'public.sensor_readings', count(*) FROM public.sensor_readings) AS t" | sed 's/^/    /'

step "Copying the source into the target (pg_dump | psql)"
psql_on "$TARGET_PORT" -d postgres -c "CREATE DATABASE $DB"
psql_on "$TARGET_PORT" -d "$DB" <<'SQL'
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
SQL
as_owner "$BINDIR/pg_dump" -h "$DEMO" -p "$SOURCE_PORT" -U postgres --no-owner --no-privileges "$DB" |
	psql_on "$TARGET_PORT" -d "$DB" >/dev/null

step "Pointing the target at the source"
psql_on "$TARGET_PORT" -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_cutover CASCADE"
echo "    SELECT migrate_source('host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=cutover_reader password=********');"
psql_on "$TARGET_PORT" -d "$DB" -At <<SQL | sed 's/^/    /'
SET log_statement = none;
SELECT migrate_source('host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=cutover_reader password=$SOURCE_PASSWORD');
SQL
unset SOURCE_PASSWORD

step "SELECT table_name, level, user_id_columns, cycle FROM migrate_plan();"
psql_on "$TARGET_PORT" -d "$DB" -P footer=off -c "SELECT table_name, level, user_id_columns, cycle FROM migrate_plan()"

# Until the user migration exists, the demo plays its part: every user gets a new ID in the map. Then every
# planned table is pulled again from the source, in plan order, with its user IDs rewritten inline.
step "Giving every user a new ID (cutover.id_map), then migrate_pull of every table in plan order"
psql_on "$TARGET_PORT" -d "$DB" -P footer=off <<'SQL'
SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) AS users_mapped
FROM auth.users;
SELECT p.level, r.table_name, r.status, r.rows, round(r.seconds::numeric, 3) AS seconds
FROM migrate_plan() AS p, LATERAL migrate_pull(p.table_name::regclass) AS r
ORDER BY p.level, p.table_name;
SELECT * FROM migrate_fix_sequences();
SQL

step "SELECT * FROM migrate_verify_all(ARRAY['public']);   -- user IDs mapped back through the map"
psql_on "$TARGET_PORT" -d "$DB" -P footer=off \
	-c "SELECT table_name, source_rows, target_rows, source_checksum, target_checksum, ok, round(seconds::numeric, 3) AS seconds
	    FROM migrate_verify_all(ARRAY['public'])"

cat <<EOF

Demo ready in $(($(date +%s) - started)) s. Both clusters keep running until you stop them.

  source (the "Supabase" side):  psql -h $DEMO -p $SOURCE_PORT -U postgres $DB
  target (with pg_cutover):      psql -h $DEMO -p $TARGET_PORT -U postgres $DB

On the target, try:
  SELECT * FROM migrate_checksum('sensor_readings');
  SELECT migrate_source_checksum_sql('sites');
  UPDATE sites SET name = name || ' (edited)' WHERE id = 7;
  SELECT * FROM migrate_verify('sites');          -- ok = f: the checksums differ
  SELECT * FROM cutover.verification ORDER BY id;
  SELECT * FROM migrate_status();
  SELECT migrate_unmap(id) FROM profiles LIMIT 3;  -- support's lookup: the Supabase ID behind a new ID

Stop both clusters and remove $DEMO:  make demo-stop   (or: test/demo.sh stop)
EOF
