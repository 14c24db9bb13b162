# 006_pull.pl: migrate_pull between two real clusters.
#
# The source loads test/fixtures/supabase.sql, the target test/fixtures/supabase_target.sql. Every user is
# mapped to md5('stack-' || id).
#
#   1. A source error keeps its SQLSTATE: profiles has row-level security on the source and migrator does not
#      bypass it yet (42501 on the source); the target is unchanged.
#   2. Every table pulled in plan order, verified ok; user IDs on the target are the mapped ones.
#   3. Snapshot consistency: rows inserted on the source after pg_export_snapshot() are not pulled with that
#      snapshot; they are without it.
#   4. statement_timeout, pg_cancel_backend (57014) and the source terminating its backend (57P01/08006)
#      while the source's COPY waits for a lock: the call ends within seconds, the target table keeps its
#      rows and its state.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use Time::HiRes qw(time);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $prompt = 5;
my $password = new_secret('pull-pw');
my $source = new_source('source', $password);
my $target = new_target('target');
$source->safe_psql('postgres', fixture_sql('supabase.sql'));
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));
$target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')");

# Every user mapped; the columns without foreign keys marked.
my $users = $source->safe_psql('postgres',
	q{SELECT string_agg(format('(%L::uuid, %L)', id, email), ', ' ORDER BY id) FROM auth.users});
is( $target->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) FROM (VALUES $users) AS u(id, email)"),
	'60', 'every user of the source mapped');
$target->safe_psql('postgres', q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
});

my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};

# ------------------------------------------------------------------------------------------ a source error
# profiles has RLS on the source; the pull reads with row_security = off, which migrator may not do yet.
my $r = sql_error($target, "SELECT * FROM migrate_pull('profiles')");
is($r->{sqlstate}, '42501', 'RLS on the source without BYPASSRLS: the source\'s SQLSTATE') or diag($r->{stderr});
like($r->{message}, qr/^on the source: .*row-level security/, 'the message says it comes from the source')
  or diag($r->{stderr});
ok(secret_free($r->{stderr}, $password), 'the error does not show the password');
is($target->safe_psql('postgres', q{SELECT count(*) FROM profiles}), '0', 'source error: profiles still empty');
is( $target->safe_psql('postgres',
		q{SELECT coalesce((SELECT status FROM cutover.table_state WHERE table_name = 'profiles'), 'none')}),
	'none', 'source error: no state recorded');
$source->safe_psql('postgres', 'ALTER ROLE migrator BYPASSRLS');

# ---------------------------------------------------------------------------------------- everything
my $pulled = $target->safe_psql('postgres', q{
SELECT string_agg(format('%s:%s:%s', r.table_name, r.status, r.rows), ' ' ORDER BY p.level, p.table_name)
FROM migrate_plan() AS p, LATERAL migrate_pull(p.table_name::regclass) AS r});
my %source_rows = map { split /\|/ } split /\n/, $source->safe_psql('postgres', q{
SELECT format('public.%s', relname), (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', relname), false, true, '')))[1]::text
FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'});
is(scalar(keys %source_rows), 13, 'control: 13 source tables');
my @pulled = split / /, $pulled;
is(scalar @pulled, 13, 'every table pulled once');
for my $entry (@pulled)
{
	my ($table, $status, $rows) = split /:/, $entry;
	is("$status:$rows", "loaded:$source_rows{$table}", "$table loaded with the source's row count");
}
is( $target->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM migrate_verify_all()}),
	'13/13', 'migrate_verify_all: every table ok');
is($target->safe_psql('postgres', q{SELECT string_agg(DISTINCT status, ',') FROM migrate_status()}),
	'verified', 'migrate_status: all verified');

# The user IDs on the target, compared directly with what the source holds.
my $expected_profiles = $source->safe_psql('postgres',
	q{SELECT string_agg(md5('stack-' || id)::uuid::text, ',' ORDER BY md5('stack-' || id)::uuid) FROM public.profiles});
is($target->safe_psql('postgres', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM profiles}),
	$expected_profiles, 'profiles.id: every ID is the mapped one');
my $expected_roles = $source->safe_psql('postgres',
	q{SELECT string_agg(format('%s:%s:%s', id, md5('stack-' || user_id)::uuid, md5('stack-' || granted_by)::uuid), ',' ORDER BY id) FROM public.user_roles});
is( $target->safe_psql('postgres',
		q{SELECT string_agg(format('%s:%s:%s', id, user_id, granted_by), ',' ORDER BY id) FROM user_roles}),
	$expected_roles, 'user_roles.user_id and granted_by mapped, ids kept');
my $user2 = $source->safe_psql('postgres', q{SELECT upper(md5('stack-' || md5('user-2')::uuid)::uuid::text)});
is($target->safe_psql('postgres', q{SELECT actor FROM event_logs WHERE id = 35}), $user2,
	'event_logs.actor: the upper-case user ID mapped, in upper case');
is($target->safe_psql('postgres', q{SELECT actor FROM event_logs WHERE id = 36}), 'system',
	'event_logs.actor: text that is not a UUID kept');
is( $target->safe_psql('postgres', q{
SELECT count(*) FROM members m, unnest(m.member_ids) AS e
WHERE NOT EXISTS (SELECT 1 FROM cutover.id_map WHERE target_id = e)}),
	'0', 'members.member_ids: every element is a target ID');
is( $target->safe_psql('postgres', q{
SELECT count(*) FROM profiles p JOIN cutover.id_map m ON m.source_id = p.id}),
	'0', 'no Supabase ID left in profiles');

# ---------------------------------------------------------------------------------------- snapshot
my $holder = $source->background_psql('postgres');
$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $snapshot = $holder->query_safe('SELECT pg_export_snapshot()');
like($snapshot, qr/^[0-9A-F]+-[0-9A-F]+-\d+$/, "snapshot exported: $snapshot");
$source->safe_psql('postgres', q{
INSERT INTO public.sensor_readings (id, device_id, taken_at, value)
SELECT 100000 + i, (SELECT min(id) FROM public.devices), '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute', i
FROM generate_series(1, 5) AS i});
is($source->safe_psql('postgres', 'SELECT count(*) FROM public.sensor_readings'), '3245',
	'control: 5 rows added on the source after the snapshot');
$target->safe_psql('postgres', q{SELECT migrate_reset('sensor_readings')});
is( $target->safe_psql('postgres',
		"SELECT status || ':' || rows FROM migrate_pull('sensor_readings', '$snapshot')"),
	'loaded:3240', 'pulled on the snapshot: the snapshot\'s 3240 rows');
is($target->safe_psql('postgres', 'SELECT count(*) FROM sensor_readings'), '3240',
	'the target holds the snapshot\'s rows, not the new ones');
is($target->safe_psql('postgres', 'SELECT max(id) < 100000 FROM sensor_readings'), 't',
	'none of the rows added after the snapshot');
$holder->query_safe('COMMIT');
$holder->quit;
$r = sql_error($target, "SELECT migrate_reset('sensor_readings'); SELECT * FROM migrate_pull('sensor_readings', '$snapshot')");
is($r->{sqlstate}, '22023', 'the snapshot once its transaction ended: the source\'s 22023') or diag($r->{stderr});
like($r->{message}, qr/^on the source: /, '... said to come from the source');
$target->safe_psql('postgres', q{SELECT migrate_reset('sensor_readings')});
is($target->safe_psql('postgres', "SELECT status || ':' || rows FROM migrate_pull('sensor_readings')"),
	'loaded:3245', 'without a snapshot: the 3245 rows of now');
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('sensor_readings')}), 't', 'and it verifies ok');

# ---------------------------------------------------------------------------------- cancel and terminate
# A session on the source holds an ACCESS EXCLUSIVE lock on sensor_readings: the source's COPY waits.
my $source_waiting =
  q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover' AND wait_event_type = 'Lock'};
my $locker = $source->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE public.sensor_readings IN ACCESS EXCLUSIVE MODE;');
$target->safe_psql('postgres', q{SELECT migrate_reset('sensor_readings')});
my $target_state = q{SELECT (SELECT count(*) FROM sensor_readings) || ':' ||
  (SELECT status FROM cutover.table_state WHERE table_name = 'sensor_readings')};
is($target->safe_psql('postgres', $target_state), '3245:pending', 'before: 3245 rows, pending');

$r = sql_error($target, "SET statement_timeout = '1s';\nSELECT * FROM migrate_pull('sensor_readings');");
is($r->{sqlstate}, '57014', 'statement_timeout: migrate_pull fails with 57014') or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "statement_timeout: ended within $prompt s") or diag("took $r->{elapsed} s");
is($target->safe_psql('postgres', $target_state), '3245:pending', 'statement_timeout: rows and state unchanged');
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"statement_timeout: no pg_cutover backend left on the source after $prompt s");

sub start_blocked_pull
{
	my $session = $target->background_psql('postgres', on_error_stop => 0);
	$session->query_safe('\set VERBOSITY verbose');
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/pull started/, "\\echo pull started\nSELECT * FROM migrate_pull('sensor_readings');\n");
	ok(defined poll_until($source, $source_waiting, '1', 30), 'the source\'s COPY waits for the lock');
	return ($session, $pid);
}

my ($session, $pid) = start_blocked_pull();
is($target->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'pg_cancel_backend reached the backend');
my $started = time;
my ($out) = $session->query("SELECT 'session still usable'");
my $took = time - $started;
like($session->{stderr}, qr/ERROR:\s+57014: canceling statement due to user request/,
	'pg_cancel_backend: migrate_pull fails with 57014') or diag($session->{stderr});
ok($took < $prompt, "pg_cancel_backend: ended within $prompt s") or diag("took $took s");
is($out, 'session still usable', 'pg_cancel_backend: the session goes on');
$session->quit;
is($target->safe_psql('postgres', $target_state), '3245:pending', 'pg_cancel_backend: rows and state unchanged');
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"pg_cancel_backend: no pg_cutover backend left on the source after $prompt s");

($session, $pid) = start_blocked_pull();
my $source_pid = $source->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
is($source->safe_psql('postgres', "SELECT pg_terminate_backend($source_pid)"), 't',
	'the source terminates the pull\'s backend');
$started = time;
($out) = $session->query("SELECT 'session still usable'");
$took = time - $started;
like($session->{stderr}, qr/ERROR:\s+(?:57P01|08006):[^\n]*source/,
	'source backend terminated: migrate_pull fails with 57P01 or 08006, naming the source')
  or diag($session->{stderr});
ok($took < $prompt, "source backend terminated: ended within $prompt s") or diag("took $took s");
is($out, 'session still usable', 'source backend terminated: the session goes on');
$session->quit;
is($target->safe_psql('postgres', $target_state), '3245:pending', 'source backend terminated: rows and state unchanged');

$locker->query_safe('COMMIT');
$locker->quit;
is($target->safe_psql('postgres', "SELECT status || ':' || rows FROM migrate_pull('sensor_readings')"),
	'loaded:3245', 'lock released: the pull goes through');
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('sensor_readings')}), 't', 'and verifies ok');
ok(defined poll_until($source, $source_backends, '0', $prompt), 'no pg_cutover backend on the source at the end');

# ---------------------------------------------------------------------------- a non-superuser with INSERT and DELETE
# REFERENCE.md: the role needs INSERT and DELETE on the table (and SET on session_replication_role). legacy_sessions
# is referred to by no table, so it is emptied with TRUNCATE: that must not need the TRUNCATE privilege.
$target->safe_psql('postgres', qq{
SET log_statement = 'none';
CREATE ROLE puller LOGIN;
GRANT EXECUTE ON FUNCTION migrate_pull(regclass, text) TO puller;
GRANT SET ON PARAMETER session_replication_role TO puller;
GRANT SELECT, INSERT, DELETE ON legacy_sessions TO puller;
CREATE USER MAPPING FOR puller SERVER cutover_source OPTIONS (user 'migrator', password '$password');
SELECT migrate_reset('legacy_sessions');
});
$r = run_sql($target, "SET ROLE puller;\nSELECT status || ':' || rows FROM migrate_pull('legacy_sessions');");
is($r->{sqlstate} // 'none', 'none', 'a role with INSERT and DELETE (no TRUNCATE) pulls a table emptied by TRUNCATE')
  or diag($r->{stderr});
is($target->safe_psql('postgres', q{SELECT status || ':' || rows FROM cutover.table_state WHERE table_name = 'legacy_sessions'}),
	'loaded:12', '... and the table is loaded');
$target->safe_psql('postgres', q{SELECT migrate_reset('legacy_sessions'); REVOKE DELETE ON legacy_sessions FROM puller});
$r = sql_error($target, "SET ROLE puller;\nSELECT * FROM migrate_pull('legacy_sessions');");
is($r->{sqlstate}, '42501', 'INSERT without DELETE: 42501') or diag($r->{stderr});
like($r->{message}, qr/permission denied to load table public\.legacy_sessions/, '... from migrate_pull\'s own check')
  or diag($r->{stderr});
is($target->safe_psql('postgres', q{SELECT count(*) || ':' || (SELECT status FROM cutover.table_state WHERE table_name = 'legacy_sessions') FROM legacy_sessions}),
	'12:pending', '... the table unchanged');

done_testing();
