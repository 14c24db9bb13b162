# 005_cancel_black_hole.pl: cancelling migrate_verify never hangs on a network that black-holes cancel requests.
#
# libpq 15's PQcancel opens a new TCP connection, sends a CancelRequest and waits for the server to close it,
# with neither the connect nor the read bounded in time: a network that swallows the request keeps the
# backend waiting forever, deaf to cancel and terminate. The extension cancels instead through a second
# ordinary connection to the source, non-blocking and with a deadline, running pg_cancel_backend(pid).
#
# The target reaches the source through a TCP proxy started here: it forwards every connection to the source,
# except one whose first packet is a CancelRequest, which it reads, counts, and then holds open without ever
# answering (the black hole). A view on the source sleeps 10 ms per row, so its checksum runs for minutes;
# statement_timeout, pg_cancel_backend and pg_terminate_backend on the target must each end the call within
# seconds and stop the query on the source, without a single CancelRequest reaching the proxy. A control at
# the end shows that libpq's PQcancel (psql on SIGINT) through the same proxy is swallowed and hangs.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(time sleep);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Seconds within which a cancelled call must end on the target, and its source query go away.
my $prompt = 10;

# ------------------------------------------------------------------------------------------------ the proxy
# CancelRequest: int32 length 16, int32 code 80877102, int32 backend pid, int32 secret key.
my $cancel_request_code = 80877102;
my $proxy_lifetime = 180;    # seconds; every proxy process ends by SIGALRM at the latest then
my $proxy_max_connections = 200;

# Reads exactly $n bytes from $sock; undef on EOF or error.
sub read_exactly
{
	my ($sock, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $got = sysread($sock, $buf, $n - length($buf), length($buf));
		return undef unless $got;
	}
	return $buf;
}

sub write_all
{
	my ($sock, $data) = @_;
	while (length $data)
	{
		my $sent = syswrite($sock, $data);
		return 0 unless $sent;
		substr($data, 0, $sent, '');
	}
	return 1;
}

# One line per connection, appended by the process that serves it (O_APPEND: lines never interleave).
sub proxy_record
{
	my ($file, $line) = @_;
	open my $fh, '>>', $file or return;
	syswrite($fh, "$line\n");
	close $fh;
}

# Serves one accepted connection, in its own process.
sub proxy_serve
{
	my ($client, $upstream_port, $record) = @_;
	my $head = read_exactly($client, 8) // return;
	my ($length, $code) = unpack('NN', $head);
	if ($length == 16 && $code == $cancel_request_code)
	{
		my ($pid, $key) = unpack('NN', read_exactly($client, 8) // "\0" x 8);
		proxy_record($record, "cancel pid=$pid");
		# The black hole: the request was read; nothing is answered and the connection is never closed.
		sleep 1 while 1;
	}
	proxy_record($record, 'forward');
	my $server = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $upstream_port, Proto => 'tcp')
	  or return;
	write_all($server, $head) or return;
	my $select = IO::Select->new($client, $server);
	for (;;)
	{
		for my $from ($select->can_read)
		{
			my $to = $from == $client ? $server : $client;
			my $got = sysread($from, my $buf, 65536);
			return unless $got && write_all($to, $buf);
		}
	}
}

# Starts the proxy on a free port of 127.0.0.1, forwarding to 127.0.0.1:$upstream_port. Returns the pid of
# its accepting process (which leads a process group of its own) and the port.
sub start_proxy
{
	my ($upstream_port, $record) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $listener = IO::Socket::INET->new(
		Listen => 16,
		LocalAddr => '127.0.0.1',
		LocalPort => $port,
		Proto => 'tcp',
		ReuseAddr => 1) or die "proxy: could not listen on 127.0.0.1:$port: $!";
	my $pid = fork() // die "proxy: could not fork: $!";
	if ($pid == 0)
	{
		# Never return into the test: no END blocks (they would tear down the clusters), no TAP output.
		setpgrp(0, 0);
		@SIG{qw(ALRM TERM INT)} = ('DEFAULT') x 3;
		$SIG{CHLD} = 'IGNORE';
		alarm $proxy_lifetime;
		for (1 .. $proxy_max_connections)
		{
			my $client = $listener->accept or last;
			my $child = fork();
			if (defined $child && $child == 0)
			{
				alarm $proxy_lifetime;
				close $listener;
				eval { proxy_serve($client, $upstream_port, $record) };
				POSIX::_exit(0);
			}
			close $client;
		}
		close $listener;
		sleep 1 while 1;    # until killed: the group stays, so does a black-holed connection
	}
	close $listener;
	return ($pid, $port);
}

my $proxy_pid;
my $test_pid = $$;
sub stop_proxy
{
	return unless $proxy_pid && $$ == $test_pid;
	kill 'KILL', -$proxy_pid;    # the proxy's own process group: its accepting process and every connection
	waitpid($proxy_pid, 0);
	$proxy_pid = undef;
}
END { stop_proxy() }

my $proxy_record = PostgreSQL::Test::Utils::tempdir() . '/proxy_connections';
sub proxy_lines
{
	my ($kind) = @_;
	return 0 unless -e $proxy_record;
	return scalar grep { /^$kind\b/ } split /\n/, slurp_file($proxy_record);
}

# ---------------------------------------------------------------------------------------------- the clusters
my $password = new_secret('black-hole-pw');
# The checksum script is longer than the default track_activity_query_size: pg_stat_activity must show it whole.
my $source = new_source('source', $password, conf => ['track_activity_query_size = 16384']);
my $target = new_target('target');
($proxy_pid, my $proxy_port) = start_proxy($source->port, $proxy_record);

# 10 ms per row: the source's checksum of slow runs for 100 s or more. The target's table has the same
# columns and rows (it is only ever compared with a cancelled checksum).
$source->safe_psql('postgres', q{
CREATE VIEW slow AS
SELECT g AS id, 'note ' || g AS note FROM generate_series(1, 10000) AS g WHERE pg_sleep(0.01) IS NOT NULL;
CREATE TABLE quick (id integer, note text);
INSERT INTO quick SELECT g, 'note ' || g FROM generate_series(1, 100) AS g;
});
$target->safe_psql('postgres', q{
CREATE TABLE slow (id integer, note text);
INSERT INTO slow SELECT g, 'note ' || g FROM generate_series(1, 10000) AS g;
CREATE TABLE quick (id integer, note text);
INSERT INTO quick SELECT g, 'note ' || g FROM generate_series(1, 100) AS g;
});
$target->safe_psql('postgres',
	"SELECT migrate_source('" . source_conninfo($source, $password, port => $proxy_port) . "')");
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('quick')"), 't',
	'control: migrate_verify through the proxy works (quick: ok)');
ok(proxy_lines('forward') >= 1, 'control: the proxy forwarded the connection to the source')
  or diag('proxy connections: ' . (-e $proxy_record ? slurp_file($proxy_record) : 'none'));

# Queried on the source directly, not through the proxy.
my $source_checksum_running = q{SELECT count(*) FROM pg_stat_activity
WHERE application_name = 'pg_cutover' AND state = 'active' AND query LIKE 'BEGIN READ ONLY;%FROM ONLY public.slow AS t%'};
my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};
my $source_left = q{
SELECT coalesce(string_agg(format('pid %s, state %s, waiting for %s: %s', pid, state, wait_event,
       left(regexp_replace(query, '\s+', ' ', 'g'), 60)), '; '), 'nothing')
FROM pg_stat_activity WHERE application_name = 'pg_cutover'};
is($source->safe_psql('postgres', $source_backends), '0', 'no pg_cutover backend on the source between calls');

# The source's log since $offset has the checksum of slow (or, streamed to the target over this loopback, its
# COPY) cancelled by a user request (pg_cancel_backend): proof that the query did run on the source and was
# stopped by a cancel, not by a lost connection.
my $cancelled_on_source = join '', '\[(\d+)\] pg_cutover ERROR:  canceling statement due to user request\n',
  '[^\n]*\[\1\] pg_cutover STATEMENT:  BEGIN READ ONLY;\n(?:\t[^\n]*\n)*?\t[^\n]*FROM ONLY public\.slow AS t',
  '(?:\) TO STDOUT;)?\n';
$cancelled_on_source = qr/$cancelled_on_source/;

# Before each case: no pg_cutover backend left on the source by the one before (terminated, if need be, so
# that one failure does not spill into the next case).
sub clean_source
{
	return if defined poll_until($source, $source_backends, '0', $prompt);
	diag('terminating what is left on the source: ' . $source->safe_psql('postgres', $source_left));
	$source->safe_psql('postgres',
		q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_cutover'});
	poll_until($source, $source_backends, '0', $prompt) // BAIL_OUT('pg_cutover backends stay on the source');
}

# Pumps $session until its stderr matches $re or $seconds pass. Returns the seconds it took, or undef.
sub wait_stderr
{
	my ($session, $re, $seconds) = @_;
	my $started = time;
	while (time - $started < $seconds)
	{
		return time - $started if $session->{stderr} =~ $re;
		eval { $session->{run}->pump_nb };
		sleep 0.05;
	}
	return undef;
}

# Starts migrate_verify('slow') in a background session of the target; returns the session and the pid of its
# backend once the checksum runs on the source.
sub start_slow_verify
{
	my ($label) = @_;
	my $session = $target->background_psql('postgres', on_error_stop => 0, timeout => 60);
	$session->query_safe('\set VERBOSITY verbose');
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/verify started/, "\\echo verify started\nSELECT * FROM migrate_verify('slow');\n");
	ok(defined poll_until($source, $source_checksum_running, '1', $prompt),
		"$label: the checksum of slow runs on the source")
	  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
	return ($session, $pid);
}

# ---------------------------------------------------------------------------------------- statement_timeout
my $log_offset = -s $source->logfile;
my $r = sql_error($target, "SET statement_timeout = '2s';\nSELECT * FROM migrate_verify('slow');");
is($r->{sqlstate}, '57014', 'statement_timeout: migrate_verify fails with 57014') or diag($r->{stderr});
like($r->{message}, qr/statement timeout/, 'statement_timeout: the error says statement timeout')
  or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "statement_timeout of 2 s: the call returned within $prompt s")
  or diag("took $r->{elapsed} s");
diag(sprintf('statement_timeout: the call returned after %.2f s', $r->{elapsed}));
ok(defined poll_until($source, $source_checksum_running, '0', $prompt),
	"statement_timeout: the checksum no longer runs on the source $prompt s later")
  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
like(slurp_file($source->logfile, $log_offset), $cancelled_on_source,
	'statement_timeout: the source logged the checksum of slow as cancelled by a user request');
clean_source();

# The same with the source hashing the rows itself (pg_cutover.verify_source = sql; the cases above and below
# stream them, the source being on a loopback address).
$log_offset = -s $source->logfile;
$r = sql_error($target,
	"SET pg_cutover.verify_source = 'sql';\nSET statement_timeout = '2s';\nSELECT * FROM migrate_verify('slow');");
is($r->{sqlstate}, '57014', 'statement_timeout, the source hashing: 57014') or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "statement_timeout, the source hashing: the call returned within $prompt s")
  or diag("took $r->{elapsed} s");
ok(defined poll_until($source, $source_checksum_running, '0', $prompt),
	"statement_timeout, the source hashing: the checksum no longer runs on the source $prompt s later");
like(slurp_file($source->logfile, $log_offset), qr/pg_cutover STATEMENT:  BEGIN READ ONLY;\n(?:\t[^\n]*\n)*?\t[^\n]*md5\(/,
	'statement_timeout, the source hashing: the script cancelled was the SQL checksum');
clean_source();

# ----------------------------------------------------------------------------------------- pg_cancel_backend
$log_offset = -s $source->logfile;
my ($session, $pid) = start_slow_verify('pg_cancel_backend');
is($target->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'pg_cancel_backend reached the backend');
my $took = wait_stderr($session, qr/ERROR:\s+57014: canceling statement due to user request/, $prompt);
ok(defined $took, "pg_cancel_backend: migrate_verify fails with 57014 within $prompt s")
  or diag("stderr: $session->{stderr}");
diag(sprintf('pg_cancel_backend: the call returned after %.2f s', $took)) if defined $took;
ok(defined poll_until($source, $source_checksum_running, '0', $prompt),
	"pg_cancel_backend: the checksum no longer runs on the source $prompt s later")
  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
like(slurp_file($source->logfile, $log_offset), $cancelled_on_source,
	'pg_cancel_backend: the source logged the checksum of slow as cancelled by a user request');
if (defined $took)
{
	my ($out) = $session->query("SELECT 'session still usable'");
	is($out, 'session still usable', 'pg_cancel_backend: the session goes on');
}
$session->{run}->kill_kill;
clean_source();

# ------------------------------------------------------------------------------------- pg_terminate_backend
# The backend exits (FATAL) without unwinding: the exit callback cancels the source query.
$log_offset = -s $source->logfile;
($session, $pid) = start_slow_verify('pg_terminate_backend');
my $started = time;
is($target->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't',
	'pg_terminate_backend reached the backend');
$took = poll_until($target, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid", '0', $prompt);
ok(defined $took, "pg_terminate_backend: the target backend exited within $prompt s");
diag(sprintf('pg_terminate_backend: the backend exited after %.2f s', time - $started)) if defined $took;
ok(defined poll_until($source, $source_checksum_running, '0', $prompt),
	"pg_terminate_backend: the checksum no longer runs on the source $prompt s later")
  or diag('on the source: ' . $source->safe_psql('postgres', $source_left));
like(slurp_file($source->logfile, $log_offset), $cancelled_on_source,
	'pg_terminate_backend: the source logged the checksum of slow as cancelled by a user request');
unlike(slurp_file($target->logfile), qr/terminated by signal|was terminated by exception/,
	'pg_terminate_backend: the backend exited cleanly, its reader thread stopped before the connection closed');
$session->{run}->kill_kill;
clean_source();

# ------------------------------------------------------------------------------------ no CancelRequest sent
my $swallowed = proxy_lines('cancel');
diag("CancelRequest packets swallowed by the proxy during the three cancels: $swallowed; connections "
	  . 'forwarded: ' . proxy_lines('forward'));
is($swallowed, 0, 'the extension sent no CancelRequest (the cancels went through ordinary connections)');

# --------------------------------------------------------------------- control: the black hole holds PQcancel
# psql cancels with libpq's PQcancel on SIGINT: through the proxy, the request is swallowed and psql hangs.
my $psql_conninfo = source_conninfo($source, $password, port => $proxy_port);
$psql_conninfo =~ s/ password=\S+//;
my ($psql_out, $psql_err) = ('', '');
my $psql = do
{
	local $ENV{PGPASSWORD} = $password;
	IPC::Run::start(
		[
			$target->installed_command('psql'), '-XAtq', '-d', "$psql_conninfo application_name=black_hole_control",
			'-c', 'SELECT pg_sleep(60)'
		],
		'<', \undef, '>', \$psql_out, '2>', \$psql_err);
};
my $control_running = q{SELECT count(*) FROM pg_stat_activity
WHERE application_name = 'black_hole_control' AND state = 'active' AND query LIKE '%pg_sleep%'};
ok(defined poll_until($source, $control_running, '1', $prompt), 'control: psql runs pg_sleep through the proxy');
$psql->signal('INT');
my $caught = 0;
for (1 .. 100)
{
	last if ($caught = proxy_lines('cancel') - $swallowed) > 0;
	sleep 0.05;
}
is($caught, 1, "control: psql's PQcancel sent one CancelRequest, and the proxy swallowed it");
sleep 2;
is($source->safe_psql('postgres', $control_running), '1',
	'control: 2 s later the query still runs on the source (the cancel never arrived)');
eval { $psql->pump_nb };
ok($psql->pumpable, 'control: psql still waits in PQcancel') or diag("psql: $psql_out $psql_err");
$psql->kill_kill;
$source->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'black_hole_control'});

stop_proxy();
done_testing();
