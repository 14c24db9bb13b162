# 014_kill_anything.pl: `cutover run` killed with SIGKILL at random moments, through Stack Auth faults of every
# kind, then run again: every user exactly once, every row exactly once, nothing leaked (issue 8).
#
# The source: the Supabase-shaped fixture with $users users and $readings sensor readings. The target: one
# database per round, made from a template holding the application's empty schema. The emulator injects
# faults into 20% of the requests, spread over every kind it has (429, 500, drop, lost-response, html,
# malformed-json), with a little latency so that the users step takes time too.
#
#   Round 0: one whole `cutover run -j 2` without a kill: its log times each step.
#   Rounds 1..K: `cutover init`, then `cutover run -j 2` killed with SIGKILL at a random moment of one of its
#   steps (init, users, plan, pull, verify in turn: once its log shows the step began, after a random part of
#   the step's time in round 0; a round whose run ended first is done again), then `cutover run -j 2 --json` once more, which must finish (exit 0) and
#   print one JSON document.
#
# After every round: every planned table verified; each table holds as many rows as the source's (and its
# checksum matched: verified); each Supabase user exists exactly once in Stack Auth, under the Stack Auth ID
# the ID map holds for it; no user left `sending` or `failed` in the journal. At the end: neither the server
# key nor the database password in any log (both clusters, the emulator, every --log-file), any output of the
# client (--json included), or any command line `ps` showed while the client ran.
#
# K is CUTOVER_KILLS (default 5, as in `make test`; `make test-full` sets 20). The seed is printed:
# CUTOVER_TEST_SEED=<seed> replays the kill delays and the emulator's fault draws.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use JSON::PP;
use List::Util qw(sum0);
use Time::Local qw(timegm);
use Time::HiRes qw(time sleep);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $kills = $ENV{CUTOVER_KILLS} // 5;
my $users = 400;
my $readings = 150_000;
my $seed = $ENV{CUTOVER_TEST_SEED} // (int(time * 1000) ^ $$) % 1_000_000_007;
srand($seed);
note("seed $seed: CUTOVER_TEST_SEED=$seed replays the kill delays and the emulator's fault draws; $kills kills");

my $key = new_secret('ssk_014_kill_anything');
my $password = new_secret('kill-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('kill');
my $project = '5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35';    # the emulator's default
my @outputs;    # every output and log file of the client, searched for secrets at the end
my @ps_lines;    # every command line seen while a client ran

# ------------------------------------------------------------------------------------------------ clusters

my $source = new_source('source', $password);
$source->safe_psql('postgres', fixture_sql('supabase.sql'));
$source->safe_psql('postgres', fixture_sql('supabase_users_bulk.sql'));
$source->safe_psql('postgres', qq{
DELETE FROM auth.users WHERE id IN (SELECT md5('user-' || n)::uuid FROM generate_series($users + 1, 2000) AS n);
INSERT INTO public.sensor_readings (id, device_id, taken_at, value)
SELECT (SELECT max(id) FROM public.sensor_readings) + g, d.ids[1 + g % cardinality(d.ids)],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', round((20 + 10 * sin(g / 500.0))::numeric, 3)
FROM generate_series(1, $readings) AS g, (SELECT array_agg(id ORDER BY id) AS ids FROM public.devices) AS d;
ALTER ROLE migrator BYPASSRLS;
ANALYZE;
});
is($source->safe_psql('postgres', 'SELECT count(*) FROM auth.users'), $users, "the source holds $users users");

# Every statement logged, so that a secret in any SQL text would be in the log.
my $target = new_node('target', 'target');
$target->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$target->append_conf('postgresql.conf', "log_statement = 'all'\nlog_min_error_statement = error\n");
$target->start;
$target->safe_psql('postgres', 'CREATE DATABASE template_app');
$target->safe_psql('template_app', fixture_sql('supabase_target.sql'));

my $emulator = start_emulator($tmp, $key, '--seed', $seed % 2_000_000_000, '--fault-rate', '0.2',
	'--retry-after', '0', '--latency-ms', '2', '--latency-jitter-ms', '4');
my $settings = emulator_control($emulator, 'GET', 'faults');
my @kinds = grep { /^fault_/ } sort keys %$settings;
ok(@kinds >= 6 && !grep({ abs($settings->{$_} - 0.2 / @kinds) > 1e-9 } @kinds),
	'the emulator injects every kind of fault it has, 20% in all: ' . join(', ', @kinds));

my %base_env = (
	PGHOST => $target->host, PGPORT => $target->port, PGUSER => scalar(getpwuid($<)),
	CUTOVER_SOURCE_URL => source_conninfo($source, $password),
	STACK_API_URL => $emulator->{api}, STACK_PROJECT_ID => $project, STACK_SECRET_SERVER_KEY => $key,
	PGPASSWORD => undef, PGOPTIONS => undef);

# The source's truth: its users and the row count of every table.
my %source_users = map { $_ => 1 } split /\n/, $source->safe_psql('postgres', 'SELECT id FROM auth.users');
my %totals = (crashes => 0, lost_users => 0, duplicate_users => 0, lost_rows => 0, duplicate_rows => 0);
my (%faults, %phases);

# ------------------------------------------------------------------------------------------------ rounds

# A fresh target database and an empty Stack Auth; `cutover init` and the columns the runbook marks.
sub new_round
{
	my ($round) = @_;
	my $db = "round_$round";
	$target->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE template_app");
	emulator_control($emulator, 'POST', 'reset');
	my %env = (%base_env, PGDATABASE => $db);
	my $init = client(\%env, "$round-init", 'init');
	is($init->{rc}, 0, "round $round: cutover init") or diag($init->{stderr});
	$target->safe_psql($db, q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
});
	return \%env;
}

# Runs the client to its end, keeping its output and log file for the secret search.
sub client
{
	my ($env, $name, @args) = @_;
	my $log = "$tmp/$name.jsonl";
	my $r = run_client($env, @args, '--log-file', $log);
	push @outputs, $r->{stdout}, $r->{stderr};
	push @outputs, slurp_file($log) if -e $log;
	return $r;
}

# Every check of a finished round; adds what was lost or duplicated to %totals.
sub check_round
{
	my ($env, $label) = @_;
	my $db = $env->{PGDATABASE};
	my @planned = split /\n/, $target->safe_psql($db, 'SELECT table_name FROM migrate_plan()');
	my $verified = $target->safe_psql($db, q{SELECT count(*) FROM migrate_status() WHERE status = 'verified'});
	is($verified, scalar(@planned), "$label: all " . scalar(@planned) . ' planned tables verified');

	my ($lost_rows, $duplicate_rows) = (0, 0);
	for my $table (@planned)
	{
		my $count = "SELECT count(*) FROM $table";
		my $difference = $target->safe_psql($db, $count) - $source->safe_psql('postgres', $count);
		$duplicate_rows += $difference if $difference > 0;
		$lost_rows -= $difference if $difference < 0;
	}
	is("$lost_rows/$duplicate_rows", '0/0', "$label: no row lost or duplicated (lost/duplicated)");

	# Stack Auth: each Supabase user exactly once, under the ID the map holds.
	my %stack;    # supabase id => [stack ids]
	for my $user (@{ emulator_control($emulator, 'GET', 'users') })
	{
		my $supabase_id = ($user->{server_metadata} // {})->{supabase_user_id} // 'none';
		push @{ $stack{$supabase_id} }, $user->{id};
	}
	my $lost_users = grep { !$stack{$_} } keys %source_users;
	my $duplicate_users = sum0(map { @{ $stack{$_} } - 1 } keys %stack) + @{ $stack{none} // [] };
	is("$lost_users/$duplicate_users", '0/0', "$label: every user in Stack Auth exactly once (lost/duplicated)");
	my %map = map { split /\|/ } split /\n/, $target->safe_psql($db, 'SELECT source_id, target_id FROM cutover.id_map');
	my $mismatched = grep { !$stack{$_} || $stack{$_}[0] ne ($map{$_} // '') } keys %source_users;
	is($mismatched, 0, "$label: the ID map holds each user's Stack Auth ID");
	is($target->safe_psql($db, q{SELECT count(*) FROM cutover.user_journal WHERE status IN ('sending', 'failed')}),
		'0', "$label: no user left sending or failed in the journal");

	my $stats = emulator_control($emulator, 'GET', 'stats');
	$faults{$_} += $stats->{faults}{$_} for keys %{ $stats->{faults} };
	$totals{lost_rows} += $lost_rows;
	$totals{duplicate_rows} += $duplicate_rows;
	$totals{lost_users} += $lost_users;
	$totals{duplicate_users} += $duplicate_users;
}

# Round 0: a whole run, timed.
my $env = new_round(0);
my $whole = client($env, '0-run', 'run', '-j', '2');
is($whole->{rc}, 0, 'round 0: a whole cutover run through the faults: exit 0') or diag($whole->{stderr});
my $span = $whole->{seconds};
check_round($env, 'round 0');

# When each step of round 0 began and ended, in seconds from the client's start (its log's times).
sub epoch_of
{
	my ($time) = @_;
	my ($y, $mo, $d, $h, $mi, $s) = $time =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):([\d.]+)Z$/ or die "a log time: $time";
	return timegm(0, $mi, $h, $d, $mo - 1, $y) + $s;
}
my @log0 = map { decode_json($_) } split /\n/, slurp_file("$tmp/0-run.jsonl");
my $zero = epoch_of($log0[-1]{time}) - $span;
my @steps;    # [name, from, to]
for my $line (grep { ($_->{message} // '') =~ /^cutover run: / } @log0)
{
	my $at = epoch_of($line->{time}) - $zero;
	$steps[-1][2] = $at if @steps;
	push @steps, [ $line->{message} =~ /^cutover run: (\w+)/, $at, $span ] unless $line->{message} =~ /every step done/;
}
ok(@steps == 5, 'round 0: the log shows the five steps of the run');
note(sprintf('round 0: the whole run took %.2f s: %s', $span,
	join(', ', map { sprintf('%s %.2f-%.2f s', @$_) } @steps)));

# Round k kills during step k mod 5: once the run's log shows the step began, after a random part of that
# step's time in round 0. A round whose run ended before its kill is done again, so that every kill lands.
for my $round (1 .. $kills)
{
	my ($step, $from, $to) = @{ $steps[ ($round - 1) % @steps ] };
	my ($killed, $phase, $tries) = (0, 'start', 0);
	while (!$killed && $tries++ < 4)
	{
		$target->safe_psql('postgres', "DROP DATABASE IF EXISTS round_$round WITH (FORCE)");
		$env = new_round($round);
		my $files = "$tmp/$round-$tries-killed";
		my $run = start_client($env, $files, 'run', '-j', '2', '--log-file', "$files.jsonl");
		my ($began, $delay);
		while ($run->{harness}->pumpable && time - $run->{started} < 120)
		{
			push @ps_lines, grep { /cutover|postgres|stack_auth_emulator/ } split /\n/, `ps -eo args 2>/dev/null`;
			if (!defined $began && -e "$files.jsonl" && slurp_file("$files.jsonl") =~ /"cutover run: $step"/)
			{
				$began = time;
				$delay = 0.8 * ($to - $from) * rand;
			}
			last if defined $began && time - $began >= $delay;
			sleep 0.01;
		}
		(undef, $killed) = end_client($run, 1);
		push @outputs, map { -e "$files.$_" ? slurp_file("$files.$_") : '' } qw(stdout stderr jsonl);
		my @log = map { decode_json($_) } split /\n/, (-e "$files.jsonl" ? slurp_file("$files.jsonl") : '');
		($phase) = reverse map { ($_->{message} // '') =~ /^cutover run: (\w+)$/ ? $1 : () } @log;
		$phase //= 'start';
		note(sprintf('round %d: SIGKILL %s %.2f s into step %s (%.2f s after the start), the log\'s last step %s',
			$round, $killed ? 'sent' : 'too late (the run had ended; again)', $delay // -1, $step,
			time - $run->{started}, $phase));
	}
	$totals{crashes}++ if $killed;
	$phases{$phase}++ if $killed;

	my $again = client($env, "$round-rerun", 'run', '-j', '2', '--json');
	is($again->{rc}, 0, "round $round: the rerun after the kill finishes: exit 0") or diag($again->{stderr});
	my $document = eval { decode_json($again->{stdout}) };
	ok($document && $document->{done} && $document->{steps}{verify},
		"round $round: the rerun's --json output is one document, every step done");
	check_round($env, "round $round");
	$target->safe_psql('postgres', "DROP DATABASE round_" . ($round - 1) . " WITH (FORCE)");
}
is($totals{crashes}, $kills, "each of the $kills kills landed while the client ran");

# ------------------------------------------------------------------------------------------------ secrets

my $verify = client($env, 'verify', 'verify', '--json');
is($verify->{rc}, 0, 'cutover verify --json after the last round: exit 0');
ok(@ps_lines > 0 && grep({ /cutover run/ } @ps_lines), 'ps showed the client while it ran (' . scalar(@ps_lines) . ' lines)');
my %searched = (
	'the source log' => slurp_file($source->logfile),
	'the target log' => slurp_file($target->logfile),
	'the emulator output' => slurp_file($emulator->{stdout}) . slurp_file($emulator->{stderr}),
	'the client outputs and log files' => join("\n", @outputs),
	'the ps command lines' => join("\n", @ps_lines));
for my $where (sort keys %searched)
{
	ok(secret_free($searched{$where}, $key, $password), "neither the server key nor the password in $where");
}

my $fault_total = sum0(values %faults);
note(sprintf('crashes survived: %d of %d kills (%s); faults survived: %d (%s); users lost %d, duplicated %d; '
	  . 'rows lost %d, duplicated %d', $totals{crashes}, $kills,
	join(', ', map { "$_ $phases{$_}" } sort keys %phases), $fault_total,
	join(', ', map { "$_ $faults{$_}" } sort keys %faults), @totals{qw(lost_users duplicate_users lost_rows duplicate_rows)}));
for my $kind (map { s/^fault_//r =~ s/_/-/gr } @kinds)
{
	cmp_ok($faults{$kind} // 0, '>', 0, "faults of kind $kind were injected and survived");
}

done_testing();
