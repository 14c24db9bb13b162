# 003_cancel.pl: cancelling migrate_verify stops the work on both clusters, promptly.
#
# A session on the source holds an ACCESS EXCLUSIVE lock on locked_table, so the source's checksum query waits
# for as long as the lock is held. statement_timeout, pg_cancel_backend and pg_terminate_backend on the target
# must each end the call within seconds and leave no pg_cutover backend behind on the source. A source that
# accepts the TCP connection and then says nothing must not hold migrate_source past statement_timeout either.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use IO::Socket::INET;
use Time::HiRes qw(time);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Seconds within which a cancelled call must end on the target, and its source backend go away.
my $prompt = 5;

my $password = new_secret('cancel-pw');
my $source = new_source('source', $password);
my $target = new_target('target');
my $table = q{
CREATE TABLE locked_table (id integer, note text);
INSERT INTO locked_table SELECT i, 'note ' || i FROM generate_series(1, 1000) AS i;
};
$source->safe_psql('postgres', $table);
$target->safe_psql('postgres', $table);
$target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')");
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('locked_table')"), 't',
	'locked_table: ok while nobody holds a lock');

my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};
my $source_waiting =
  q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover' AND wait_event_type = 'Lock'};
is($source->safe_psql('postgres', $source_backends), '0', 'no pg_cutover backend on the source between calls');

my $locker = $source->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE locked_table IN ACCESS EXCLUSIVE MODE;');

# ---------------------------------------------------------------------------------------- statement_timeout
my $r = sql_error($target, "SET statement_timeout = '1s';\nSELECT * FROM migrate_verify('locked_table');");
is($r->{sqlstate}, '57014', 'statement_timeout: migrate_verify fails with 57014') or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "statement_timeout of 1 s: the call ended within $prompt s")
  or diag("took $r->{elapsed} s");
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"statement_timeout: no pg_cutover backend left on the source after $prompt s");

# -------------------------------------------------------------------------------- verifying in background
# Starts migrate_verify('locked_table') in a background session of the target; returns the session and the
# pid of its backend once the source's checksum query is waiting for the lock.
sub start_blocked_verify
{
	my ($setup) = @_;
	my $session = $target->background_psql('postgres', on_error_stop => 0);
	$session->query_safe('\set VERBOSITY verbose');
	$session->query_safe($setup) if defined $setup;
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/verify started/,
		"\\echo verify started\nSELECT * FROM migrate_verify('locked_table');\n");
	my $waited = poll_until($source, $source_waiting, '1', 30);
	ok(defined $waited, 'the source checksum query waits for the lock') or diag('it never waited');
	return ($session, $pid);
}

# ----------------------------------------------------------------------------------------- pg_cancel_backend
my ($session, $pid) = start_blocked_verify();
cancel_ok($target, $source, $session, $pid, 'migrate_verify', $prompt, $source_backends);
my ($started, $out, $took);
$session->quit;

# ------------------------------------------------------------------------------------- pg_terminate_backend
# The backend exits (FATAL) instead of unwinding: its query on the source must be cancelled all the same, or
# it waits for the lock as long as the lock is held, and then reads the whole table for nobody.
($session, $pid) = start_blocked_verify();
is($target->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't', 'pg_terminate_backend reached the backend');
ok(defined poll_until($target, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid", '0', $prompt),
	"pg_terminate_backend: the target backend exited within $prompt s");
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"pg_terminate_backend: no pg_cutover backend left on the source after $prompt s")
  or diag('still on the source: ' . $source->safe_psql('postgres', q{
SELECT string_agg(format('pid %s, state %s, waiting for %s: %s', pid, state, wait_event_type,
       left(regexp_replace(query, '\s+', ' ', 'g'), 60)), '; ')
FROM pg_stat_activity WHERE application_name = 'pg_cutover'}));
eval { $session->quit };

# Whatever happened above, start again from a source without pg_cutover backends: release the lock (a query
# left waiting for it then runs, finds its client gone and ends), wait for them to go, and lock again.
$locker->query_safe('COMMIT');
poll_until($source, $source_backends, '0', 60) // BAIL_OUT('pg_cutover backends stay on the source');
$locker->query_safe('BEGIN; LOCK TABLE locked_table IN ACCESS EXCLUSIVE MODE;');

# ------------------------------------------------------------------------------ the source side goes away
# The source terminates our backend mid-query: the call fails at once, naming the source, and the session
# goes on.
($session, $pid) = start_blocked_verify();
my $source_pid = $source->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
is($source->safe_psql('postgres', "SELECT pg_terminate_backend($source_pid)"), 't',
	'the source terminates the pg_cutover backend');
$started = time;
($out) = $session->query("SELECT 'session still usable'");
$took = time - $started;
like($session->{stderr}, qr/ERROR:\s+(?:57P01|08\d\d\d):[^\n]*source/,
	'source backend terminated: migrate_verify fails with a connection error about the source')
  or diag($session->{stderr});
# 08001 (sqlclient_unable_to_establish_sqlconnection) would say the connection could not be made; this one
# was made and then lost: connection_failure (08006), as postgres_fdw reports it.
unlike($session->{stderr}, qr/ERROR:\s+08001:/,
	'source backend terminated: not reported as a connection that could not be established')
  or diag($session->{stderr});
ok($took < $prompt, "source backend terminated: the call ended within $prompt s") or diag("took $took s");
is($out, 'session still usable', 'source backend terminated: the target session goes on');
$session->quit;

# The source backend stops answering (SIGSTOP, as in a network partition): statement_timeout still ends the
# call on time, because cancelling must not wait for the source.
($session, $pid) = start_blocked_verify("SET statement_timeout = '2s'");
$source_pid = $source->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
ok(kill('STOP', $source_pid), 'the source backend is frozen');
$started = time;
($out) = $session->query("SELECT 'session still usable'");
$took = time - $started;
kill('CONT', $source_pid);
like($session->{stderr}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
	'frozen source: migrate_verify fails with 57014');
ok($took < 2 + $prompt, "frozen source: the call ended within 2 + $prompt s") or diag("took $took s");
is($out, 'session still usable', 'frozen source: the session goes on');
$session->quit;
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"frozen source: once resumed, its pg_cutover backend is gone within $prompt s");

# ------------------------------------------------------------------------------- a source that never answers
# A listening socket that never accepts: the TCP handshake completes, then libpq waits for an answer.
my $silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
  or die "could not listen: $!";
my $silent_port = $silent->sockport;
$r = sql_error($target,
	    "SET statement_timeout = '1s';\nSELECT migrate_source('"
	  . source_conninfo($source, $password, port => $silent_port)
	  . " connect_timeout=60')");
is($r->{sqlstate}, '57014', 'a source that never answers: migrate_source fails with 57014') or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "a source that never answers: the call ended within $prompt s")
  or diag("took $r->{elapsed} s");
close $silent;
my $target_log = slurp_file($target->logfile);
like($target_log, qr/statement: SELECT migrate_source\('[^\n]*port=$silent_port /,
	'control: log_statement = all logged the call to the silent source');
unlike($target_log, qr/STATEMENT:[^\n]*migrate_source/,
	'the cancelled migrate_source (its connection string holds the password) is not logged as the failing statement');

# ------------------------------------------------------------------------------------------ lock released
$locker->query_safe('COMMIT');
$locker->quit;
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('locked_table')"), 't',
	'locked_table: ok once the lock is released (the source settings were kept)');
is( $target->safe_psql('postgres',
		q{SELECT count(*) FROM cutover.verification WHERE table_name = 'public.locked_table'}),
	'2', 'cancelled calls recorded nothing; the two completed ones are recorded');
is($source->safe_psql('postgres', $source_backends), '0', 'no pg_cutover backend on the source at the end');

done_testing();
