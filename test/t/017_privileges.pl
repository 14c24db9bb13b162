# 017_privileges.pl: who may do what with pg_cutover, between two real clusters (issue 8).
#
#   A. A role without the extension owner's rights (intruder: LOGIN, nothing granted) cannot read or change
#      any table of schema cutover (SELECT, INSERT, UPDATE, DELETE, TRUNCATE: 42501), cannot execute any
#      function of the extension but the checksum aggregates (42501) and the functions that read rows back for
#      pg_cutover's own verification and audit (which refuse to work outside them: 55000), and cannot point
#      the extension elsewhere or borrow its credentials: the foreign server, the user mappings, the schema,
#      the extension (42501).
#   B. An operator granted what README.md's Privileges section lists (EXECUTE on the functions it calls,
#      USAGE on the foreign server, rights on the tables it loads, SET on session_replication_role) needs a
#      user mapping of its own (42704) holding a password (2F003) that the source asks for (2F003 when the
#      source trusts the role); it cannot move the server to another host, port or database, add options or
#      create a server (42501); with its own password it verifies and pulls, the ID map read for it as the
#      extension's owner but never readable by it; its rights are its own (no INSERT, no SET, no SELECT:
#      42501; a wrong password: 28P01, though the superuser's mapping works); EXECUTE alone does not open the
#      map or the state to it; a view or a foreign table of its own never runs with the owner's rights (42809).
#   C. A non-superuser with USAGE on postgres_fdw cannot use trust or peer authentication of the target's
#      own host to reach a database as another role: no password, or one the server did not ask for, is
#      2F003 and leaves nothing behind.
#   D. The superuser is not bound by the password rule (as with postgres_fdw and dblink).
#
# Every refusal is checked for its exact SQLSTATE, for the object it names, and for changing nothing: the
# fingerprint of the target (tables and their rows, servers, mappings, roles, grants) and of the source is the
# same before and after. The number of privilege assertions is printed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $password = new_secret('priv-pw');       # migrator, the superuser's source role
my $op_password = new_secret('priv-op');    # opsrc, the operator's source role
my $source = new_source('source', $password);
my $target = new_target('target');
my $port = $source->port;
my $superuser = $target->safe_psql('postgres', 'SELECT current_user');

# The source: the auth schema of the fixture, two users, tables; role opsrc must give its password over TCP.
my $fixture = fixture_sql('supabase.sql');
my $auth_start = index($fixture, 'CREATE SCHEMA auth;');
my $auth_ddl = substr($fixture, $auth_start, index($fixture, 'CREATE FUNCTION auth.uid()') - $auth_start);
my ($u1, $u2) = ('a1000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000002');
my ($t1, $t2) = ('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002');
$source->safe_psql('postgres', $auth_ddl . qq{
SET log_statement = 'none';
INSERT INTO auth.users (id, email) VALUES ('$u1', 'one\@example.com'), ('$u2', 'two\@example.com');
CREATE TABLE public.app_data (id integer PRIMARY KEY, label text);
INSERT INTO public.app_data VALUES (1, 'one'), (2, 'two'), (3, 'three');
CREATE TABLE public.owned (id integer PRIMARY KEY, user_id uuid REFERENCES auth.users (id));
INSERT INTO public.owned VALUES (1, '$u1'), (2, '$u2');
CREATE SCHEMA opschema;
CREATE TABLE opschema.esc (uid uuid REFERENCES auth.users (id));
INSERT INTO opschema.esc VALUES ('$u1');
ALTER ROLE migrator BYPASSRLS;
CREATE ROLE opsrc LOGIN PASSWORD '$op_password';
GRANT pg_read_all_data TO opsrc;
});
prepend_hba($source, 'host all opsrc 127.0.0.1/32 scram-sha-256');
$source->reload;

# The target: the same tables (no foreign keys to auth), the source configured by the superuser, users mapped.
$target->safe_psql('postgres', qq{
CREATE TABLE public.app_data (id integer PRIMARY KEY, label text);
CREATE TABLE public.owned (id integer PRIMARY KEY, user_id uuid);
SELECT migrate_source('} . source_conninfo($source, $password) . qq{');
SELECT migrate_map_put('$u1', '$t1'), migrate_map_put('$u2', '$t2');
CREATE ROLE intruder LOGIN;
CREATE ROLE operator LOGIN;
});

my $assertions = 0;    # privilege assertions
my @list;              # one line each: what is tried -> SQLSTATE

# A refusal: %c = role, name, sql, sqlstate (default 42501), names (strings the message or DETAIL must
# contain), db (default postgres). Nothing may change on either side.
sub refused
{
	my (%c) = @_;
	my $db = $c{db} // 'postgres';
	my $sqlstate = $c{sqlstate} // '42501';
	my $label = "$c{role}: $c{name}";
	my @before = (db_fingerprint($target, $db), db_fingerprint($source, 'postgres'));
	my $r = sql_error($target, $c{sql}, dbname => $db, extra_params => [ '-U', $c{role} ]);
	is($r->{sqlstate}, $sqlstate, "$label: SQLSTATE $sqlstate") or diag($r->{stderr});
	my $text = join "\n", grep { defined } $r->{message}, $r->{detail}, $r->{hint};
	for my $name (@{ $c{names} // [] })
	{
		ok(index($text, $name) >= 0, "$label: the error names $name") or diag($text);
	}
	ok(secret_free($r->{stderr}, $password, $op_password), "$label: no password in the error");
	is(db_fingerprint($target, $db), $before[0], "$label: nothing changed on the target");
	is(db_fingerprint($source, 'postgres'), $before[1], "$label: nothing changed on the source");
	$assertions++;
	push @list, "$label -> $sqlstate";
	return $r;
}

# Something a role may do: its output.
sub allowed
{
	my ($role, $name, $sql, $expected, %params) = @_;
	my $r = run_sql($target, $sql, extra_params => [ '-U', $role ], %params);
	is($r->{sqlstate} // 'none', 'none', "$role: $name: no error") or diag($r->{stderr});
	chomp(my $out = $r->{stdout});
	is($out, $expected, "$role: $name") if defined $expected;
	$assertions++;
	push @list, "$role: $name -> allowed";
	return $out;
}

# ================================================================================================ A. intruder
# The tables of schema cutover: not one privilege (UPDATE sets a column that is no identity column).
my %first_column = map { split /\|/ } split /\n/, $target->safe_psql('postgres', q{
SELECT DISTINCT ON (c.relname) c.relname, a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND a.attidentity = ''
WHERE c.relnamespace = 'cutover'::regnamespace AND c.relkind = 'r' ORDER BY c.relname, a.attnum});
is(join(' ', sort keys %first_column), 'id_map remap_column table_ranges table_state user_journal verification',
	'control: the tables of schema cutover');
for my $table (sort keys %first_column)
{
	my $column = $first_column{$table};
	for my $op (
		[ SELECT => "SELECT * FROM cutover.$table" ],
		[ INSERT => "INSERT INTO cutover.$table DEFAULT VALUES" ],
		[ UPDATE => "UPDATE cutover.$table SET $column = $column" ],
		[ DELETE => "DELETE FROM cutover.$table" ],
		[ TRUNCATE => "TRUNCATE cutover.$table" ])
	{
		refused(role => 'intruder', name => "$op->[0] on cutover.$table", sql => $op->[1],
			names => ["permission denied for table $table"]);
	}
}

# Every function of the extension, called with arguments of the right types: only the checksum aggregates
# (and their support functions, which take internal arguments) are open to everyone, as they only hash their
# arguments; and the aggregates and functions that read whole rows back (the unmapped ones for migrate_verify,
# migrate_verify_checksum and migrate_diff, the audit aggregate for migrate_audit_ids), as they work only
# inside those calls and only on rows of the table those read (55000 anywhere else, below): what they read
# as the extension's owner (the map, the marks) is never theirs to give out.
my %dummy = (
	regclass => q{'public.app_data'::regclass}, text => q{'x'}, 'text[]' => q{'{public}'::text[]},
	uuid => qq{'$u1'::uuid}, 'uuid[]' => q{'{}'::uuid[]}, interval => q{'1 day'::interval}, boolean => 'true',
	bigint => '1::bigint', integer => '1', oid => '0::oid');
my @functions = map { [ split /\|/, $_, -1 ] } split /\n/, $target->safe_psql('postgres', q{
SELECT p.oid::regprocedure, format('%I.%I', n.nspname, p.proname), p.proname, p.prokind,
       array_to_string(ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) AS t), ','),
       has_function_privilege('public', p.oid, 'EXECUTE')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_cutover'
ORDER BY 1});
my @open = map { $_->[2] } grep { $_->[5] eq 't' } @functions;
is( join(' ', sort @open),
	join(' ', sort((map { "migrate_checksum_agg$_" } '', qw(_combinefn _deserialfn _finalfn _serialfn _transfn)),
		(map { "migrate_bucket_agg$_" } '', qw(_finalfn _transfn)),
		(map { ("migrate_unmapped_${_}_agg", "migrate_unmapped_${_}_agg_transfn") } qw(checksum bucket)),
		qw(migrate_unmapped_row migrate_unmapped_values migrate_audit_agg migrate_audit_agg_transfn))),
	'only the checksum aggregates (whole table, buckets), the functions that read rows back for the verification'
	  . ' and the audit, and their support functions are executable by PUBLIC');
my @closed = grep { $_->[5] eq 'f' } @functions;
cmp_ok(scalar @closed, '>=', 30, scalar(@closed) . ' functions of the extension are revoked from PUBLIC');
# Among them the audit, the text-mode marks and the type classes, each tried in the loop below.
my %closed = map { $_->[0] => 1 } @closed;
is_deeply([ grep { !$closed{$_} } 'migrate_audit_ids(text[])', 'migrate_remap_column(regclass,text,text,boolean)',
		'cutover.value_class(text)', 'cutover.column_evidence(regclass,text,integer)', 'migrate_plan(text[],integer)' ],
	[], 'migrate_audit_ids, migrate_remap_column(regclass, text, text, boolean), cutover.value_class, cutover.column_evidence and migrate_plan are revoked from PUBLIC');
for my $function (@closed)
{
	my ($signature, $qualified, $name, $kind, $types) = @$function;
	my @args = map { $dummy{$_} // die "no dummy value for $_ ($signature)" } grep { $_ ne '' } split /,/, $types;
	refused(role => 'intruder', name => "EXECUTE $signature", sql => "SELECT $qualified(" . join(', ', @args) . ')',
		names => ["permission denied for function $name"]);
}
allowed('intruder', 'the checksum aggregate over its own values', q{SELECT cutover.migrate_checksum_agg(1, 'x')},
	$target->safe_psql('postgres', q{SELECT cutover.migrate_checksum_agg(1, 'x')}));
# The functions that read rows back, called by the intruder on a row of its own holding a mapped user ID:
# outside pg_cutover's own verification and audit they refuse (55000) before reading the map, and the
# superuser gets the same refusal, so it is not a privilege that stops them.
for my $call (
	[ 'migrate_unmapped_checksum_agg', 'cutover.migrate_unmapped_checksum_agg(r)', 'verification' ],
	[ 'migrate_unmapped_bucket_agg', 'cutover.migrate_unmapped_bucket_agg(1, r)', 'verification' ],
	[ 'migrate_unmapped_row', 'cutover.migrate_unmapped_row(r)', 'verification' ],
	[ 'migrate_unmapped_values', 'cutover.migrate_unmapped_values(r)', 'verification' ],
	[ 'migrate_audit_agg', q{cutover.migrate_audit_agg('(0,1)'::tid, r)}, 'audit' ])
{
	my ($name, $expression, $what) = @$call;
	my $sql = "SELECT $expression FROM (VALUES (1, '$t1'::uuid)) AS r(id, user_id)";
	my $message = $what eq 'audit' ? "$name reads rows for migrate_audit_ids only"
	  : "$name reads rows for pg_cutover's own verification only";
	refused(role => 'intruder', name => "$name outside pg_cutover's own $what", sql => $sql, sqlstate => '55000',
		names => [$message]);
	my $r = sql_error($target, $sql);
	is("$r->{sqlstate} $r->{message}", "55000 $message", "superuser: $name outside pg_cutover's own $what: 55000 too");
}

# Where the source is, and the credentials: the intruder can neither change nor read nor borrow them.
my $target_self = 'host=' . $target->host . ' port=' . $target->port . " dbname=postgres user=$superuser";
for my $case (
	[ 'ALTER SERVER cutover_source (another host)', q{ALTER SERVER cutover_source OPTIONS (SET host '127.0.0.2')},
		'must be owner of foreign server cutover_source' ],
	[ 'DROP SERVER cutover_source', 'DROP SERVER cutover_source CASCADE', 'must be owner of foreign server cutover_source' ],
	[ 'CREATE USER MAPPING for itself', q{CREATE USER MAPPING FOR intruder SERVER cutover_source OPTIONS (user 'migrator')},
		'permission denied for foreign server cutover_source' ],
	[ "ALTER USER MAPPING of $superuser",
		"ALTER USER MAPPING FOR \"$superuser\" SERVER cutover_source OPTIONS (SET password 'x')",
		'must be owner of foreign server cutover_source' ],
	[ "DROP USER MAPPING of $superuser", "DROP USER MAPPING FOR \"$superuser\" SERVER cutover_source",
		'must be owner of foreign server cutover_source' ],
	[ 'CREATE SERVER (postgres_fdw)', qq{CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.2')},
		'permission denied for foreign-data wrapper postgres_fdw' ],
	[ 'read pg_user_mapping (the passwords)', 'SELECT umoptions FROM pg_catalog.pg_user_mapping', 'permission denied for table pg_user_mapping' ],
	[ 'CREATE TABLE in schema cutover', 'CREATE TABLE cutover.planted (id integer)', 'permission denied for schema cutover' ],
	[ 'CREATE FUNCTION in schema cutover', q{CREATE FUNCTION cutover.planted() RETURNS integer LANGUAGE sql AS 'SELECT 1'},
		'permission denied for schema cutover' ],
	[ 'ALTER TABLE cutover.id_map', 'ALTER TABLE cutover.id_map ADD COLUMN planted integer', 'must be owner of table id_map' ],
	[ 'GRANT on cutover.id_map to itself', 'GRANT SELECT ON cutover.id_map TO intruder', 'permission denied for table id_map' ],
	[ 'ALTER FUNCTION migrate_pull', 'ALTER FUNCTION migrate_pull(regclass, text) SECURITY DEFINER', 'must be owner of function migrate_pull' ],
	[ 'ALTER EXTENSION pg_cutover UPDATE', 'ALTER EXTENSION pg_cutover UPDATE', 'must be owner of extension pg_cutover' ],
	[ 'DROP EXTENSION pg_cutover', 'DROP EXTENSION pg_cutover CASCADE', 'must be owner of extension pg_cutover' ],
	[ 'SET session_replication_role = replica', 'SET session_replication_role = replica',
		'permission denied to set parameter "session_replication_role"' ])
{
	refused(role => 'intruder', name => $case->[0], sql => $case->[1], names => [ $case->[2] ]);
}
allowed('intruder', 'sees that the superuser has a user mapping, but not its options',
	q{SELECT count(*) || ':' || count(umoptions) FROM pg_user_mappings WHERE srvname = 'cutover_source'}, '1:0');

# ================================================================================================ B. operator
# The grants README.md lists for a role that verifies and pulls.
$target->safe_psql('postgres', q{
GRANT EXECUTE ON FUNCTION migrate_source(text), migrate_verify(regclass), migrate_pull(regclass, text),
    migrate_plan(text[], integer), migrate_verify_checksum(regclass, bigint, text, text[]) TO operator;
GRANT USAGE ON FOREIGN SERVER cutover_source TO operator;
GRANT SELECT, INSERT, DELETE ON public.app_data, public.owned TO operator;
GRANT SET ON PARAMETER session_replication_role TO operator;
CREATE SCHEMA opschema AUTHORIZATION operator;
});
refused(role => 'operator', name => 'migrate_verify without a user mapping', sql => q{SELECT * FROM migrate_verify('app_data')},
	sqlstate => '42704', names => [ 'no user mapping for role "operator"', 'cutover_source' ]);
$target->safe_psql('postgres', q{CREATE USER MAPPING FOR operator SERVER cutover_source OPTIONS (user 'opsrc')});
refused(role => 'operator', name => 'migrate_verify with a user mapping without a password',
	sql => q{SELECT * FROM migrate_verify('app_data')}, sqlstate => '2F003',
	names => [ 'password is required to connect to the source', 'Non-superusers must give a password' ]);
$target->safe_psql('postgres', q{SET log_statement = 'none'; ALTER USER MAPPING FOR operator SERVER cutover_source OPTIONS (SET user 'postgres', ADD password 'not-asked-for')});
refused(role => 'operator', name => 'migrate_verify as a source role the source trusts (no password asked)',
	sql => q{SELECT * FROM migrate_verify('app_data')}, sqlstate => '2F003',
	names => [ 'password is required to connect to the source', 'did not ask for the password' ]);
refused(role => 'operator', name => 'migrate_pull as a source role the source trusts',
	sql => q{SELECT * FROM migrate_pull('app_data')}, sqlstate => '2F003', names => ['did not ask for the password']);
refused(role => 'operator', name => 'migrate_plan as a source role the source trusts',
	sql => q{SELECT * FROM migrate_plan()}, sqlstate => '2F003', names => ['did not ask for the password']);
$target->safe_psql('postgres', 'DROP USER MAPPING FOR operator SERVER cutover_source');

# migrate_source as the operator: the server's host, port and database are not its to change.
my $same = "host=127.0.0.1 port=$port dbname=postgres";
refused(role => 'operator', name => 'migrate_source with the same server, without a password',
	sql => "SELECT migrate_source('$same user=postgres')", sqlstate => '2F003', names => ['password is required']);
refused(role => 'operator', name => 'migrate_source with the same server, a password the source does not ask for',
	sql => "SELECT migrate_source('$same user=postgres password=not-asked-for')", sqlstate => '2F003',
	names => ['did not ask for the password']);
refused(role => 'operator', name => "migrate_source pointing at the target's own socket (trust)",
	sql => "SELECT migrate_source('$target_self password=x')", names => ['must be owner of foreign server cutover_source']);
refused(role => 'operator', name => 'migrate_source with another port',
	sql => "SELECT migrate_source('host=127.0.0.1 port=" . $target->port . " dbname=postgres user=opsrc password=$op_password')",
	names => ['must be owner of foreign server cutover_source']);
refused(role => 'operator', name => "migrate_source adding options='-c ...'",
	sql => "SELECT migrate_source('$same options=''-c search_path=x'' user=opsrc password=$op_password')",
	names => ['must be owner of foreign server cutover_source']);
refused(role => 'operator', name => 'migrate_source with a second dbname',
	sql => "SELECT migrate_source('$same dbname=template1 user=opsrc password=$op_password')",
	names => ['must be owner of foreign server cutover_source']);
refused(role => 'operator', name => 'ALTER SERVER cutover_source', sql => q{ALTER SERVER cutover_source OPTIONS (SET port '1')},
	names => ['must be owner of foreign server cutover_source']);
refused(role => 'operator', name => 'CREATE SERVER of its own', sql => q{CREATE SERVER mine FOREIGN DATA WRAPPER postgres_fdw},
	names => ['permission denied for foreign-data wrapper postgres_fdw']);
refused(role => 'operator', name => "CREATE USER MAPPING for $superuser",
	sql => "CREATE USER MAPPING FOR \"$superuser\" SERVER cutover_source OPTIONS (user 'x')",
	names => ['must be owner of foreign server cutover_source']);

# With its own password: the operator's mapping, the server unchanged; it verifies and pulls.
my $server_before = $target->safe_psql('postgres', q{SELECT srvowner::regrole || ' ' || array_to_string(srvoptions, ',') FROM pg_foreign_server});
is( allowed('operator', 'migrate_source with the same server and its own password',
		"SELECT migrate_source('$same user=opsrc password=$op_password')"),
	'source "cutover_source" configured: database "postgres" as role "opsrc" on PostgreSQL 15', '... reaching the source as opsrc');
is($target->safe_psql('postgres', q{SELECT srvowner::regrole || ' ' || array_to_string(srvoptions, ',') FROM pg_foreign_server}),
	$server_before, 'operator: the server is as the superuser left it');
like($target->safe_psql('postgres', q{SELECT array_to_string(umoptions, ',') FROM pg_user_mappings WHERE usename = 'operator'}),
	qr/^user=opsrc,password=\Q$op_password\E$/, 'operator: its own user mapping holds its password');
allowed('operator', 'migrate_verify', q{SELECT ok FROM migrate_verify('app_data')}, 'f');
allowed('operator', 'migrate_pull', q{SELECT status || ':' || rows FROM migrate_pull('app_data')}, 'loaded:3');
allowed('operator', 'migrate_verify after the pull', q{SELECT ok FROM migrate_verify('app_data')}, 't');
allowed('operator', 'migrate_pull of a table with user IDs (the ID map read for it)',
	q{SELECT status || ':' || rows FROM migrate_pull('owned')}, 'loaded:2');
is($target->safe_psql('postgres', q{SELECT string_agg(user_id::text, ',' ORDER BY id) FROM owned}), "$t1,$t2",
	'operator: the user IDs were remapped');
allowed('operator', 'migrate_verify of the remapped table', q{SELECT ok FROM migrate_verify('owned')}, 't');
allowed('operator', 'migrate_plan', q{SELECT string_agg(table_name, ',' ORDER BY table_name) FROM migrate_plan()},
	'public.app_data,public.owned');
refused(role => 'operator', name => 'SELECT cutover.id_map (read for it by the pull)', sql => 'SELECT * FROM cutover.id_map',
	names => ['permission denied for table id_map']);
refused(role => 'operator', name => 'SELECT cutover.table_state (written for it by the pull)', sql => 'SELECT * FROM cutover.table_state',
	names => ['permission denied for table table_state']);
refused(role => 'operator', name => 'UPDATE cutover.table_state', sql => q{UPDATE cutover.table_state SET status = 'verified'},
	names => ['permission denied for table table_state']);

# Its rights are its own: the owner's are not lent for the target table or the source.
$target->safe_psql('postgres', q{SELECT migrate_reset('app_data'); REVOKE INSERT ON public.app_data FROM operator});
refused(role => 'operator', name => 'migrate_pull without INSERT on the table', sql => q{SELECT * FROM migrate_pull('app_data')},
	names => ['permission denied to load table public.app_data']);
$target->safe_psql('postgres', q{GRANT INSERT ON public.app_data TO operator; REVOKE SET ON PARAMETER session_replication_role FROM operator});
refused(role => 'operator', name => 'migrate_pull without SET on session_replication_role', sql => q{SELECT * FROM migrate_pull('app_data')},
	names => ['permission denied to set parameter "session_replication_role"']);
$target->safe_psql('postgres', q{GRANT SET ON PARAMETER session_replication_role TO operator; REVOKE SELECT ON public.app_data FROM operator});
refused(role => 'operator', name => 'migrate_verify without SELECT on the table', sql => q{SELECT * FROM migrate_verify('app_data')},
	names => ['permission denied for table public.app_data']);
$target->safe_psql('postgres', q{GRANT SELECT ON public.app_data TO operator;
SET log_statement = 'none'; ALTER USER MAPPING FOR operator SERVER cutover_source OPTIONS (SET password 'wrong-password')});
refused(role => 'operator', name => 'migrate_verify with a wrong password in its mapping', sql => q{SELECT * FROM migrate_verify('app_data')},
	sqlstate => '28P01', names => [ 'authentication to the source failed', 'opsrc' ]);
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('app_data')}), 't',
	"control: the superuser's own mapping works meanwhile (not lent to the operator)");
$target->safe_psql('postgres', "SET log_statement = 'none'; ALTER USER MAPPING FOR operator SERVER cutover_source OPTIONS (SET password '$op_password')");

# EXECUTE alone does not open the map or the state: those functions run as their caller (pg_regress idmap, state).
$target->safe_psql('postgres', q{GRANT EXECUTE ON FUNCTION migrate_map_put(uuid, uuid, text), migrate_remap(uuid),
    migrate_status(), migrate_reset(regclass), migrate_users() TO operator});
for my $case (
	[ 'migrate_map_put', q{SELECT migrate_map_put('a1000000-0000-4000-8000-000000000009', 'b1000000-0000-4000-8000-000000000009')}, 'id_map' ],
	[ 'migrate_remap', "SELECT migrate_remap('$u1')", 'id_map' ],
	[ 'migrate_status', 'SELECT * FROM migrate_status()', 'table_state' ],
	[ 'migrate_reset', q{SELECT * FROM migrate_reset('app_data')}, 'table_state' ],
	[ 'migrate_users', 'SELECT * FROM migrate_users()', 'user_journal' ])
{
	refused(role => 'operator', name => "$case->[0] with EXECUTE alone", sql => $case->[1], names => ["permission denied for table $case->[2]"]);
}

# Views and foreign tables of its own never run with the owner's rights: mapping user IDs back reads the ID
# map as the owner, so they are refused there (42809), and the function a view calls never runs as superuser.
$target->safe_psql('postgres', q{SET ROLE operator;
CREATE FUNCTION opschema.escalate() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'operator' THEN
        EXECUTE 'ALTER ROLE operator SUPERUSER';
    END IF;
    RETURN NULL;
END
$$;
CREATE VIEW opschema.v AS SELECT opschema.escalate() AS uid;
CREATE VIEW opschema.esc AS SELECT opschema.escalate() AS uid;
CREATE FOREIGN TABLE opschema.ft (uid uuid) SERVER cutover_source OPTIONS (schema_name 'opschema', table_name 'esc');});
my $zeros = '0' x 64;
refused(role => 'operator', name => 'migrate_verify_checksum of its view with a user-ID column',
	sql => qq{SELECT * FROM migrate_verify_checksum('opschema.v', 1, '$zeros', ARRAY['uid'])}, sqlstate => '42809',
	names => [ 'opschema.v', 'it is a view' ]);
refused(role => 'operator', name => 'migrate_verify of its view named as a source table with user IDs',
	sql => q{SELECT * FROM migrate_verify('opschema.esc')}, sqlstate => '42809', names => [ 'opschema.esc', 'it is a view' ]);
refused(role => 'operator', name => "migrate_verify_checksum of its foreign table (the owner's user mapping)",
	sql => qq{SELECT * FROM migrate_verify_checksum('opschema.ft', 1, '$zeros', ARRAY['uid'])}, sqlstate => '42809',
	names => [ 'opschema.ft', 'it is a foreign table' ]);
is($target->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'operator'}), 'f', 'operator: still not a superuser');

# ================================================================================================ C. trust, peer
# In a database where the operator may create the server (USAGE on postgres_fdw), pointing it at the target's
# own socket, where every local connection is trusted: without a password, or with one never asked for, 2F003;
# the server and the mapping created on the way are rolled back.
$target->safe_psql('postgres', q{CREATE DATABASE fresh});
$target->safe_psql('fresh', q{CREATE EXTENSION pg_cutover CASCADE;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO operator;
GRANT EXECUTE ON FUNCTION migrate_source(text), migrate_verify(regclass) TO operator;});
refused(role => 'operator', db => 'fresh', name => "migrate_source to the target's own socket as $superuser, no password",
	sql => "SELECT migrate_source('$target_self')", sqlstate => '2F003', names => ['password is required']);
refused(role => 'operator', db => 'fresh', name => "migrate_source to the target's own socket as $superuser, a password never asked for",
	sql => "SELECT migrate_source('$target_self password=x')", sqlstate => '2F003', names => ['did not ask for the password']);
refused(role => 'operator', db => 'fresh', name => 'migrate_source to the source over TCP as a trusted role',
	sql => "SELECT migrate_source('$same user=postgres password=x')", sqlstate => '2F003', names => ['did not ask for the password']);
is($target->safe_psql('fresh', 'SELECT count(*) FROM pg_foreign_server'), '0', 'fresh: no server was left behind');

# ================================================================================================ D. superuser
# The password rule binds non-superusers only, as in postgres_fdw and dblink: the superuser may use trust.
is( allowed($superuser, 'migrate_source to a trusting source without a password',
		"SELECT migrate_source('$same user=postgres')", undef),
	'source "cutover_source" configured: database "postgres" as role "postgres" on PostgreSQL 15',
	'superuser: configured without a password');
allowed($superuser, 'migrate_verify through it', q{SELECT ok FROM migrate_verify('app_data')}, 't');
is($target->safe_psql('postgres', q{SELECT extowner::regrole FROM pg_extension WHERE extname = 'pg_cutover'}), $superuser,
	'the extension belongs to the superuser who created it (the owner whose rights the pull and verify borrow)');

note("$assertions privilege assertions:");
note("  $_") for @list;
done_testing();
