# 019_cutover_night.pl: the client on cutover night (issue 16): a signal stops the servers' work, progress
# never goes back, a table being pulled shows as loading, a second pull of it is refused at once.
#
# The source holds public.big ($rows rows, user_id a foreign key to auth.users, so every row is rewritten);
# the target's big holds $old_rows rows of its own and is pending.
#
#   1. `cutover pull` is stopped with SIGINT once its COPY has taken 30% of the rows: while it streams,
#      `cutover status --json` says big is loading and a second `cutover pull` is refused at once naming the
#      backend; after the signal the client exits 130 saying what was rolled back, and within 2 s no backend
#      of pg_cutover runs on the source nor on the target; big holds its rows of before and is not loaded.
#   2. The same with SIGTERM.
#   3. `cutover pull` again: every row loaded once; its progress lines never go back and show the index
#      build as such; `cutover verify` prints big's result as a line of its own before the result, its
#      progress by rows, never going back.
#   4. One source of settings: a CUTOVER_SOURCE_URL that differs from the source the target stores (password,
#      port, database) stops verify, diff, pull and users with exit 2 naming the setting and `cutover init`;
#      a URL that leaves out dbname or user is refused (exit 2) rather than completed from the target's PG*
#      variables; `cutover init` takes the password from a PGPASSFILE, and the extension then connects
#      with it; after a password change the extension's error names `cutover init`, and init with the new
#      password puts every command right.
#   5. Guard rails: marking big.payload (text with no user ID in it) as a column of user IDs is refused,
#      naming what the sample found and how to force it; big.user_id is marked.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = $ENV{CUTOVER_NIGHT_ROWS} // 1_000_000;
my $users = 1000;
my $old_rows = 1000;
my $gone_within = 2;    # seconds after the signal by which no pg_cutover backend may run
my $password = new_secret('cutover-night-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('night');

my $source = new_source('source', $password);
my $target = new_target('target');
is(setup_big($source, $target, $password, $users, $rows), $users, "every one of the $users users mapped");

my %env = (
	PGHOST => $target->host, PGPORT => $target->port, PGDATABASE => 'postgres',
	PGUSER => $target->safe_psql('postgres', 'SELECT current_user'),
	CUTOVER_SOURCE_URL => source_conninfo($source, $password), PGOPTIONS => undef, PGPASSWORD => undef);

sub fingerprint
{
	return $target->safe_psql('postgres', q{
SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(b::text, ',' ORDER BY b.id), '')) FROM public.big AS b});
}
sub state_of
{
	return $target->safe_psql('postgres', q{SELECT status FROM migrate_status() WHERE table_name = 'public.big'});
}

# The backends of pg_cutover on each side: the extension's on the source, the client's on the target.
my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};
my $target_backends = q{SELECT count(*) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND (application_name = 'cutover' OR query LIKE '%migrate_pull%')};

# Each progress count of `label` in the plain lines of $stderr, in order.
sub progress_counts
{
	my ($stderr, $label) = @_;
	return map { (my $n = $_) =~ tr/,//d; $n } $stderr =~ /^\Q$label\E: ([\d,]+)(?:\/[\d,]+)? rows/mg;
}
sub never_back
{
	my @counts = @_;
	for my $i (1 .. $#counts) { return "$counts[$i-1] then $counts[$i]" if $counts[$i] < $counts[$i - 1] }
	return '';
}

# ----------------------------------------------------------------------------- 1 and 2: SIGINT, SIGTERM
# While the signals are sent, the target takes the rows slowly (about 5 s for the table), so that the pull is
# caught at 30% however busy the machine is.
slow_down_big($target);
for my $signal ('INT', 'TERM')
{
	reset_big($target, $users, $old_rows);
	my $before = fingerprint();
	my $run = start_client(\%env, "$tmp/$signal", 'pull', '-j', '1');
	my $copied = 0;
	while (time - $run->{started} < 120 && $run->{harness}->pumpable)
	{
		$copied = $target->safe_psql('postgres',
			q{SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy WHERE relid = 'public.big'::regclass});
		last if $copied >= 0.3 * $rows;
		if ($signal eq 'INT' && $copied > 0 && !defined $run->{looked})
		{
			# while it streams: the state row is uncommitted, the lock says loading
			$run->{looked} = 1;
			my $status = run_client(\%env, 'status', '--json');
			my ($big) = grep { $_->{table_name} eq 'public.big' } @{ decode_json($status->{stdout})->{tables} };
			is($big && $big->{status}, 'loading', 'cutover status: big is loading while it is pulled');
			my $second = run_client(\%env, 'pull');
			is($second->{rc}, 1, 'a second cutover pull of the same table exits 1');
			like($second->{stderr}, qr/table public\.big is being pulled by another session \(backend \d+\)/,
				'... at once, naming the backend that pulls it');
			cmp_ok($second->{seconds}, '<', 10, '... without waiting for the first');
		}
		sleep 0.02;
	}
	cmp_ok($copied, '>=', 0.3 * $rows, "SIG$signal: the pull had copied 30% of the rows ($copied)")
		or diag(slurp_file($run->{stderr})), BAIL_OUT('the pull never got to 30%');
	my $sent = time;
	$run->{harness}->signal($signal);
	my ($gone_source, $gone_target);
	while (time - $sent < 10)
	{
		$gone_source //= time - $sent if $source->safe_psql('postgres', $source_backends) eq '0';
		$gone_target //= time - $sent if $target->safe_psql('postgres', $target_backends) eq '0';
		last if defined $gone_source && defined $gone_target;
		sleep 0.02;
	}
	$run->{harness}->finish;
	my $rc = $run->{harness}->full_result(0) >> 8;
	my $stderr = slurp_file($run->{stderr});
	is($rc, 130, "SIG$signal: cutover pull exits 130");
	like($stderr, qr/cutover pull: interrupted \(SIG$signal\): pulled and kept: none; cancelled and rolled back: public\.big \([\d,]+ rows streamed\)/,
		"SIG$signal: it says what was rolled back")
		or diag($stderr);
	like($stderr, qr/run `cutover pull` again/, "SIG$signal: and what to run next");
	ok(defined $gone_source && $gone_source < $gone_within,
		sprintf("SIG$signal: no pg_cutover backend on the source within $gone_within s (%s)",
			defined $gone_source ? sprintf('%.2f s', $gone_source) : 'still there after 10 s'));
	ok(defined $gone_target && $gone_target < $gone_within,
		sprintf("SIG$signal: no pg_cutover backend on the target within $gone_within s (%s)",
			defined $gone_target ? sprintf('%.2f s', $gone_target) : 'still there after 10 s'));
	is(fingerprint(), $before, "SIG$signal: big holds exactly its rows of before");
	is(state_of(), 'pending', "SIG$signal: big is pending, not loaded");
}

# ----------------------------------------------------------------------------- 3: the pull, then verify
# at full speed, the indexes built after the rows (a second one on the text, so that the build lasts)
normal_speed_big($target);
$target->safe_psql('postgres', 'CREATE INDEX big_payload ON public.big (payload)');
my $pull = run_client(\%env, 'pull', '-j', '1');
is($pull->{rc}, 0, 'cutover pull after the interruptions exits 0') or diag($pull->{stderr});
is($target->safe_psql('postgres', 'SELECT count(*) FROM public.big'), $rows, 'every row of the source loaded once');
my @pulled = progress_counts($pull->{stderr}, 'pull');
cmp_ok(scalar @pulled, '>=', 3, 'the pull printed progress lines (' . scalar(@pulled) . ')');
is(never_back(@pulled), '', 'the pull\'s progress never goes back');
is($pulled[-1], $rows, 'its last count is the rows pulled');
like($pull->{stderr}, qr/^pull: [\d,]+\/[\d,]+ rows .*\(public\.big: index [12] of 2, [a-z :]+/m,
	'the index build shows as a phase of its own');

my $verify = run_client(\%env, 'verify');
is($verify->{rc}, 0, 'cutover verify exits 0') or diag($verify->{stderr});
like($verify->{stderr}, qr/^verify: public\.big: ok \(source $rows rows, target $rows rows\)$/m,
	'verify prints the table\'s result as it finishes');
my @verified = progress_counts($verify->{stderr}, 'verify');
is(never_back(@verified), '', 'verify\'s progress (in rows) never goes back');
is($verified[-1], $rows, 'its last count is the rows verified');

# ----------------------------------------------------------------------------- 4: one source of settings
my $good_url = source_conninfo($source, $password);
my @url_cases = (
	[ 'a wrong password', "$good_url-wrong", qr/differ in password/ ],
	[ 'another port', source_conninfo($source, $password, port => $target->port), qr/differ in port/ ],
	[ 'another database', source_conninfo($source, $password, dbname => 'template1'), qr/differ in dbname/ ]);
for my $case (@url_cases)
{
	my ($what, $url, $says) = @$case;
	for my $command ([ 'verify' ], [ 'diff', 'big' ], [ 'pull', '--dry-run' ], [ 'users', '--dry-run' ])
	{
		my $r = run_client({ %env, CUTOVER_SOURCE_URL => $url }, @$command);
		is($r->{rc}, 2, "$what in CUTOVER_SOURCE_URL: cutover $command->[0] exits 2");
		like($r->{stderr}, qr/is not the one the target stores: they differ in .*\n.*`cutover init`/,
			"... saying so and naming cutover init") if $command->[0] eq 'verify';
		like($r->{stderr}, $says, "... naming the setting") if $command->[0] eq 'verify';
		unlike($r->{stderr} . $r->{stdout}, qr/\Q$password\E/, '... and never the password') if $command->[0] eq 'verify';
	}
}
my $same = run_client(\%env, 'verify');
is($same->{rc}, 0, 'the same source as the stored one: verify exits 0') or diag($same->{stderr});

for my $left_out ([ 'dbname', 'host=127.0.0.1 port=' . $source->port . " user=migrator password=$password" ],
	[ 'user', 'host=127.0.0.1 port=' . $source->port . " dbname=postgres password=$password" ])
{
	my ($what, $url) = @$left_out;
	my $r = run_client({ %env, CUTOVER_SOURCE_URL => $url }, 'users', '--dry-run');
	is($r->{rc}, 2, "a source URL without $what: exit 2");
	like($r->{stderr}, qr/does not name its $what\n.*PG\* variables are the target's/, '... saying what it needs');
}

# the password in a password file only, as libpq finds it; the stored source takes it
my $passfile = "$tmp/pgpass";
open my $fh, '>', $passfile or die $!;
print $fh '127.0.0.1:' . $source->port . ":postgres:migrator:$password\n";
close $fh;
chmod 0600, $passfile;
my $no_password_url = 'host=127.0.0.1 port=' . $source->port . ' dbname=postgres user=migrator';
my %passfile_env = (%env, CUTOVER_SOURCE_URL => $no_password_url, PGPASSFILE => $passfile);
my $init = run_client(\%passfile_env, 'init');
is($init->{rc}, 0, 'cutover init with the password in PGPASSFILE exits 0') or diag($init->{stderr});
is(run_client(\%passfile_env, 'verify')->{rc}, 0, '... and verify (the extension connects with it) exits 0');
is(run_client({ %env, CUTOVER_SOURCE_URL => undef }, 'verify')->{rc}, 0, '... without CUTOVER_SOURCE_URL too');

# the source's password changes
my $rotated = new_secret('cutover-night-rotated');
$source->safe_psql('postgres', "SET log_statement = none; ALTER ROLE migrator PASSWORD '$rotated'");
my $stale = run_client({ %env, CUTOVER_SOURCE_URL => undef }, 'verify');
is($stale->{rc}, 1, 'after a password change, verify with the stored source exits 1');
like($stale->{stderr}, qr/authentication to the source failed.*hint: .*`cutover init`/s,
	'... and its hint names cutover init');
my $new_url = "$no_password_url password=$rotated";
my $told = run_client({ %env, CUTOVER_SOURCE_URL => $new_url }, 'verify');
is($told->{rc}, 2, 'with the new password in CUTOVER_SOURCE_URL, verify exits 2 before init');
like($told->{stderr}, qr/differ in password/, '... the password differs from the stored one');
is(run_client({ %env, CUTOVER_SOURCE_URL => $new_url }, 'init')->{rc}, 0, 'cutover init with the new password');
is(run_client({ %env, CUTOVER_SOURCE_URL => $new_url }, 'verify')->{rc}, 0, '... then verify exits 0');

# ----------------------------------------------------------------------------- 5: guard rails
my ($rc, $out, $err) = $target->psql('postgres', q{SELECT migrate_remap_column('big', 'payload', true)});
isnt($rc, 0, 'marking big.payload (no user ID in it) as user IDs is refused');
like($err, qr/column "payload" of table public\.big does not hold user IDs: none of the \d+ values sampled on the source is a user ID; they read like 'payload /,
	'... naming what the sample found');
like($err, qr/HINT: .*force => true/, '... and how to mark it all the same');
is($target->safe_psql('postgres', q{SELECT count(*) FROM cutover.remap_column}), '0', '... nothing is marked');
like($target->safe_psql('postgres', q{SELECT migrate_remap_column('big', 'user_id', true)}), qr/holds user IDs only/,
	'big.user_id (user IDs) is marked');

done_testing();
