# 004_plan_and_mapping.pl: migrate_plan, migrate_preflight and mapping-aware migrate_verify on the
# Supabase-shaped fixture, between two real clusters.
#
# The source loads test/fixtures/supabase.sql; the target loads test/fixtures/supabase_target.sql (the same
# public tables, empty, without auth and without the foreign keys to auth.users) and the extension.
#
#   1. migrate_plan: every table once; every foreign key between public tables (read from the source's
#      pg_constraint here, not from the plan) goes from a higher level to a lower one, or lies in the cycle
#      the plan names; the cycles by name; exactly the user-ID columns of the fixture's header (with foreign
#      keys to auth.users, through profiles, and after marks through legacy_accounts); marks added and
#      removed; bad marks refused; row estimates; pending state.
#   2. migrate_preflight: nothing on matching schemas, then one change at a time on the target (each rolled
#      back): exactly one row naming table, column and both types, with its severity.
#   3. Mapping-aware migrate_verify: the target loaded with pg_dump --data-only from the source, then every
#      user-ID column rewritten with migrate_remap (no migrate_pull yet): all ok. One wrong mapping in each
#      kind of column (uuid, uuid through profiles, text with the upper-cased row, text[], uuid[]), an
#      unmapped value, a mapping removed from the map, a column kept out (only that column's table: the columns
#      reached through its foreign keys are still mapped back by value), a Supabase ID left on the target in
#      place of its Stack Auth ID: that table is not ok.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $password = new_secret('plan-pw');
my $source = new_source('source', $password);
my $target = new_target('target');

$source->safe_psql('postgres', fixture_sql('supabase.sql'));
# profiles and sites have row-level security on the source: migrate_verify runs with row_security = off and
# needs a role that bypasses it (README, Troubleshooting; Supabase's postgres role has BYPASSRLS).
$source->safe_psql('postgres', 'ALTER ROLE migrator BYPASSRLS');
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));

is( $target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')"),
	'source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 15',
	'migrate_source: the fixture database as migrator');

# ------------------------------------------------------------------------------------------------ helpers
# The last line psql prints for a script (-At: earlier statements of the script print their own lines).
sub last_line
{
	my ($node, $sql) = @_;
	my @lines = split /\n/, $node->safe_psql('postgres', $sql);
	return $lines[-1] // '';
}

# migrate_plan's rows (hashes with arrays), in its order; $before and $after surround the call in one
# session (a transaction with marks that is rolled back, for example).
sub plan_rows
{
	my (%opts) = @_;
	my $schemas = $opts{schemas} // '{public}';
	my $json = last_line($target,
		($opts{before} // '')
		  . "\nSELECT coalesce(json_agg(p)::jsonb, '[]') FROM migrate_plan('$schemas') AS p;\n"
		  . ($opts{after} // ''));
	return @{ decode_json($json) };
}

# 'schema.table.column' => reason, for every user-ID column of a plan.
sub user_ids_of
{
	my %found;
	for my $row (@_)
	{
		for my $entry (@{ $row->{user_id_columns} })
		{
			my ($column, $reason) = $entry =~ /^(.*?) -> (.*)$/ or die "not 'column -> reason': $entry";
			$found{"$row->{table_name}.$column"} = $reason;
		}
	}
	return \%found;
}

# table name => row of the plan.
sub by_table { return { map { $_->{table_name} => $_ } @_ } }

# ------------------------------------------------------------------------------------------ migrate_plan
my @public_tables = split /\n/, $source->safe_psql('postgres', q{
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1});
is(scalar @public_tables, 13, 'control: the fixture has 13 tables in public');

is($target->safe_psql('postgres', 'SELECT count(*) FROM migrate_status()'), '0',
	'before the plan, migrate_status knows no table');

my @plan = plan_rows();
my %plan = %{ by_table(@plan) };
is_deeply([ sort map { $_->{table_name} } @plan ], \@public_tables, 'migrate_plan lists every table of public once');
is_deeply(
	[ map { "$_->{level}|$_->{table_name}" } @plan ],
	[ sort { my @x = split /\|/, $a; my @y = split /\|/, $b; $x[0] <=> $y[0] || $x[1] cmp $y[1] }
		map { "$_->{level}|$_->{table_name}" } @plan ],
	'rows come ordered by level, then by name');

# Foreign keys between tables of public, as the source's catalog has them.
my @keys = map { [ split /\|/ ] } split /\n/, $source->safe_psql('postgres', q{
SELECT con.conname, format('%I.%I', fn.nspname, f.relname), format('%I.%I', tn.nspname, t.relname)
FROM pg_constraint con
JOIN pg_class f ON f.oid = con.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE con.contype = 'f' AND fn.nspname = 'public' AND tn.nspname = 'public'
ORDER BY con.conname});
is(scalar @keys, 14, 'control: the source has 14 foreign keys between tables of public');
for my $key (@keys)
{
	my ($name, $from, $to) = @$key;
	my ($f, $t) = ($plan{$from}, $plan{$to});
	if (grep { $_ eq $name } @{ $f->{cycle} })
	{
		is($f->{level}, $t->{level}, "$name: in the cycle of $from, which shares the level of $to");
	}
	else
	{
		cmp_ok($f->{level}, '>', $t->{level}, "$name: $from (level $f->{level}) after $to (level $t->{level})");
	}
}

my %cycles = map { $_->{table_name} => join(',', @{ $_->{cycle} }) } @plan;
is_deeply(
	\%cycles,
	{
		(map { $_ => '' } @public_tables),
		'public.organizations' => 'organizations_owner_id_fkey,profiles_org_id_fkey',
		'public.profiles' => 'organizations_owner_id_fkey,profiles_org_id_fkey',
		'public.areas' => 'areas_parent_id_fkey'
	},
	'cycles: organizations/profiles on both tables, the self-reference of areas, none elsewhere');
like($plan{'public.organizations'}{load}, qr/in a cycle with public\.profiles .*unchecked/,
	'organizations: loaded in a cycle with profiles, its keys unchecked');
like($plan{'public.areas'}{load}, qr/references itself through areas_parent_id_fkey.*unchecked/,
	'areas: loaded with its self-reference unchecked');
is_deeply([ grep { defined $_->{problem} } @plan ], [], 'no table has a problem');

my %fk_user_ids = (
	'public.profiles.id' => 'auth.users.id (profiles_id_fkey)',
	'public.user_roles.user_id' => 'auth.users.id (user_roles_user_id_fkey)',
	'public.user_roles.granted_by' => 'auth.users.id (user_roles_granted_by_fkey)',
	'public.alerts.acknowledged_by' => 'auth.users.id (alerts_acknowledged_by_fkey)',
	'public.organizations.owner_id' => 'public.profiles.id (organizations_owner_id_fkey)',
	'public.sites.created_by' => 'public.profiles.id (sites_created_by_fkey)',
	'public.devices.installed_by' => 'public.profiles.id (devices_installed_by_fkey)');
is_deeply(user_ids_of(@plan), \%fk_user_ids,
	'user-ID columns: those with foreign keys to auth.users and those reached through profiles, no others');

# Row estimates: the source's reltuples (the fixture ends with ANALYZE).
my %reltuples = map { split /\|/ } split /\n/, $source->safe_psql('postgres', q{
SELECT format('%I.%I', n.nspname, c.relname), c.reltuples::bigint FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'});
is_deeply({ map { $_->{table_name} => $_->{row_estimate} } @plan }, \%reltuples,
	'row_estimate is the source\'s reltuples for every table');
is($plan{'public.sensor_readings'}{row_estimate}, 3240, 'sensor_readings: 3240 rows estimated');

is( $target->safe_psql('postgres', q{SELECT string_agg(table_name || ':' || status, ',' ORDER BY table_name) FROM migrate_status()}),
	join(',', map { "$_:pending" } @public_tables),
	'the plan gave every planned table a pending state');

# The whole auth schema too: auth.users.id holds the user IDs, auth.identities.user_id refers to it, and the
# cycle of organizations and profiles now comes after auth.users.
my @with_auth = plan_rows(schemas => '{public,auth}');
my %with_auth = %{ by_table(@with_auth) };
is(scalar @with_auth, 15, 'migrate_plan of public and auth: 15 tables');
is_deeply(
	user_ids_of(@with_auth),
	{
		%fk_user_ids,
		'auth.users.id' => 'holds the user IDs',
		'auth.identities.user_id' => 'auth.users.id (identities_user_id_fkey)'
	},
	'public and auth: auth.users.id and auth.identities.user_id as well');
cmp_ok($with_auth{'public.profiles'}{level}, '>', $with_auth{'auth.users'}{level},
	'public and auth: profiles after auth.users');
is($with_auth{'public.organizations'}{level}, $with_auth{'public.profiles'}{level},
	'public and auth: organizations shares the level of profiles');

my $r = sql_error($target, q{SELECT * FROM migrate_plan('{no_such_schema}')});
is("$r->{sqlstate} $r->{message}", '3F000 schema "no_such_schema" does not exist on the source',
	'a schema the source does not have: 3F000 naming it');
$r = sql_error($target, q{SELECT * FROM migrate_plan(ARRAY['public', NULL])});
is($r->{sqlstate}, '22004', 'a NULL schema name: 22004') or diag($r->{stderr});

# ------------------------------------------------------------------------------------ marks (target side)
is( $target->safe_psql('postgres', q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
}),
	"public.event_logs.actor holds user IDs only\npublic.event_logs.actor_ids holds user IDs only\npublic.members.member_ids holds user IDs only",
	'event_logs.actor, event_logs.actor_ids and members.member_ids marked');
my %marked_user_ids = (
	%fk_user_ids,
	'public.event_logs.actor' => 'marked by hand',
	'public.event_logs.actor_ids' => 'marked by hand',
	'public.members.member_ids' => 'marked by hand');
is_deeply(user_ids_of(plan_rows()), \%marked_user_ids,
	'marked columns join the user-ID columns; legacy_sessions.user_ref not yet');

$target->safe_psql('postgres', q{SELECT migrate_remap_column('legacy_accounts', 'user_ref')});
%marked_user_ids = (
	%marked_user_ids,
	'public.legacy_accounts.user_ref' => 'marked by hand',
	'public.legacy_sessions.user_ref' => 'public.legacy_accounts.user_ref (legacy_sessions_user_ref_fkey)');
@plan = plan_rows();
is_deeply(user_ids_of(@plan), \%marked_user_ids,
	'legacy_accounts.user_ref marked: legacy_sessions.user_ref found through its foreign key');
is_deeply([ grep { defined $_->{problem} } @plan ], [], 'with the marks, still no table has a problem');

# profiles.id marked false: out, and the columns reached only through it too (they are no user-ID columns any
# more; their values are still rewritten and mapped back by value, which the verification below asserts).
my %without_profiles = %marked_user_ids;
delete @without_profiles{qw(public.profiles.id public.organizations.owner_id public.sites.created_by public.devices.installed_by)};
is_deeply(
	user_ids_of(plan_rows(
		before => "BEGIN;\nSELECT migrate_remap_column('profiles', 'id', false);",
		after => 'ROLLBACK;')),
	\%without_profiles,
	'profiles.id marked false: profiles.id, organizations.owner_id, sites.created_by, devices.installed_by out');
is_deeply(user_ids_of(plan_rows()), \%marked_user_ids, 'the mark rolled back: all of them again');

# A mark on a column the source does not have: the table's problem says so.
@plan = plan_rows(
	before => "BEGIN;\nALTER TABLE event_logs ADD COLUMN reviewer uuid;\nSELECT migrate_remap_column('event_logs', 'reviewer');",
	after => 'ROLLBACK;');
%plan = %{ by_table(@plan) };
is($plan{'public.event_logs'}{problem}, 'column reviewer is marked as holding user IDs but does not exist on the source',
	'a column marked on the target only: problem on event_logs');
is_deeply([ map { $_->{table_name} } grep { defined $_->{problem} } @plan ], ['public.event_logs'],
	'... and on no other table');

# Refused marks: a type that cannot hold user IDs (42804), an unknown column (42703); nothing recorded.
my $marks = q{SELECT string_agg(format('%s.%s.%s=%s', table_schema, table_name, column_name, mode), ',' ORDER BY 1)
FROM cutover.remap_column};
my $marks_before = $target->safe_psql('postgres', $marks);
for my $bad (
	[ 'event_logs', 'payload', '42804', 'jsonb' ],
	[ 'members', 'org_id', '42804', 'bigint' ],
	[ 'event_logs', 'actor_id', '42703', 'no such column' ],
	[ 'event_logs', 'Actor', '42703', 'no such column (another case)' ])
{
	my ($table, $column, $sqlstate, $what) = @$bad;
	$r = sql_error($target, "SELECT migrate_remap_column('$table', '$column')");
	is($r->{sqlstate}, $sqlstate, "migrate_remap_column($table.$column), $what: $sqlstate") or diag($r->{stderr});
	like($r->{message}, qr/\Q$column\E/, "migrate_remap_column($table.$column): the message names the column");
}
is($target->safe_psql('postgres', $marks), $marks_before, 'the refused marks recorded nothing');
is_deeply(user_ids_of(plan_rows()), \%marked_user_ids, 'the plan is unchanged by the refused marks');

# ------------------------------------------------------------------------------------- migrate_preflight
# Rows of migrate_preflight after $change, rolled back; each row [table, column, source type, target type,
# severity] (undef for NULL) plus its problem.
sub preflight
{
	my ($change) = @_;
	my $json = last_line($target,
		"BEGIN;\n" . ($change // '')
		  . "\nSELECT coalesce(json_agg(json_build_array(table_name, column_name, source_type, target_type, severity, problem))::jsonb, '[]')"
		  . " FROM migrate_preflight();\nROLLBACK;");
	return @{ decode_json($json) };
}

sub preflight_is
{
	my ($change, $expected, $problem_like, $name) = @_;
	my @rows = preflight($change);
	is(scalar @rows, 1, "preflight, $name: one row") or diag(explain \@rows);
	my $row = $rows[0] // [];
	is_deeply([ @$row[ 0 .. 4 ] ], $expected, "preflight, $name: table, column, both types, severity");
	like($row->[5] // '', $problem_like, "preflight, $name: the problem says what");
}

is_deeply([ preflight() ], [], 'preflight: the fixture\'s source and target schemas match: no rows');

preflight_is('DROP TABLE legacy_sessions;',
	[ 'public.legacy_sessions', undef, 'table', undef, 'error' ], qr/only on the source/, 'a table missing');
preflight_is('CREATE TABLE public.audit_extra (id integer);',
	[ 'public.audit_extra', undef, undef, 'table', 'warning' ], qr/only on the target/, 'an extra table');
preflight_is('ALTER TABLE profiles DROP COLUMN website;',
	[ 'public.profiles', 'website', 'text', undef, 'error' ], qr/only on the source/, 'a column missing');
preflight_is('ALTER TABLE sites ADD COLUMN region text NOT NULL;',
	[ 'public.sites', 'region', undef, 'text', 'error' ], qr/only on the target, NOT NULL without a default/,
	'an extra NOT NULL column');
preflight_is('ALTER TABLE sites ADD COLUMN region text;',
	[ 'public.sites', 'region', undef, 'text', 'warning' ], qr/only on the target/, 'an extra nullable column');
preflight_is(q{ALTER TABLE sites ADD COLUMN region text NOT NULL DEFAULT 'eu';},
	[ 'public.sites', 'region', undef, 'text', 'warning' ], qr/^column only on the target$/,
	'an extra NOT NULL column with a default');
preflight_is('ALTER TABLE legacy_accounts ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;',
	[ 'public.legacy_accounts', 'seq', undef, 'bigint', 'warning' ], qr/^column only on the target$/,
	'an extra identity column');
# (units.serial cannot change its type: the generated column serial_key uses it; units.name can.)
preflight_is('ALTER TABLE units ALTER COLUMN name TYPE varchar(20);',
	[ 'public.units', 'name', 'text', 'character varying(20)', 'error' ], qr/types differ/, 'a type change');
preflight_is('ALTER TABLE devices ALTER COLUMN unit_id TYPE bigint;',
	[ 'public.devices', 'unit_id', 'integer', 'bigint', 'error' ], qr/types differ/, 'integer widened to bigint');
preflight_is('ALTER TABLE profiles ALTER COLUMN username SET NOT NULL;',
	[ 'public.profiles', 'username', 'text', 'text', 'error' ], qr/NOT NULL on the target only/, 'a NOT NULL added');
preflight_is('ALTER TABLE alerts ALTER COLUMN message DROP NOT NULL;',
	[ 'public.alerts', 'message', 'text', 'text', 'warning' ], qr/NOT NULL on the source only/, 'a NOT NULL dropped');
preflight_is('ALTER TABLE units ALTER COLUMN serial_key DROP EXPRESSION;',
	[ 'public.units', 'serial_key', 'text', 'text', 'warning' ], qr/generated on the source only/,
	'a generated column plain on the target');
preflight_is(
	"ALTER TABLE profiles DROP COLUMN website;\n"
	  . "ALTER TABLE profiles ADD COLUMN website text GENERATED ALWAYS AS ('https://example.com/' || username) STORED;",
	[ 'public.profiles', 'website', 'text', 'text', 'error' ], qr/generated on the target only/,
	'a column generated on the target only');
is_deeply([ preflight() ], [], 'preflight: every change rolled back, no rows again');

$r = sql_error($target, q{SELECT * FROM migrate_preflight(ARRAY[NULL])});
is($r->{sqlstate}, '22004', 'preflight: a NULL schema name: 22004') or diag($r->{stderr});

# ------------------------------------------------------------------------ load, remap, mapping-aware verify
# No migrate_pull yet: the data as pg_dump --data-only gives it (triggers disabled, so the cycle and the
# self-reference load in any order), then every user-ID column rewritten with migrate_remap.
my ($dump, $dump_err) = ('', '');
IPC::Run::run(
	[
		'pg_dump', '--data-only', '--schema=public', '--disable-triggers',
		'-h', $source->host, '-p', $source->port, '-d', 'postgres'
	],
	'>', \$dump, '2>', \$dump_err)
  or die "pg_dump failed: $dump_err";
$target->safe_psql('postgres', $dump);
is( $target->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM profiles) || '|' || (SELECT count(*) FROM sensor_readings) || '|' || (SELECT count(*) FROM event_logs)}),
	'55|3240|40', 'the target holds the source\'s rows');

# The map: every Supabase user to md5('stack-' || id).
my $puts = $source->safe_psql('postgres', q{
SELECT string_agg(format('SELECT migrate_map_put(%L, md5(%L)::uuid, %L);', id, 'stack-' || id, email), E'\n' ORDER BY id)
FROM auth.users});
$target->safe_psql('postgres', $puts);
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '60', 'the map holds the 60 users');

# Before the rewrite the target holds the Supabase IDs themselves. They are no target IDs, so they cannot map
# back: a table whose user IDs were never rewritten must not pass.
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('user_roles')}), 'f',
	'before the rewrite: user_roles still holds Supabase IDs: not ok');

# The user IDs rewritten as the pull would (test/fixtures/supabase_remap.sql).
$target->safe_psql('postgres',
	"SET session_replication_role = replica;\n" . slurp_file("$FindBin::RealBin/../fixtures/supabase_remap.sql"));

# Controls: the rewrite did what the fixture's header says.
is( $target->safe_psql('postgres', q{
SELECT string_agg(coalesce(actor, 'NULL') || '|' || cardinality(actor_ids), ',' ORDER BY id) FROM event_logs WHERE id IN (35, 36, 37)}),
	join(',',
		uc($target->safe_psql('postgres', q{SELECT md5('stack-' || md5('user-2')::uuid)::uuid})) . '|1',
		'system|0', 'NULL|2'),
	'control: event_logs 35 upper-cased target ID, 36 system with {}, 37 NULL');
is( $target->safe_psql('postgres', q{
SELECT count(*) FROM profiles p WHERE NOT EXISTS (SELECT FROM cutover.id_map m WHERE m.target_id = p.id)}),
	'0', 'control: every profile has a Stack Auth ID');
is( $target->safe_psql('postgres', q{SELECT coalesce(cardinality(member_ids)::text, 'NULL') FROM members ORDER BY id}),
	"5\n3\n5\n4\n3\n5\n0\nNULL", 'control: members keep their arrays\' lengths, the empty one and the NULL one');

my @verified = split /\n/, $target->safe_psql('postgres',
	'SELECT table_name, source_rows = target_rows, ok FROM migrate_verify_all() ORDER BY table_name');
is_deeply(\@verified, [ map { "$_|t|t" } @public_tables ],
	'remapped target: migrate_verify_all says ok for every table');
is( $target->safe_psql('postgres', q{SELECT string_agg(DISTINCT status, ',') FROM migrate_status() WHERE table_name LIKE 'public.%'}),
	'verified', 'every table verified in migrate_status');
plan_rows();
is( $target->safe_psql('postgres', q{SELECT string_agg(DISTINCT status, ',') FROM migrate_status() WHERE table_name LIKE 'public.%'}),
	'verified', 'planning again leaves verified tables verified');

# ok of migrate_verify for each table after $change, all in one transaction rolled back.
sub verify_after
{
	my ($change, @tables) = @_;
	my $checks = join "\n", map { "SELECT ok FROM migrate_verify('$_');" } @tables;
	my @lines = split /\n/, $target->safe_psql('postgres',
		"BEGIN;\nSET LOCAL session_replication_role = replica;\n$change\n$checks\nROLLBACK;");
	return join ',', @lines[ -@tables .. -1 ];
}

# The Stack Auth ID of fixture user n.
sub target_id { my ($n) = @_; return "(SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-$n')::uuid)" }
my $t57 = target_id(57);    # user 57: none of the rows changed below holds it (else a change would be a no-op)
my $unmapped = q{'00000000-0000-4000-8000-0000000c0ffe'::uuid};

is(verify_after('UPDATE user_roles SET user_id = user_id;', 'user_roles'), 't',
	'control: a change that keeps the values verifies ok inside the transaction');

# One wrong mapping in each kind of column.
is(verify_after("UPDATE user_roles SET user_id = $t57 WHERE id = (SELECT min(id) FROM user_roles);", 'user_roles'),
	'f', 'user_roles.user_id (uuid, foreign key to auth.users): one row mapped to another user: not ok');
is(verify_after("UPDATE user_roles SET granted_by = $t57 WHERE id = (SELECT min(id) FROM user_roles WHERE granted_by IS NULL);",
		'user_roles'),
	'f', 'user_roles.granted_by: a NULL replaced by a mapped user: not ok');
is( verify_after(
		"UPDATE sites SET created_by = " . target_id(1) . " WHERE id = (SELECT min(id) FROM sites WHERE created_by <> "
		  . target_id(1) . ");", 'sites'),
	'f', 'sites.created_by (through profiles): one row mapped to another user: not ok');
is( verify_after(
		"UPDATE devices SET installed_by = " . target_id(1) . " WHERE id = (SELECT min(id) FROM devices WHERE installed_by <> "
		  . target_id(1) . ");", 'devices'),
	'f', 'devices.installed_by (through profiles): one row mapped to another user: not ok');
is(verify_after("UPDATE organizations SET owner_id = $t57 WHERE owner_id IS NOT NULL AND id = (SELECT min(id) FROM organizations WHERE owner_id IS NOT NULL);", 'organizations'),
	'f', 'organizations.owner_id (through profiles, in the cycle): one row mapped to another user: not ok');
is(verify_after("UPDATE event_logs SET actor = upper(" . target_id(3) . "::text) WHERE id = 35;", 'event_logs'),
	'f', 'event_logs.actor (text): the upper-cased row mapped to another user: not ok');
is(verify_after("UPDATE event_logs SET actor = lower(actor) WHERE id = 35;", 'event_logs'),
	'f', 'event_logs.actor: the upper-cased row in lower case (right user, wrong case): not ok');
is(verify_after("UPDATE event_logs SET actor = ${t57}::text WHERE id = 1;", 'event_logs'),
	'f', 'event_logs.actor: a lower-case row mapped to another user: not ok');
is(verify_after("UPDATE event_logs SET actor = 'System' WHERE id = 36;", 'event_logs'),
	'f', 'event_logs.actor: the non-UUID value changed: not ok');
is(verify_after("UPDATE event_logs SET actor_ids[2] = ${t57}::text WHERE id = 34;", 'event_logs'),
	'f', 'event_logs.actor_ids (text[]): one element mapped to another user: not ok');
is( verify_after("UPDATE event_logs SET actor_ids = ARRAY[actor_ids[2], actor_ids[1], actor_ids[3], actor_ids[4]] WHERE id = 34;",
		'event_logs'),
	'f', 'event_logs.actor_ids: two elements swapped (order kept): not ok');
is(verify_after("UPDATE members SET member_ids[1] = $t57 WHERE id = 1;", 'members'),
	'f', 'members.member_ids (uuid[]): one element mapped to another user: not ok');
is(verify_after("UPDATE members SET member_ids = '{}' WHERE member_ids IS NULL;", 'members'),
	'f', 'members.member_ids: NULL became an empty array: not ok');
is(verify_after("UPDATE legacy_sessions SET user_ref = ${t57}::text WHERE id = 1;", 'legacy_sessions'),
	'f', 'legacy_sessions.user_ref (text, through the marked legacy_accounts): one row mapped to another user: not ok');

# An unmapped value on the target stays as it is: it matches nothing on the source.
is(verify_after("UPDATE user_roles SET user_id = $unmapped WHERE id = (SELECT min(id) FROM user_roles);", 'user_roles'),
	'f', 'user_roles.user_id: a UUID that is not in the map: not ok');
is(verify_after("UPDATE members SET member_ids[2] = $unmapped WHERE id = 2;", 'members'),
	'f', 'members.member_ids: an element that is not in the map: not ok');
is(verify_after("UPDATE event_logs SET actor = ${unmapped}::text WHERE id = 1;", 'event_logs'),
	'f', 'event_logs.actor: a UUID text that is not in the map: not ok');
# A Supabase ID left in place of its Stack Auth ID (a row the rewrite missed).
is( verify_after(
		"UPDATE user_roles SET user_id = migrate_unmap(user_id) WHERE id = (SELECT min(id) FROM user_roles);",
		'user_roles'),
	'f', 'user_roles.user_id: one row left with its Supabase ID: not ok');
# A pair removed from the map: the target IDs of that user map back to nothing.
# (User 2 has a profile, created site 2, installed devices 1, 8 and 36, has roles, is in event 35, team 2,
# legacy_accounts and a legacy session; owns no organization and acknowledged no alert.)
is( verify_after("DELETE FROM cutover.id_map WHERE source_id = md5('user-2')::uuid;",
		qw(profiles user_roles sites devices event_logs members legacy_accounts legacy_sessions organizations alerts units)),
	'f,f,f,f,f,f,f,f,t,t,t',
	'user 2 removed from the map: the tables holding user 2 are not ok, the others still are');

# A column kept out of remapping (false): its target IDs are hashed as they are, so they match nothing on the
# source.
is(verify_after("SELECT migrate_remap_column('event_logs', 'actor', false);", 'event_logs'),
	'f', 'event_logs.actor unmarked: not ok');
is(verify_after("SELECT migrate_remap_column('event_logs', 'actor_ids', false);", 'event_logs'),
	'f', 'event_logs.actor_ids unmarked: not ok');
is(verify_after("SELECT migrate_remap_column('members', 'member_ids', false);", 'members'),
	'f', 'members.member_ids unmarked: not ok');
# Keeping a column out stops only that column from being mapped back: the columns that were user-ID columns
# through its foreign keys (and leave the plan's user_id_columns with it, above) still hold user IDs, which are
# mapped back by value, so their tables still verify ok. Only the table of the column kept out fails.
is( verify_after("SELECT migrate_remap_column('profiles', 'id', false);",
		'profiles', 'organizations', 'sites', 'devices', 'user_roles'),
	'f,t,t,t,t',
	'profiles.id marked false: profiles not ok; organizations, sites, devices (mapped back by value) and user_roles still ok');
is( verify_after("SELECT migrate_remap_column('legacy_accounts', 'user_ref', false);", 'legacy_accounts', 'legacy_sessions'),
	'f,t', 'legacy_accounts.user_ref unmarked: legacy_accounts not ok, legacy_sessions (mapped back by value) still ok');

# Nothing above was kept.
@verified = split /\n/, $target->safe_psql('postgres', 'SELECT table_name, ok FROM migrate_verify_all() ORDER BY table_name');
is_deeply(\@verified, [ map { "$_|t" } @public_tables ], 'all rolled back: every table ok again');

done_testing();
