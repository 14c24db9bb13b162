# 011_users.pl: `cutover users` moves 2,000 Supabase Auth users into the Stack Auth emulator, exactly once each,
# through injected faults and SIGKILLs (issue 6).
#
# The source loads test/fixtures/supabase.sql (60 users of every kind) and test/fixtures/supabase_users_bulk.sql
# (1,940 more: bcrypt, argon2 and no passwords, Google/GitHub/Azure/GitLab identities, phone-only, anonymous,
# banned, soft-deleted, SSO, emails that differ only in case). The target starts without the extension:
# `cutover init` creates it. The emulator runs with --fault-rate 0.2 (429, 500, drop, lost-response, html,
# malformed-json: 1/30 each).
#
#   A. One run to completion through the faults: exit 0; every Supabase user exactly once in the emulator, the
#      ID map complete and equal to the emulator's pairs, the journal all created/adopted; the --json report
#      accounts for every user, with a line for every user of a special kind; every fault kind happened and
#      each lost or unreadable answer was adopted; bcrypt hashes carried unchanged, an argon2 hash not.
#   B. Five SIGKILLs in a row at random moments (seeded: CUTOVER_TEST_SEED replays them), with latency so that a
#      run takes seconds; each rerun goes on from where the last one died; a last run to completion: the same
#      result as A.
#   C. A rerun after a complete run creates nothing: exit 0, already_mapped = 2000.
#   E. Fail fast: the client told a provider is configured that the project does not have (gitlab), for a new
#      user with that identity: exit 1, the error names the user and Stack Auth's message, the journal says
#      'failed', the other users stay consistent; a rerun with the right providers completes.
#   D. The secret server key is nowhere in the client's stdout, stderr or --log-file, nor in the emulator's
#      output (checked last, over every run).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $cutover = $CutoverTest::CUTOVER;
my $emulator_bin = $CutoverTest::EMULATOR;
ok(-x $cutover, "the client is built: $cutover") or BAIL_OUT('build it first: make');
ok(-x $emulator_bin, "the emulator is built: $emulator_bin") or BAIL_OUT('build it first: make');

my $seed = $ENV{CUTOVER_TEST_SEED} // (int(time * 1000) ^ $$) % 1_000_000_007;
srand($seed);
note("seed $seed: CUTOVER_TEST_SEED=$seed replays the kill delays and the emulator's fault draws");

my $total = 2000;
my $secret_key = new_secret('ssk_011_users_secret_key');
my $password = new_secret('users-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('users');
my $log_file = "$tmp/cutover.log";
my $json = JSON::PP->new->utf8->canonical;
my @client_outputs;    # every stdout and stderr of the client, for D

# ------------------------------------------------------------------------------------------------ clusters

my $source = new_source('source', $password);
$source->safe_psql('postgres', fixture_sql('supabase.sql'));
$source->safe_psql('postgres', fixture_sql('supabase_users_bulk.sql'));
# auth.users has row-level security on (and no policy): reading it takes BYPASSRLS, as postgres has on Supabase.
$source->safe_psql('postgres', 'ALTER ROLE migrator BYPASSRLS');
is($source->safe_psql('postgres', 'SELECT count(*) FROM auth.users'), $total, "the source holds $total users");

# The target without the extension: `cutover init` creates it.
my $target = new_node('target', 'target');
$target->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$target->append_conf('postgresql.conf', "TimeZone = 'Asia/Kolkata'\nDateStyle = 'German, DMY'");
$target->start;

# ------------------------------------------------------------------------------------------------ emulator

my $emulator = start_emulator($tmp, $secret_key, '--seed', $seed % 2_000_000_000, '--fault-rate', '0.2',
	'--retry-after', '0');
my $api = $emulator->{api};
note("emulator at $api");

sub control { return emulator_control($emulator, @_) }
sub stats { return control('GET', 'stats') }

# ------------------------------------------------------------------------------------------------ the client

my %client_env = users_env($target, $source, $password, $api, $secret_key);

# 1234567 -> "1,234,567", as the client prints counts.
sub thousands { my $n = reverse shift; $n =~ s/(\d{3})(?=\d)/$1,/g; return scalar reverse $n }

# Runs the client to its end; returns {rc, stdout, stderr, report (the --json result), seconds}.
sub cutover
{
	my (@args) = @_;
	my $r = run_client(\%client_env, @args, '--log-file', $log_file);
	push @client_outputs, $r->{stdout}, $r->{stderr};
	$r->{report} = eval { $json->decode($r->{stdout}) } if grep { $_ eq '--json' } @args;
	return $r;
}

sub report_figures
{
	my ($report) = @_;
	return 'no report' unless ref $report eq 'HASH';
	return join ', ', map { "$_ $report->{$_}" } grep { defined $report->{$_} }
	  qw(total already_mapped created adopted skipped failed retried_requests);
}

# ------------------------------------------------------------------------------------------------ checks

# What the source says each user is, by the client's rules (supabase_user.hpp): id -> kind.
sub source_kinds
{
	my %kind = map { split /\|/ } split /\n/, $source->safe_psql('postgres', q{
SELECT id, CASE WHEN deleted_at IS NOT NULL THEN 'soft_deleted'
                WHEN is_anonymous THEN 'anonymous'
                WHEN is_sso_user THEN 'sso'
                WHEN banned_until > now() THEN 'banned'
                WHEN coalesce(btrim(email), '') = '' AND coalesce(btrim(phone), '') <> '' THEN 'phone_only'
                ELSE 'regular' END
FROM auth.users});
	return \%kind;
}

# Every user of the emulator, and its users by server_metadata.supabase_user_id (a list each, to see duplicates).
sub emulator_users
{
	my $users = control('GET', 'users');
	my %by_source;
	for my $user (@$users)
	{
		my $id = ($user->{server_metadata} // {})->{supabase_user_id} // 'none';
		push @{ $by_source{$id} }, $user;
	}
	return ($users, \%by_source);
}

sub first_few
{
	my (@items) = @_;
	my $more = @items > 5 ? ' ... (' . scalar(@items) . ' in all)' : '';
	return join(', ', @items[ 0 .. ($#items < 4 ? $#items : 4) ]) . $more;
}

# The end state after a complete run: every source user exactly once in the emulator, the ID map and the
# journal complete and equal to the emulator's pairs. Returns the emulator's users by source ID.
sub check_consistent
{
	my ($label, $expected) = @_;
	my @source_ids = split /\n/, $source->safe_psql('postgres', 'SELECT id FROM auth.users ORDER BY id');
	is(scalar @source_ids, $expected, "$label: control: $expected users in the source");
	my ($users, $by_source) = emulator_users();
	my $stats = stats();

	my @duplicates = grep { @{ $by_source->{$_} } > 1 } sort keys %$by_source;
	is(scalar @duplicates, 0, "$label: no Supabase user twice in Stack Auth")
	  or diag('duplicates: ' . first_few(map { "$_ x" . scalar @{ $by_source->{$_} } } @duplicates));
	my @missing = grep { !$by_source->{$_} } @source_ids;
	is(scalar @missing, 0, "$label: every Supabase user in Stack Auth") or diag('missing: ' . first_few(@missing));
	my %in_source = map { $_ => 1 } @source_ids;
	my @foreign = grep { !$in_source{$_} } sort keys %$by_source;
	is(scalar @foreign, 0, "$label: no Stack Auth user without a Supabase user ID of the source")
	  or diag('others: ' . first_few(@foreign));
	is(scalar @$users, $expected, "$label: $expected users in Stack Auth");
	is("$stats->{users}/$stats->{creates}", scalar(@$users) . '/' . scalar(@$users),
		"$label: stats: as many users as creates (none created and lost)");

	my %map = map { split /\|/ } split /\n/,
	  $target->safe_psql('postgres', 'SELECT source_id, target_id FROM cutover.id_map');
	is(scalar keys %map, $expected, "$label: cutover.id_map holds $expected users");
	my @wrong = grep {
		my $user = $by_source->{$_};
		!$user || @$user != 1 || $user->[0]{id} ne $map{$_}
	} sort keys %map;
	is(scalar @wrong, 0, "$label: every id_map target_id is the Stack Auth user of that Supabase user")
	  or diag('wrong pairs: ' . first_few(map { "$_ -> $map{$_}" } @wrong));
	my %targets = reverse %map;
	is(scalar keys %targets, scalar keys %map, "$label: no Stack Auth ID mapped twice");

	is( $target->safe_psql('postgres',
			q{SELECT string_agg(status || ':' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM migrate_users() GROUP BY status) s
			  WHERE status NOT IN ('created', 'adopted')} ),
		'', "$label: the journal has no user left sending or failed");
	is( $target->safe_psql('postgres',
			q{SELECT count(*) FROM migrate_users() j JOIN cutover.id_map m USING (source_id) WHERE j.target_id = m.target_id}),
		$expected, "$label: the journal's target IDs are the ID map's");
	return $by_source;
}

# Back to nothing: no user in Stack Auth, none in the journal or the ID map.
sub reset_all
{
	control('POST', 'reset');
	$target->safe_psql('postgres', 'DELETE FROM cutover.user_journal; DELETE FROM cutover.id_map;');
}

# ================================================================================================ init
my $r = cutover('init');
is($r->{rc}, 0, 'cutover init: exit 0') or diag($r->{stderr});
is($target->safe_psql('postgres', q{SELECT extversion IS NOT NULL FROM pg_extension WHERE extname = 'pg_cutover'}),
	't', 'cutover init created the extension in the target');

# ================================================================================================ A
my $kinds = source_kinds();
my %kind_count;
$kind_count{$_}++ for values %$kinds;
note('users by kind in the source: ' . join(', ', map { "$_ $kind_count{$_}" } sort keys %kind_count));
ok(($kind_count{$_} // 0) >= 10, "control: the source has at least 10 $_ users")
  for qw(phone_only anonymous banned soft_deleted sso);

$r = cutover('users', '--json');
my $report = $r->{report};
my $stats_a = stats();
is($r->{rc}, 0, 'A: cutover users through 20% faults: exit 0')
  or diag("stderr: $r->{stderr}\nreport: " . report_figures($report));
note(sprintf 'A: %d users in %.2f s (%.0f users/s); report: %s', $total, $r->{seconds}, $total / $r->{seconds},
	report_figures($report));
note('A: faults: ' . join(', ', map { "$_ $stats_a->{faults}{$_}" } sort keys %{ $stats_a->{faults} })
	  . "; requests $stats_a->{requests}");
my $by_source = check_consistent('A', $total);
unlike(slurp_file($log_file), qr/users recorded one by one/,
	'A: the users of each round of answers recorded in one statement (never one by one)');

ok(ref $report eq 'HASH', 'A: --json printed the report') or diag($r->{stdout});
$report //= {};
is($report->{total}, $total, "A: report total = $total");
is(($report->{created} // 0) + ($report->{adopted} // 0) + ($report->{skipped} // 0) + ($report->{already_mapped} // 0),
	$total, 'A: created + adopted + skipped + already_mapped = total');
is($report->{failed}, 0, 'A: report failed = 0');
is($report->{already_mapped}, 0, 'A: report already_mapped = 0');
is($report->{skipped}, 0, 'A: report skipped = 0 (no user of the fixtures has a body that cannot be sent)');
my %lines;
for my $line (@{ $report->{users} // [] })
{
	$lines{ $line->{source_id} } = $line;
}
for my $kind (qw(phone_only anonymous banned soft_deleted sso))
{
	my @users = grep { $kinds->{$_} eq $kind } sort keys %$kinds;
	my @without = grep { !$lines{$_} || $lines{$_}{kind} ne $kind } @users;
	is(scalar @without, 0, "A: each of the " . scalar(@users) . " $kind users has a report line of kind $kind")
	  or diag('without: ' . first_few(@without));
	my @not_done = grep { $lines{$_} && $lines{$_}{status} !~ /^(?:created|adopted)$/ } @users;
	is(scalar @not_done, 0, "A: ... each with status created or adopted")
	  or diag('others: ' . first_few(map { "$_ $lines{$_}{status}" } @not_done));
}
my @skipped = grep { $_->{status} eq 'skipped' } values %lines;
is(scalar(grep { ($_->{notes} // '') eq '' } @skipped), 0, 'A: every skipped user (if any) has a reason');
my @wrong_kind = grep { my $u = $by_source->{$_}; $u && ($u->[0]{server_metadata}{supabase_kind} // '') ne $kinds->{$_} }
  sort keys %$kinds;
is(scalar @wrong_kind, 0, 'A: server_metadata.supabase_kind of every user is its kind in Supabase')
  or diag(first_few(@wrong_kind));
my @anonymous_ok = grep { $by_source->{$_} && $by_source->{$_}[0]{is_anonymous} } grep { $kinds->{$_} eq 'anonymous' } keys %$kinds;
is(scalar @anonymous_ok, $kind_count{anonymous}, 'A: the anonymous users are anonymous in Stack Auth');
my @restricted = grep { $by_source->{$_} && $by_source->{$_}[0]{restricted_by_admin} }
  grep { $kinds->{$_} =~ /^(?:banned|soft_deleted)$/ } keys %$kinds;
is(scalar @restricted, $kind_count{banned} + $kind_count{soft_deleted},
	'A: the banned and soft-deleted users are restricted by admin');

for my $kind ('429', '500', 'drop', 'lost-response', 'html', 'malformed-json')
{
	cmp_ok($stats_a->{faults}{$kind} // 0, '>', 0, "A: the emulator injected $kind faults");
}
cmp_ok($report->{adopted} // 0, '>', 0, 'A: some users were adopted (created, but their answer lost)');
is($report->{adopted}, $stats_a->{unanswered_creates},
	'A: adopted = creates whose answer was lost or unreadable: each was found, none created twice');
# The journal keeps the digests of what was sent for each user created by a 201 (what a later sync compares
# with), none for an adopted one (what Stack Auth holds is not known).
is( $target->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE status = 'created' AND sent_digest ~ '^[0-9a-f]{64}$' AND identities_digest ~ '^[0-9a-f]{64}$')
       = count(*) FILTER (WHERE status = 'created')
   AND count(*) FILTER (WHERE status = 'adopted' AND sent_digest IS NULL AND identities_digest IS NULL)
       = count(*) FILTER (WHERE status = 'adopted')
   AND count(DISTINCT sent_digest) = count(*) FILTER (WHERE status = 'created')
FROM migrate_users()}), 't',
	'A: each created user\'s journal row has the digests of its own body; the adopted ones none');

# Password hashes: bcrypt carried as is ($2a$10$, $2a$06$ seeded by pgcrypto, $2b$12$, $2y$10$), argon2 not.
my %hash = map { split /\|/ } split /\n/, $source->safe_psql('postgres', q{
SELECT n, coalesce(encrypted_password, '') FROM generate_series(1, 2000) AS n JOIN auth.users ON id = md5('user-' || n)::uuid
WHERE n IN (1, 17, 19, 21, 100, 155, 158, 195, 1995)});
my %uid = map { split /\|/ } split /\n/,
  $source->safe_psql('postgres', q{SELECT n, md5('user-' || n)::uuid FROM generate_series(1, 2000) AS n});
for my $n (1, 17, 19, 21, 100, 155, 158)
{
	like($hash{$n}, qr/^\$2[ayb]\$\d\d\$.{53}$/, "control: user $n has a bcrypt hash in the source");
	is($by_source->{ $uid{$n} }[0]{password_hash}, $hash{$n},
		"A: user $n: the password_hash in Stack Auth is the source's encrypted_password");
}
for my $n (195, 1995)
{
	like($hash{$n}, qr/^\$argon2id\$/, "control: user $n has an argon2id hash in the source");
	is($by_source->{ $uid{$n} }[0]{password_hash}, undef, "A: user $n (argon2id): no password hash in Stack Auth");
	like($lines{ $uid{$n} }{notes} // '', qr/argon2id hash cannot be imported/, "A: user $n: the report says why");
	ok(index($r->{stdout}, $hash{$n}) < 0, "A: user $n: the report does not quote the hash");
}
my @changed = grep {
	my $user = $by_source->{ $uid{$_} };
	$user && defined $user->[0]{password_hash} && $user->[0]{password_hash} ne ($hash{$_} // $user->[0]{password_hash})
} keys %hash;
is(scalar @changed, 0, 'A: no password hash altered');
my $with_hash = grep { defined $_->[0]{password_hash} } values %$by_source;
cmp_ok($with_hash, '>', 1200, "A: $with_hash users have their bcrypt hash in Stack Auth");

# ================================================================================================ B
# Latency, so that a run takes seconds; the same faults. First a full run, timed: how long until its first
# create (reading the source, planning) and how long in all.
control('POST', 'faults', { latency_ms => 20, latency_jitter_ms => 10 });
reset_all();

# Starts the client in the background, its output in files; returns {harness, pid, stdout, stderr, started}.
sub start_cutover
{
	my ($name, @args) = @_;
	return start_client(\%client_env, "$tmp/$name", @args, '--log-file', $log_file);
}

# Waits for a background client (after a SIGKILL if asked and it still runs); returns its wait status and
# whether the SIGKILL was sent.
sub end_cutover
{
	my ($run, $kill) = @_;
	my @ended = end_client($run, $kill);
	push @client_outputs, slurp_file($run->{stdout}), slurp_file($run->{stderr});
	return @ended;
}

my $timed = start_cutover('timed', 'users', '--json');
my $first_create;
while ($timed->{harness}->pumpable && time - $timed->{started} < 120)
{
	if (!defined $first_create && stats()->{creates} > 0)
	{
		$first_create = time - $timed->{started};
	}
	sleep 0.01;
}
my ($timed_status) = end_cutover($timed);
my $full = time - $timed->{started};
$first_create //= 0;
my $work = $full - $first_create;
is($timed_status, 0, 'B: control: a full run with latency: exit 0') or diag(slurp_file($timed->{stderr}));
note(sprintf 'B: a full run with latency takes %.2f s (%.0f users/s), its first create after %.2f s; %s', $full,
	$total / $full, $first_create, report_figures(eval { $json->decode(slurp_file($timed->{stdout})) }));
check_consistent('B, timed run', $total);

# Five kills. Kill i aims at a random share p_i of the users created, one in each fifth of 3%..83% (so some
# early, some late): its delay is the startup time plus the share of the full run's working time still to go
# to p_i, plus or minus 15%. When the last run already went past p_i, the kill lands at a random moment of the
# startup (reading the source, looking up the users left unsure).
reset_all();
my @points = map { 0.03 + ($_ - 1 + rand) * 0.16 } 1 .. 5;
my @kills;
for my $i (1 .. 5)
{
	my $mapped_before = $target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map');
	my $to_go = $points[ $i - 1 ] - $mapped_before / $total;
	my $delay = $to_go > 0 ? ($first_create + $to_go * $work) * (0.85 + rand(0.3)) : rand($first_create + 0.05);
	$delay = 0.02 if $delay < 0.02;
	my $run = start_cutover("kill$i", 'users', '--json');
	sleep $delay;
	my $cmdline = -r "/proc/$run->{pid}/cmdline" ? slurp_file("/proc/$run->{pid}/cmdline") : '';
	my ($status, $killed) = end_cutover($run, 1);
	ok(secret_free($cmdline, $secret_key, $password), "B: kill $i: no secret on the client's command line");
	my ($mapped, $sending) = query_row($target, q{SELECT (SELECT count(*) FROM cutover.id_map),
	  (SELECT count(*) FROM migrate_users() WHERE status = 'sending')});
	my $creates = stats()->{creates};
	push @kills, { delay => $delay, creates => $creates, mapped => $mapped };
	ok($killed && ($status & 127) == 9, sprintf('B: kill %d after %.2f s: the run was killed with SIGKILL', $i, $delay))
	  or diag("it ended first with status $status: " . slurp_file($run->{stderr}));
	note(sprintf 'B: kill %d aimed at %.0f%% of the users, after %.2f s: %d users created in Stack Auth, %d in the '
		  . 'ID map, %d left sending in the journal', $i, 100 * $points[ $i - 1 ], $delay, $creates, $mapped,
		$sending);
}
note('B: users created at each kill: ' . join(' ', map { $_->{creates} } @kills));
cmp_ok($kills[-1]{creates}, '<', $total, 'B: the last kill came before every user was created');
$r = cutover('users', '--json');
is($r->{rc}, 0, 'B: the run after five kills completes: exit 0') or diag($r->{stderr});
note('B: final run: ' . report_figures($r->{report}) . sprintf(' in %.2f s', $r->{seconds}));
is(($r->{report}{created} // 0) + ($r->{report}{adopted} // 0) + ($r->{report}{already_mapped} // 0), $total,
	'B: final run: created + adopted + already_mapped = total');
my $stats_b = stats();
note('B: faults over the kills: ' . join(', ', map { "$_ $stats_b->{faults}{$_}" } sort keys %{ $stats_b->{faults} }));
check_consistent('B', $total);

# ================================================================================================ C
control('POST', 'faults', { latency_ms => 0, latency_jitter_ms => 0 });
my $before = stats();
$r = cutover('users', '--json');
my $after = stats();
is($r->{rc}, 0, 'C: a rerun after a complete run: exit 0') or diag($r->{stderr});
is($r->{report}{already_mapped}, $total, "C: already_mapped = $total");
is(($r->{report}{created} // -1) . '/' . ($r->{report}{adopted} // -1), '0/0', 'C: nothing created or adopted');
is($after->{creates}, $before->{creates}, 'C: the emulator saw no create');
is($after->{users}, $total, "C: still $total users in Stack Auth");

# Quiet means quiet: every user mapped, the terminal shows counts by kind and no user's line; each of them is
# in the --report file (JSON lines), and with -v at the terminal too.
my $report_file = "$tmp/users-report.jsonl";
$r = cutover('users', '--report', $report_file);
is($r->{rc}, 0, 'C: cutover users --report FILE: exit 0') or diag($r->{stderr});
my $needing = scalar @{ $report->{users} // [] };
like($r->{stdout}, qr/^users that need a word: \Q@{[ thousands($needing) ]}\E$/m, "C: the terminal counts the $needing users that need a word");
like($r->{stdout}, qr/^  anonymous, already mapped: \d+$/m, 'C: ... by kind and status');
my @user_lines = $r->{stdout} =~ /^  [0-9a-f]{8}-[0-9a-f]{4}-/mg;
is(scalar @user_lines, 0, 'C: ... and prints no user\'s line (none is new)');
like($r->{stdout}, qr/each user's line is in \Q$report_file\E/, 'C: ... saying where they are');
my @reported = map { decode_json($_) } split /\n/, slurp_file($report_file);
is(scalar @reported, $needing, 'C: the report file holds one JSON line for each of them');
is(scalar(grep { JSON::PP::is_bool($_->{new}) && !$_->{new} && $_->{status} eq 'already mapped' && $_->{source_id} =~ /^[0-9a-f-]{36}$/ } @reported),
	$needing, 'C: ... each with source_id, status "already mapped" and new false (a JSON boolean)');
$r = cutover('users', '-v');
@user_lines = $r->{stdout} =~ /^  [0-9a-f]{8}-[0-9a-f]{4}-/mg;
is(scalar @user_lines, $needing, 'C: with -v the terminal shows each line');
$r = cutover('users', '--report', "$tmp/no/such/dir/report.jsonl");
is($r->{rc}, 2, 'C: a report file that cannot be written: exit 2');
like($r->{stderr}, qr/cannot write the report file/, 'C: ... saying so');

# ================================================================================================ E
# 20 new regular users and one with a GitLab identity; the client is told gitlab is configured, the project
# does not have it: Stack Auth refuses that user for good. No faults here: the refusal is the only failure.
control('POST', 'faults', { fault_rate => 0 });
$source->safe_psql('postgres', q{
ALTER TABLE auth.users DISABLE TRIGGER on_auth_user_created;
INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data,
                        raw_user_meta_data, created_at, updated_at, last_sign_in_at)
SELECT '00000000-0000-0000-0000-000000000000', md5('user-' || n)::uuid, 'authenticated', 'authenticated',
       'late.' || n || '@example.com', '',
       timestamptz '2024-07-31 10:00:00+00', '{"provider": "email", "providers": ["email"]}',
       jsonb_build_object('full_name', 'Late User ' || n), timestamptz '2024-07-31 10:00:00+00' + n * interval '1 second',
       timestamptz '2024-07-31 10:00:00+00' + n * interval '1 second', NULL
FROM generate_series(2001, 2021) AS n;
UPDATE auth.users SET raw_app_meta_data = '{"provider": "gitlab", "providers": ["gitlab"]}' WHERE id = md5('user-2021')::uuid;
INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at, id)
VALUES ('90210', md5('user-2021')::uuid,
        '{"iss": "https://gitlab.com", "sub": "90210", "email": "late.2021@example.com", "name": "Late User 2021"}',
        'gitlab', timestamptz '2024-07-31 10:00:00+00', timestamptz '2024-07-31 10:00:00+00', md5('identity-2021-gitlab')::uuid);
ALTER TABLE auth.users ENABLE TRIGGER on_auth_user_created;
});
my $gitlab_user = $source->safe_psql('postgres', q{SELECT md5('user-2021')::uuid});
$r = cutover('users', '--json', '--oauth-providers', 'google,github,microsoft,gitlab');
is($r->{rc}, 1, 'E: a user Stack Auth refuses for good: exit 1') or diag($r->{stderr});
like($r->{stderr}, qr/error: user \Q$gitlab_user\E\b[^\n]*OAuth provider gitlab not found/,
	'E: the error names the user and Stack Auth\'s message') or diag($r->{stderr});
is($r->{report}{failed}, 1, 'E: report failed = 1') or diag(report_figures($r->{report}));
like(join("\n", @{ $r->{report}{errors} // [] }), qr/\Q$gitlab_user\E.*OAuth provider gitlab not found/,
	'E: the report\'s errors say the same');
my ($status, $last_error) =
  query_row($target, "SELECT status, last_error FROM migrate_users() WHERE source_id = '$gitlab_user'");
is($status, 'failed', 'E: the journal says failed');
like($last_error // '', qr/OAuth provider gitlab not found/, 'E: the journal keeps Stack Auth\'s message');
is($target->safe_psql('postgres', "SELECT count(*) FROM cutover.id_map WHERE source_id = '$gitlab_user'"),
	'0', 'E: the refused user is not in the ID map');
{
	my ($users, $by) = emulator_users();
	my @duplicates = grep { @{ $by->{$_} } > 1 } keys %$by;
	is(scalar @duplicates, 0, 'E: no Supabase user twice in Stack Auth');
	ok(!$by->{$gitlab_user}, 'E: the refused user is not in Stack Auth');
	my %map = map { split /\|/ } split /\n/,
	  $target->safe_psql('postgres', 'SELECT source_id, target_id FROM cutover.id_map');
	my @unmapped = grep { !defined $map{$_} || $map{$_} ne $by->{$_}[0]{id} } keys %$by;
	is(scalar @unmapped, 0, 'E: every Stack Auth user is in the ID map with its own ID')
	  or diag(first_few(@unmapped));
	is(scalar keys %map, scalar @$users, 'E: the ID map holds exactly the users of Stack Auth');
	note(sprintf 'E: %d of the 20 other new users were created before the run stopped', scalar(@$users) - $total);
}
$r = cutover('users', '--json');
is($r->{rc}, 0, 'E: rerun with the providers the project has: exit 0') or diag($r->{stderr});
note('E: rerun: ' . report_figures($r->{report}));
my ($gitlab_line) = grep { $_->{source_id} eq $gitlab_user } @{ $r->{report}{users} // [] };
like(($gitlab_line // {})->{notes} // '', qr/gitlab sign-in not configured/,
	'E: rerun: the report says the GitLab identity was left out');
is(($gitlab_line // {})->{status} // '', 'created', 'E: rerun: the refused user is created this time');
check_consistent('E', $total + 21);

# ================================================================================================ D
$emulator->{harness}->signal('TERM');
$emulator->{harness}->finish;
is($emulator->{harness}->full_result(0), 0, 'the emulator stops with exit 0');
my $emulator_output = slurp_file($emulator->{stdout}) . slurp_file($emulator->{stderr});
my $log = slurp_file($log_file);
cmp_ok(length($log), '>', 1000, 'control: the client wrote its --log-file');
cmp_ok(scalar(@client_outputs), '>=', 20, 'control: the outputs of every client run were kept');
ok(secret_free(join("\n", @client_outputs), $secret_key), 'D: the secret key is in no stdout or stderr of the client');
ok(secret_free($log, $secret_key), 'D: the secret key is not in the --log-file');
ok(secret_free($emulator_output, $secret_key), 'D: the secret key is not in the emulator\'s output');
ok(secret_free(join("\n", @client_outputs, $log), $password), 'D: nor the source\'s password');
ok(secret_free(slurp_file($target->logfile) . slurp_file($source->logfile), $secret_key),
	'D: the secret key is not in the server logs either');

done_testing();
