#!/usr/bin/env bash
# test/demo.sh: a whole cutover on two throwaway clusters and the Stack Auth emulator. Run by `make demo`.
#
#   test/demo.sh          install what is missing (test/deps.sh, as root), build and install the extension and
#                         the client, start a source and a target cluster under /tmp/pg_cutover_demo, load the
#                         Supabase-shaped fixture into the source (test/fixtures/supabase.sql and
#                         supabase_users_bulk.sql: DEMO_USERS users of every kind, default 1,000, and
#                         DEMO_READINGS sensor readings, default 1,000,000, and ids_anywhere.sql: user IDs where
#                         no foreign key points) and the empty application schema into the target
#                         (supabase_target.sql, ids_anywhere.sql), start the Stack Auth emulator, then `cutover
#                         init`, show where the plan finds user IDs by value, make the operator's three decisions
#                         on IDs embedded in text or kept on purpose, and `cutover run -j 2`; it ends with every
#                         table's verification, the Supabase IDs left (only where kept on purpose) and where
#                         everything is, and fails unless every table is verified, every user mapped and no
#                         Supabase ID left elsewhere
#   test/demo.sh stop     stop the emulator and both clusters, and remove /tmp/pg_cutover_demo (`make demo-stop`)
#
# As root the clusters run as the postgres user; otherwise as the current user, and the extension must be
# installable by that user (or installed already). Environment: PG_CONFIG (default: PostgreSQL 15's), MAKE,
# DEMO_INSTALL=0 to skip the build and use what is built and installed already, DEMO_USERS, DEMO_READINGS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=/tmp/pg_cutover_demo
MARKER=$DEMO/.pg_cutover_demo
DB=app
MAKE=${MAKE:-make}
DEMO_USERS=${DEMO_USERS:-1000}
DEMO_READINGS=${DEMO_READINGS:-1000000}

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
	if [[ -f $DEMO/emulator.pid ]]; then
		kill "$(cat "$DEMO/emulator.pid")" 2>/dev/null && echo "stopped the Stack Auth emulator" || true
	fi
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

# A TCP port on 127.0.0.1 nothing listens on, below the kernel's range of ephemeral ports: a port of that
# range can be the local end of any connection of the machine (a test's, a browser's) the moment the cluster
# binds it, and the start fails with "Address already in use".
free_port() {
	local port low=32768 high
	[[ -r /proc/sys/net/ipv4/ip_local_port_range ]] && read -r low high </proc/sys/net/ipv4/ip_local_port_range
	((low > 21000)) || low=32768
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % (low - 20000)))
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

# The Stack Auth emulator (test/stack_auth_emulator) stands in for Stack Auth, on a free port of 127.0.0.1.
EMULATOR=$root/test/stack_auth_emulator/stack_auth_emulator
CUTOVER=$root/client/cutover
[[ -x $EMULATOR && -x $CUTOVER ]] || die "client/cutover or the emulator is not built: run make first"

step "Loading the Supabase-shaped fixture into the source (database $DB): $DEMO_USERS users, $DEMO_READINGS sensor readings"
psql_on "$SOURCE_PORT" -d postgres -c "CREATE DATABASE $DB"
psql_on "$SOURCE_PORT" -d "$DB" <"$root/test/fixtures/supabase.sql" >/dev/null
psql_on "$SOURCE_PORT" -d "$DB" <"$root/test/fixtures/supabase_users_bulk.sql" >/dev/null
# The bulk file holds users 61 to 2,000 of every kind; the demo keeps the first $DEMO_USERS, and adds sensor
# readings (one a minute, the devices in turn) up to $DEMO_READINGS.
psql_on "$SOURCE_PORT" -d "$DB" <<SQL
DELETE FROM auth.users WHERE id IN (SELECT md5('user-' || n)::uuid FROM generate_series(greatest($DEMO_USERS, 60) + 1, 2000) AS n);
INSERT INTO public.sensor_readings (id, device_id, taken_at, value)
SELECT (SELECT max(id) FROM public.sensor_readings) + g, d.ids[1 + g % cardinality(d.ids)],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', round((20 + 10 * sin(g / 500.0))::numeric, 3)
FROM generate_series(1, greatest($DEMO_READINGS - (SELECT count(*) FROM public.sensor_readings), 0)) AS g,
     (SELECT array_agg(id ORDER BY id) AS ids FROM public.devices) AS d;
SQL
# public.activity: user IDs where no foreign key points (a uuid column, text in every spelling, arrays, jsonb,
# json, URLs), which the pull finds by value.
psql_on "$SOURCE_PORT" -d "$DB" <"$root/test/fixtures/ids_anywhere.sql" >/dev/null
psql_on "$SOURCE_PORT" -d "$DB" <"$root/test/fixtures/ids_anywhere_rows.sql" >/dev/null
psql_on "$SOURCE_PORT" -d "$DB" -c "ANALYZE"
# The role the client and the target read the source with: password authentication over TCP, as with a
# hosted source. BYPASSRLS, or row-level security would hide rows from it. The password never reaches argv.
SOURCE_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
psql_on "$SOURCE_PORT" -d "$DB" <<SQL
SET log_statement = none;
-- Supabase's roles of the application, which the runbook's freeze takes writes away from.
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role;
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
    UNION ALL SELECT 'public.sensor_readings', count(*) FROM public.sensor_readings
    UNION ALL SELECT 'public.activity', count(*) FROM public.activity) AS t" | sed 's/^/    /'

step "Creating the application's schema, empty, in the target (database $DB)"
psql_on "$TARGET_PORT" -d postgres -c "CREATE DATABASE $DB"
psql_on "$TARGET_PORT" -d "$DB" <"$root/test/fixtures/supabase_target.sql" >/dev/null
psql_on "$TARGET_PORT" -d "$DB" <"$root/test/fixtures/ids_anywhere.sql" >/dev/null

step "Starting the Stack Auth emulator"
STACK_KEY=ssk_demo_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
STACK_SECRET_SERVER_KEY=$STACK_KEY "$EMULATOR" --port 0 --port-file "$DEMO/emulator.port" \
	--oauth-providers google,github,microsoft >"$DEMO/emulator.out" 2>"$DEMO/emulator.log" &
echo $! >"$DEMO/emulator.pid"
for _ in $(seq 1 100); do
	[[ -s $DEMO/emulator.port ]] && break
	sleep 0.1
done
[[ -s $DEMO/emulator.port ]] || {
	cat "$DEMO/emulator.log" >&2
	die "the emulator did not start"
}
STACK_URL=http://127.0.0.1:$(cat "$DEMO/emulator.port")
echo "    $STACK_URL (its requests are logged in $DEMO/emulator.log)"

# Every setting of the client, in one file only its owner reads: `. $DEMO/demo.env`, then run cutover yourself.
(
	umask 077
	cat >"$DEMO/demo.env" <<ENV
export PGHOST=$DEMO PGPORT=$TARGET_PORT PGUSER=postgres PGDATABASE=$DB
export CUTOVER_SOURCE_URL='host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=cutover_reader password=$SOURCE_PASSWORD'
export STACK_API_URL=$STACK_URL
export STACK_PROJECT_ID=5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35
export STACK_SECRET_SERVER_KEY=$STACK_KEY
ENV
)
unset SOURCE_PASSWORD STACK_KEY
# shellcheck disable=SC1091
. "$DEMO/demo.env"

step "cutover init"
"$CUTOVER" init | sed 's/^/    /'
step "Where the user IDs are, from a sample of the source (migrate_plan): no column marked, every one found by value"
psql_on "$TARGET_PORT" -d "$DB" -At <<'SQL' | sed 's/^/    /'
SELECT p.table_name || ' ' || v FROM migrate_plan() AS p, unnest(p.user_id_values) AS v
WHERE p.table_name IN ('public.activity', 'public.sites', 'public.event_logs');
SQL
step "The operator's decisions on what the plan reports (the runbook's step 3)"
psql_on "$TARGET_PORT" -d "$DB" -At <<'SQL' | sed 's/^/    /'
-- storage paths must keep the Supabase ID their files were saved under; legacy_owner is an archive
SELECT migrate_remap_column('activity', 'avatar_url', false);
SELECT migrate_remap_column('activity', 'legacy_owner', false);
-- 'user:<id>' references are rewritten too
SELECT migrate_remap_column('activity', 'link', 'embedded');
SQL

step "cutover run -j 2   (init, users, plan, pull, verify)"
if ! "$CUTOVER" run -j 2 --log-file "$DEMO/cutover.jsonl" >"$DEMO/cutover-run.out"; then
	cat "$DEMO/cutover-run.out"
	die "cutover run failed (its log: $DEMO/cutover.jsonl)"
fi
sed -n '/^users in Supabase/,/^  retried/p' "$DEMO/cutover-run.out" | sed 's/^/    /'

step "Every table's state and its last verification"
psql_on "$TARGET_PORT" -d "$DB" -P footer=off -c "
SELECT s.table_name, s.status, v.source_rows, v.target_rows, v.ok
FROM migrate_status() AS s
LEFT JOIN LATERAL (SELECT * FROM cutover.verification AS v WHERE v.table_name = s.table_name
                   ORDER BY v.id DESC LIMIT 1) AS v ON true
ORDER BY s.table_name"
summary=$(psql_on "$TARGET_PORT" -d "$DB" -At -F ' ' -c "
SELECT (SELECT count(*) FROM migrate_status() WHERE status = 'verified'), (SELECT count(*) FROM migrate_status()),
       (SELECT count(*) FROM cutover.id_map)")
read -r verified tables mapped <<<"$summary"
users=$(psql_on "$SOURCE_PORT" -d "$DB" -At -c "SELECT count(*) FROM auth.users")
echo "    tables verified: $verified of $tables; users mapped: $mapped of $users"
((verified == tables && tables > 0)) || die "not every table verified"
((mapped == users)) || die "not every user mapped"

step "Supabase user IDs left in the target (migrate_audit_ids): only where the operator kept them"
psql_on "$TARGET_PORT" -d "$DB" -P footer=off -c "
SELECT table_name, column_name, coalesce(json_path, '') AS json_path, kind, ids, remap FROM migrate_audit_ids()"
left=$(psql_on "$TARGET_PORT" -d "$DB" -At -c "SELECT count(*) FROM migrate_audit_ids() WHERE remap <> 'off'")
((left == 0)) || die "Supabase user IDs left outside the columns kept out"

cat <<EOF

Demo ready in $(($(date +%s) - started)) s: every table verified, every user mapped. The clusters and the
emulator keep running until you stop them.

  source (the "Supabase" side):  psql -h $DEMO -p $SOURCE_PORT -U postgres $DB
  target (with pg_cutover):      psql -h $DEMO -p $TARGET_PORT -U postgres $DB
  Stack Auth emulator:           curl $STACK_URL/__emulator/stats
  the client, with its settings: . $DEMO/demo.env && $CUTOVER status
  the run's report and log:      $DEMO/cutover-run.out, $DEMO/cutover.jsonl

On the target, try:
  SELECT * FROM migrate_users() WHERE kind <> 'regular' LIMIT 10;   -- what became of the special users
  SELECT migrate_unmap(id) FROM profiles LIMIT 3;                   -- support's lookup: the Supabase ID
  SELECT details, raw_event FROM activity LIMIT 2;                  -- IDs rewritten inside jsonb and json
  UPDATE sites SET name = name || ' (edited)' WHERE id = (SELECT min(id) FROM sites);
  SELECT * FROM migrate_verify('sites');                            -- ok = f: the checksums differ

Stop everything and remove $DEMO:  make demo-stop   (or: test/demo.sh stop)
EOF
