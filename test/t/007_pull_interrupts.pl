# 007_pull_interrupts.pl: migrate_pull interrupted while it streams, every way it can be.
#
# The source holds public.big: 2,000,000 rows (PULL_INTERRUPT_ROWS overrides), whose user_id refers to
# auth.users, so that every row goes through the ID rewriting; a full pull takes a few seconds. Before each
# case the target's big holds 1000 rows of its own and its state is pending. Each interruption happens once
# the target's COPY FROM has taken rows (pg_stat_progress_copy of the pulling backend) and the source's COPY
# runs (pg_stat_activity):
#
#   1. pg_cancel_backend of the pulling backend: 57014 within a second (1.5 s asserted), the session goes on;
#   2. statement_timeout (half a full pull): 57014 within a second (1.5 s asserted) of the timeout;
#   3. pg_terminate_backend of the pulling backend: FATAL 57P01, a rerun in a new session loads and verifies;
#   4. SIGKILL of the pulling backend: the target restarts (crash recovery), a rerun loads and verifies;
#   5. the source terminates its backend: 57P01 or 08006 naming the source, a rerun loads and verifies.
#
# After each: the target's big and its state row as they were, no pg_cutover backend left on the source. At
# the end: one state row for big, loaded (then verified) with the source's row count; the target holds the
# source's rows exactly once each, every user ID mapped.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = $ENV{PULL_INTERRUPT_ROWS} // 2_000_000;
my $users = 1000;
my $old_rows = 1000;
my $prompt = 1.5;      # seconds within which an interrupted call must end
my $source_gone = 5;   # seconds within which the source's backend must go, the client having said so
my $source_noticed = 30;    # ... or having died without a word (SIGKILL)

my $password = new_secret('pull-interrupts-pw');
# The pull's query is a multi-statement string: pg_stat_activity must show it whole.
my $source = new_source('source', $password, conf => ['track_activity_query_size = 16384']);
# Restarted after a crash (the test clusters are not, by default): the SIGKILL case relies on it.
my $target = new_target('target', conf => ['restart_after_crash = on']);

# ---------------------------------------------------------------------------------------------- the data
my $started = time;
is(setup_big($source, $target, $password, $users, $rows), $users, "every one of the $users users mapped");
note(sprintf('source: %d rows created in %.2f s', $rows, time - $started));

like($target->safe_psql('postgres', q{SELECT user_id_columns FROM migrate_plan() WHERE table_name = 'public.big'}),
	qr/^\{"user_id -> auth\.users\.id /, 'control: the plan rewrites big.user_id (a foreign key to auth.users on the source)');

sub prepare_target { reset_big($target, $users, $old_rows) }

# What must not change when a pull fails: the table's rows and its state row.
my $fingerprint_sql = q{
SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(b::text, ',' ORDER BY b.id), '')) || ', state '
       || coalesce((SELECT s::text FROM cutover.table_state AS s WHERE s.table_schema = 'public' AND s.table_name = 'big'), 'none')
FROM public.big AS b};
sub fingerprint { return $target->safe_psql('postgres', $fingerprint_sql) }

my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};
my $source_copy_running = q{SELECT count(*) FROM pg_stat_activity
WHERE application_name = 'pg_cutover' AND state = 'active' AND query LIKE '%COPY (SELECT %public.big%TO STDOUT%'};
my $source_left = q{
SELECT coalesce(string_agg(format('pid %s, state %s, waiting for %s: %s', pid, state, wait_event,
       left(regexp_replace(query, '\s+', ' ', 'g'), 60)), '; '), 'nothing')
FROM pg_stat_activity WHERE application_name = 'pg_cutover'};

# Before each case: no pg_cutover backend on the source (terminated if need be, so that one failure does not
# spill into the next case).
sub clean_source
{
	return if defined poll_until($source, $source_backends, '0', $source_gone);
	diag('terminating what is left on the source: ' . $source->safe_psql('postgres', $source_left));
	$source->safe_psql('postgres',
		q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
	poll_until($source, $source_backends, '0', $source_gone) // BAIL_OUT('pg_cutover backends stay on the source');
}

# Pumps $session until its stderr matches $re or $seconds pass. Returns the seconds from $since (the epoch
# the interruption was asked at) to the match, or undef.
sub wait_stderr
{
	my ($session, $re, $seconds, $since) = @_;
	while (time - $since < $seconds)
	{
		eval { $session->{run}->pump_nb };
		return time - $since if $session->{stderr} =~ $re;
		sleep 0.01;
	}
	return undef;
}

# The epoch (with milliseconds) of the first line of the target's log from $offset on that matches $re.
sub log_time
{
	my ($offset, $re) = @_;
	for my $line (split /\n/, slurp_file($target->logfile, $offset))
	{
		next unless $line =~ $re;
		next unless $line =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) /;
		return timegm($6, $5, $4, $3, $2 - 1, $1) + $7 / 1000;
	}
	return undef;
}

# Starts migrate_pull('big') in a background session of the target (after $setup, if any) and waits until
# it streams: its COPY FROM has taken at least $min_tuples rows and the source's COPY runs. Returns the
# session, its backend's pid, the time the pull was sent and the rows taken when it was seen streaming (undef
# if it never was).
sub start_pull
{
	my ($label, $min_tuples, $setup) = @_;
	my $session = $target->background_psql('postgres', on_error_stop => 0, timeout => 120);
	$session->query_safe('\set VERBOSITY verbose');
	$session->query_safe($setup) if defined $setup;
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/pull started/,
		"\\echo pull started\nSELECT status || ':' || rows FROM migrate_pull('big');\n");
	my $sent = time;
	my $progress = qq{SELECT coalesce((SELECT tuples_processed || ' ' || type FROM pg_stat_progress_copy
WHERE pid = $pid AND relid = 'public.big'::regclass), '0')};
	my $taken;
	while (time - $sent < 30)
	{
		my ($tuples, $type) = split / /, $target->safe_psql('postgres', $progress);
		if ($tuples >= $min_tuples)
		{
			$taken = $tuples;
			is($type, 'CALLBACK', "$label: the target's COPY FROM reads from the pull's callback");
			last;
		}
		eval { $session->{run}->pump_nb };
		last if $session->{stderr} =~ /ERROR|FATAL/ || $session->{stdout} =~ /loaded/;
		sleep 0.02;
	}
	ok(defined $taken, "$label: the target's COPY FROM has taken rows (at least $min_tuples)")
	  or diag("session: $session->{stdout} $session->{stderr}");
	# Checked after the target side: the source's COPY must still be running, i.e. the pull is mid-stream.
	is($source->safe_psql('postgres', $source_copy_running), '1', "$label: the source's COPY runs")
	  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
	note(sprintf('%s: streaming %.2f s after the call, %s rows taken', $label, time - $sent, $taken // 'no'));
	return ($session, $pid, $sent, $taken);
}

# The table's rows and its state as they were; no pg_cutover backend left on the source within $seconds.
sub check_unchanged
{
	my ($label, $before, $seconds) = @_;
	is(fingerprint(), $before, "$label: the target's big and its state row unchanged");
	is( $target->safe_psql('postgres',
			q{SELECT status FROM cutover.table_state WHERE table_schema = 'public' AND table_name = 'big'}),
		'pending', "$label: big is still pending (not loaded, not loading)");
	my $gone = poll_until($source, $source_backends, '0', $seconds);
	ok(defined $gone, "$label: no pg_cutover backend left on the source within $seconds s")
	  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
	note(sprintf('%s: the source backend was gone %.2f s after the check began', $label, $gone)) if defined $gone;
}

# A rerun in a new session loads every row of the source and verifies ok.
sub rerun
{
	my ($label) = @_;
	my $begin = time;
	is($target->safe_psql('postgres', q{SELECT status || ':' || rows FROM migrate_pull('big')}),
		"loaded:$rows", "$label: a rerun in a new session loads the $rows rows");
	my $pulled = time - $begin;
	$begin = time;
	is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('big')}), 't', "$label: migrate_verify ok");
	note(sprintf('%s: rerun pulled in %.2f s, verified in %.2f s', $label, $pulled, time - $begin));
	clean_source();
}

# ---------------------------------------------------------------------------------------- control: a full pull
prepare_target();
my $old = fingerprint();
like($old, qr/^$old_rows rows, md5 [0-9a-f]{32}, state \(public,big,pending,/, "before: $old_rows rows of the target's own, pending");
$started = time;
is($target->safe_psql('postgres', q{SELECT status || ':' || rows FROM migrate_pull('big')}), "loaded:$rows",
	"control: an uninterrupted pull loads the $rows rows");
my $full_pull = time - $started;
diag(sprintf('control: the full pull of %d rows took %.2f s (%.0f rows/s)', $rows, $full_pull, $rows / $full_pull));
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('big')}), 't', 'control: and verifies ok');
clean_source();

# Milliseconds between two lines of the target's log since $offset, for the notes: what the server saw.
sub log_gap
{
	my ($offset, $from, $to) = @_;
	my ($t1, $t2) = (log_time($offset, $from), log_time($offset, $to));
	return (defined $t1 && defined $t2) ? sprintf('%.0f ms', 1000 * ($t2 - $t1)) : 'not found in the log';
}

# ------------------------------------------------------------------------------------------ 1. pg_cancel_backend
prepare_target();
my $before = fingerprint();
my $log_offset = -s $target->logfile;
my ($session, $pid, $sent, $taken) = start_pull('pg_cancel_backend', 50_000);
$started = time;
is($target->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'pg_cancel_backend reached the backend');
my $took = wait_stderr($session, qr/ERROR:\s+57014: canceling statement due to user request/, 10, $started);
ok(defined $took, 'pg_cancel_backend: migrate_pull fails with 57014') or diag("session: $session->{stderr}");
ok(defined $took && $took < $prompt, "pg_cancel_backend: the call ended within $prompt s of the cancel")
  or diag('took ' . ($took // 'more than 10') . ' s');
unlike($session->{stdout}, qr/loaded/, 'pg_cancel_backend: the pull had not finished');
diag(sprintf('pg_cancel_backend: 57014 seen %.3f s after pg_cancel_backend was asked (%s rows taken); the log: %s from the statement to the error',
	$took // -1, $taken // 'no', log_gap($log_offset, qr/statement: SELECT pg_cancel_backend\($pid\)/, qr/\[$pid\].*ERROR:\s+57014/)));
my ($out) = $session->query("SELECT 'session still usable'");
is($out, 'session still usable', 'pg_cancel_backend: the session goes on');
$session->quit;
check_unchanged('pg_cancel_backend', $before, $source_gone);
clean_source();

# ------------------------------------------------------------------------------------------ 2. statement_timeout
# Half the time of a full pull (at least 1 s): the timeout strikes mid-stream.
my $timeout_ms = int(1000 * $full_pull / 2);
$timeout_ms = 1000 if $timeout_ms < 1000;
prepare_target();
$before = fingerprint();
$log_offset = -s $target->logfile;
($session, $pid, $sent, $taken) = start_pull('statement_timeout', 1, "SET statement_timeout = $timeout_ms");
$took = wait_stderr($session, qr/ERROR:\s+57014: canceling statement due to statement timeout/, 10 + $timeout_ms / 1000, $sent);
ok(defined $took, "statement_timeout ($timeout_ms ms): migrate_pull fails with 57014") or diag("session: $session->{stderr}");
my $late = defined $took ? $took - $timeout_ms / 1000 : undef;
ok(defined $late && $late < $prompt, "statement_timeout: the call ended within $prompt s of the timeout")
  or diag('ended ' . ($late // 'more than 10') . ' s after the timeout');
unlike($session->{stdout}, qr/loaded/, 'statement_timeout: the pull had not finished');
diag(sprintf('statement_timeout of %d ms: 57014 seen %.3f s after the call was sent (%.3f s after the timeout; %s rows taken when checked); the log: %s from the statement to the error',
	$timeout_ms, $took // -1, $late // -1, $taken // 'no',
	log_gap($log_offset, qr/\[$pid\].*statement: SELECT status \|\| ':' \|\| rows FROM migrate_pull/, qr/\[$pid\].*ERROR:\s+57014/)));
($out) = $session->query("SELECT 'session still usable'");
is($out, 'session still usable', 'statement_timeout: the session goes on');
$session->quit;
check_unchanged('statement_timeout', $before, $source_gone);
clean_source();

# --------------------------------------------------------------------------------------- 3. pg_terminate_backend
prepare_target();
$before = fingerprint();
$log_offset = -s $target->logfile;
($session, $pid, $sent, $taken) = start_pull('pg_terminate_backend', 50_000);
$started = time;
is($target->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't', 'pg_terminate_backend reached the backend');
$took = wait_stderr($session, qr/FATAL:\s+57P01: terminating connection due to administrator command/, 10, $started);
ok(defined $took, 'pg_terminate_backend: the session ends with FATAL 57P01') or diag("session: $session->{stderr}");
my $exited = poll_until($target, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid", '0', 10);
ok(defined $exited, 'pg_terminate_backend: the target backend exited');
unlike($session->{stdout}, qr/loaded/, 'pg_terminate_backend: the pull had not finished');
diag(sprintf('pg_terminate_backend: FATAL 57P01 seen %.3f s after pg_terminate_backend was asked (%s rows taken); the log: %s from the statement to the FATAL',
	$took // -1, $taken // 'no', log_gap($log_offset, qr/statement: SELECT pg_terminate_backend\($pid\)/, qr/\[$pid\].*FATAL:\s+57P01/)));
eval { $session->{run}->finish };
eval { $session->{run}->kill_kill };
check_unchanged('pg_terminate_backend', $before, $source_gone);
rerun('pg_terminate_backend');

# --------------------------------------------------------------------------------------------------- 4. SIGKILL
prepare_target();
$before = fingerprint();
$log_offset = -s $target->logfile;
($session, $pid, $sent, $taken) = start_pull('SIGKILL', 50_000);
my $source_pid = $source->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
$started = time;
ok(kill('KILL', $pid), "SIGKILL sent to the pulling backend (pid $pid)");
$took = wait_stderr($session, qr/server closed the connection unexpectedly|connection to server was lost/, 10, $started);
ok(defined $took, 'SIGKILL: psql lost its connection') or diag("session: $session->{stderr}");
eval { $session->{run}->finish };
eval { $session->{run}->kill_kill };
# pg_isready, not psql: psql is fed through a pipe, which breaks when the server refuses it during recovery.
my $back;
while (time - $started < 60)
{
	if (IPC::Run::run([ 'pg_isready', '-q', '-h', $target->host, '-p', $target->port, '-d', 'postgres' ]))
	{
		$back = 1;
		last;
	}
	sleep 0.05;
}
$back or BAIL_OUT('the target does not come back after SIGKILL');
my $restarted = time - $started;
my $target_log = slurp_file($target->logfile, $log_offset);
like($target_log, qr/server process \(PID $pid\) was terminated by signal 9/, 'SIGKILL: the postmaster saw its backend killed');
like($target_log, qr/all server processes terminated; reinitializing/, 'SIGKILL: the postmaster reinitialized');
like($target_log, qr/database system was not properly shut down; automatic recovery in progress/,
	'SIGKILL: crash recovery ran');
check_unchanged('SIGKILL', $before, $source_noticed);
is($source->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $source_pid"), '0',
	"SIGKILL: the source backend of the pull (pid $source_pid) is gone");
is($source->safe_psql('postgres', $source_copy_running), '0', 'SIGKILL: no COPY of big runs on the source');
my $source_gone_after = time - $started;
my @source_said = slurp_file($source->logfile) =~
  /^[^\n]*? \[$source_pid\] [^\n]*?((?:LOG|ERROR|FATAL):\s+(?:could not send data|connection to client lost|[^\n]*canceling)[^\n]*)$/mg;
ok(scalar @source_said, 'SIGKILL: the source backend noticed its client was gone') or diag('source log: nothing for pid ' . $source_pid);
diag(sprintf('SIGKILL: target accepting connections %.2f s after the kill (%s rows taken); the source backend %s gone within %.2f s of the kill, it said: %s',
	$restarted, $taken // 'no', $source_pid, $source_gone_after, join(' / ', @source_said)));
rerun('SIGKILL');

# ------------------------------------------------------------------------------ 5. the source terminates the pull
prepare_target();
$before = fingerprint();
$log_offset = -s $target->logfile;
($session, $pid, $sent, $taken) = start_pull('source terminates', 50_000);
$source_pid = $source->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
$started = time;
is($source->safe_psql('postgres', "SELECT pg_terminate_backend($source_pid)"), 't',
	'the source terminates the pull\'s backend');
$took = wait_stderr($session, qr/ERROR:\s+[0-9A-Z]{5}:/, 10, $started);
my ($sqlstate, $message) = $session->{stderr} =~ /ERROR:\s+([0-9A-Z]{5}): ([^\n]*)/;
like($sqlstate // 'none', qr/^(?:57P01|08006)$/, 'source terminates: migrate_pull fails with 57P01 or 08006')
  or diag("session: $session->{stderr}");
like($message // '', qr/source/, 'source terminates: the message names the source') or diag("session: $session->{stderr}");
ok(defined $took && $took < $prompt, "source terminates: the call ended within $prompt s")
  or diag('took ' . ($took // 'more than 10') . ' s');
unlike($session->{stdout}, qr/loaded/, 'source terminates: the pull had not finished');
diag(sprintf('source terminates: %s "%s" seen %.3f s after pg_terminate_backend was asked on the source (%s rows taken)',
	$sqlstate // 'no error', $message // '', $took // -1, $taken // 'no'));
($out) = $session->query("SELECT 'session still usable'");
is($out, 'session still usable', 'source terminates: the target session goes on');
$session->quit;
check_unchanged('source terminates', $before, $source_gone);
rerun('source terminates');

# ------------------------------------------------------------------------------------------------------ 6. the end
is( $target->safe_psql('postgres', q{SELECT string_agg(status || ':' || rows, ',') FROM migrate_status() WHERE table_name = 'public.big'}),
	"verified:$rows", "migrate_status: one row for big, loaded and verified, $rows rows");
is( $target->safe_psql('postgres', q{SELECT count(*) || ':' || count(DISTINCT id) || ':' || min(id) || ':' || max(id) FROM public.big}),
	$source->safe_psql('postgres', q{SELECT count(*) || ':' || count(DISTINCT id) || ':' || min(id) || ':' || max(id) FROM public.big}),
	'the target holds the source\'s rows, each once (count, distinct ids, min and max id)');
is( $target->safe_psql('postgres', q{
SELECT count(*) FROM public.big AS b WHERE NOT EXISTS (SELECT FROM cutover.id_map AS m WHERE m.target_id = b.user_id)}),
	'0', 'every user ID on the target is a mapped one');
is($target->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%migrate_pull%' AND pid <> pg_backend_pid()}),
	'0', 'no pull left running on the target');
is($source->safe_psql('postgres', $source_backends), '0', 'no pg_cutover backend on the source at the end');
# a backend the source ended is not cancelled again: no stray warning of the source in the target's log
unlike(slurp_file($target->logfile), qr/is not a PostgreSQL backend process/,
	'no cancel sent for a source backend that had already ended');

done_testing();
