# 015_pull_failures.pl: `cutover pull` while the table streams, and something dies or runs out (issue 8).
#
# The source holds public.big ($rows rows, user_id a foreign key to auth.users, so every row is rewritten);
# the target's big holds $old_rows rows of its own before the first case. Each case starts `cutover pull -j 1`
# and strikes once the target's COPY FROM has taken rows and the source's COPY runs (in 1 to 4 a trigger slows
# the target down, so that the pull is caught mid-stream on a busy machine too):
#
#   1. pg_terminate_backend of the target backend doing the pull;
#   2. SIGKILL of that backend (the target restarts every session: crash recovery);
#   3. pg_terminate_backend of the source backend running the COPY;
#   4. SIGKILL of that source backend (the source restarts);
#   5. statement_timeout (from PGOPTIONS) shorter than the pull;
#   6. the target runs out of room: restarted with a file size limit (RLIMIT_FSIZE, as `ulimit -f`) smaller
#      than the table, so that extending its file fails with 53100, as on a full disk.
#
# After each: the client exits 1 naming the table and the cause; the target's big holds exactly its rows of
# before (count and md5 of every row) and takes no more room; its state says failed, with the error, except
# after the target's own crash, when no session is left to write it (the client says so); no pg_cutover
# backend is left on the source. At the end `cutover pull` loads every row once, user IDs rewritten, and
# `cutover verify` agrees.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use Time::HiRes qw(time sleep);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = $ENV{PULL_FAILURE_ROWS} // 400_000;
my $users = 1000;
my $old_rows = 1000;
my $password = new_secret('pull-failures-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('failures');

my $source = new_source('source', $password, conf => ['restart_after_crash = on']);
my $target = new_target('target', conf => ['restart_after_crash = on']);

is(setup_big($source, $target, $password, $users, $rows), $users, "every one of the $users users mapped");

my %env = (
	PGHOST => $target->host, PGPORT => $target->port, PGDATABASE => 'postgres',
	PGUSER => $target->safe_psql('postgres', 'SELECT current_user'),
	CUTOVER_SOURCE_URL => source_conninfo($source, $password), PGOPTIONS => undef, PGPASSWORD => undef);

sub prepare_target { reset_big($target, $users, $old_rows) }

sub fingerprint
{
	return $target->safe_psql('postgres', q{
SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(b::text, ',' ORDER BY b.id), '')) FROM public.big AS b});
}
sub table_bytes { return $target->safe_psql('postgres', q{SELECT pg_total_relation_size('public.big')}) }
sub state_of
{
	return $target->safe_psql('postgres',
		q{SELECT status || ' | ' || coalesce(last_error, '') FROM migrate_status() WHERE table_name = 'public.big'});
}

my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};

# Starts `cutover pull -j 1` and waits until it streams: the target's COPY FROM has taken at least 10,000 rows
# and the source's COPY runs. Returns the running client and the pulling backend's pid on each side.
sub start_streaming_pull
{
	my ($label, %override) = @_;
	my $run = start_client({ %env, %override }, "$tmp/$label", 'pull', '-j', '1');
	my ($target_pid, $source_pid);
	while (time - $run->{started} < 60 && $run->{harness}->pumpable)
	{
		$target_pid = $target->safe_psql('postgres',
			q{SELECT pid FROM pg_stat_progress_copy WHERE relid = 'public.big'::regclass AND tuples_processed >= 10000});
		$source_pid = $source->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity
WHERE application_name = 'pg_cutover' AND state = 'active' AND query LIKE '%COPY (SELECT %public.big%TO STDOUT%'});
		last if $target_pid && $source_pid;
		sleep 0.02;
	}
	ok($target_pid && $source_pid, "$label: the pull streams (target backend $target_pid, source backend $source_pid)");
	return ($run, $target_pid, $source_pid);
}

# Waits for the client to end; returns its exit code and stderr.
sub finish_pull
{
	my ($run) = @_;
	my $deadline = time + 60;
	sleep 0.05 while $run->{harness}->pumpable && time < $deadline;
	my ($status) = end_client($run, 1);
	return ($status >> 8, slurp_file($run->{stderr}));
}

# What every case must leave: the rows of before, no more room taken, the state, no source backend left.
sub check_left
{
	my ($label, $before, $bytes, $state_re) = @_;
	is(fingerprint(), $before, "$label: the target's big holds exactly its rows of before");
	is(table_bytes(), $bytes, "$label: big takes no more room than before");
	like(state_of(), $state_re, "$label: the state says so");
	ok(defined poll_until($source, $source_backends, '0', 10), "$label: no pg_cutover backend left on the source");
}

# ------------------------------------------------------------------------------------------ control
prepare_target();
my $control = run_client(\%env, 'pull', '-j', '1');
is($control->{rc}, 0, 'control: cutover pull loads big') or diag($control->{stderr});
my $full = $control->{seconds};
# The migrate_pull statement alone, as the target timed it: the client's run adds its start and its plan.
my $statement = $target->safe_psql('postgres', q{SELECT seconds FROM migrate_status() WHERE table_name = 'public.big'});
note(sprintf('control: the whole pull took %.2f s, its migrate_pull statement %.2f s', $full, $statement));
prepare_target();
my $before = fingerprint();
my $bytes = table_bytes();
like($before, qr/^$old_rows rows/, "before: the target's big holds $old_rows rows of its own");

# ------------------------------------------------------------------------------------------ 1-4: deaths
my @cases = (
	[ 'pg_terminate_backend on the target', $target, 'terminate', qr/pulling public\.big failed: .*terminating connection due to administrator command/s,
		qr/^failed \| 57P01: .*terminating connection due to administrator command/ ],
	# Every session of the target ends: the state stays as it was (the last case's failure).
	[ 'SIGKILL of the target backend', $target, 'kill', qr/pulling public\.big failed: .*server closed the connection unexpectedly/s,
		undef ],
	[ 'pg_terminate_backend on the source', $source, 'terminate', qr/pulling public\.big failed: .*source/s,
		qr/^failed \| (?:57P01|08006): .*source/ ],
	[ 'SIGKILL of the source backend', $source, 'kill', qr/pulling public\.big failed: .*source/s,
		qr/^failed \| (?:57P01|08006|08000): .*source/ ]);
# While the deaths are dealt, the target takes the rows slowly (about 2 s for the table), so that the pull is
# seen streaming however busy the machine is.
slow_down_big($target);
for my $case (@cases)
{
	my ($label, $node, $how, $stderr_re, $state_re) = @$case;
	$state_re //= qr/^\Q${\ state_of()}\E$/;
	my ($run, $target_pid, $source_pid) = start_streaming_pull($label);
	my $pid = $node == $target ? $target_pid : $source_pid;
	if ($how eq 'terminate')
	{
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	}
	else
	{
		kill 'KILL', $pid;
	}
	my ($rc, $stderr) = finish_pull($run);
	is($rc, 1, "$label: cutover pull exits 1");
	like($stderr, $stderr_re, "$label: the client names the table and the cause") or diag($stderr);
	ok(secret_free($stderr, $password), "$label: no password in what the client says");
	# A node that crashed restarts on its own (restart_after_crash): wait until it answers again.
	$node->poll_query_until('postgres', 'SELECT true') if $how eq 'kill';
	like($stderr, qr/could not be written to its state/, "$label: the client says the state could not be written")
	  if $node == $target && $how eq 'kill';
	check_left($label, $before, $bytes, $state_re);
}

normal_speed_big($target);

# ------------------------------------------------------------------------------------------ 5: statement_timeout
# A third of the statement's time, so that it strikes while the rows stream even when this run pulls faster
# than the control did (half the client's whole time did not always: the client's start is a good part of it).
my $timeout_ms = int(1000 * $statement / 3);
$timeout_ms = 50 if $timeout_ms < 50;
# Not watched while it streams: the timeout strikes by itself, and a watcher could miss so short a window.
my $run = start_client({ %env, PGOPTIONS => "-c statement_timeout=$timeout_ms" }, "$tmp/statement_timeout", 'pull', '-j', '1');
my ($rc, $stderr) = finish_pull($run);
is($rc, 1, "statement_timeout ($timeout_ms ms): cutover pull exits 1");
like($stderr, qr/pulling public\.big failed: on the target: canceling statement due to statement timeout/,
	'statement_timeout: the client names the table and the cause') or diag($stderr);
check_left('statement_timeout', $before, $bytes, qr/^failed \| 57014: on the target: canceling statement due to statement timeout/);

# ------------------------------------------------------------------------------------------ 6: out of room
# The target restarted with every file it writes limited to 20 MB and 1 kB (bash counts ulimit -f in kB): a WAL segment (16 MB) fits, big
# does not. PostgreSQL ignores SIGXFSZ, so the write that crosses the limit is short and fails as a full disk
# does. The limit is not a multiple of the block size, so the failing write is a short one: 53100.
my $limit_kb = 20 * 1024 + 1;
$target->stop;
my $data = $target->data_dir;
my $log = $target->logfile;
system('bash', '-c', qq{ulimit -f $limit_kb && exec pg_ctl -w -D '$data' -l '$log' start >/dev/null}) == 0
  or BAIL_OUT('the target did not start with a file size limit');
$target->_update_pid(1);
is($target->safe_psql('postgres', q{SELECT pg_current_wal_lsn() IS NOT NULL}), 't', 'out of room: the target runs with the limit');
my $limited = run_client(\%env, 'pull', '-j', '1');
is($limited->{rc}, 1, 'out of room: cutover pull exits 1');
like($limited->{stderr}, qr/pulling public\.big failed: on the target: could not extend file "[^"]+": wrote only \d+ of 8192 bytes/,
	'out of room: the client names the table and the file that could not grow') or diag($limited->{stderr});
like($limited->{stderr}, qr/hint: Check free disk space/, 'out of room: and says to check the free disk space');
check_left('out of room', $before, $bytes, qr/^failed \| 53100: on the target: could not extend file/);
$target->restart;

# ------------------------------------------------------------------------------------------ the rerun
my $pull = run_client(\%env, 'pull', '-j', '1');
is($pull->{rc}, 0, 'rerun: cutover pull exits 0') or diag($pull->{stderr});
my $verify = run_client(\%env, 'verify');
is($verify->{rc}, 0, 'rerun: cutover verify exits 0') or diag($verify->{stderr});
like(state_of(), qr/^verified \| $/, 'rerun: big verified');
is($target->safe_psql('postgres', q{SELECT count(*) || ' rows, ' || count(DISTINCT id) || ' ids' FROM public.big}),
	"$rows rows, $rows ids", 'rerun: every row of the source exactly once, none of the old ones');
is( $target->safe_psql('postgres',
		q{SELECT count(*) FROM public.big AS b WHERE NOT EXISTS (SELECT FROM cutover.id_map AS m WHERE m.target_id = b.user_id)}),
	'0', 'rerun: every user ID rewritten');

done_testing();
