# 020_users_sync.pl: users created days ahead of the window, then `cutover users --sync` in it (issue 18).
#
# The source loads the 2,000 users of test/fixtures/supabase.sql and supabase_users_bulk.sql; `cutover users`
# creates them in the emulator through 20% faults (some answers lost: those users are adopted, and what
# Stack Auth holds of them is not known). Then the source changes, as a live Supabase does before the freeze,
# with every kind of change, on users drawn at random (seeded: CUTOVER_TEST_SEED replays them):
# email, email confirmation, password hash, display name, avatar, user metadata, app metadata, a ban, a ban
# lifted, a soft delete; an OAuth identity added and one removed; new users; users deleted.
#
#   A. `users --sync --dry-run`: the counts of what it would do, the identity changes and the deleted users
#      named; nothing sent, nothing written. Without --sync, `users --dry-run` says that --sync is needed.
#   B. `users --sync` under 20% faults with latency, SIGKILLed 3 times at seeded moments, then run to its end:
#      exit 0; Stack Auth equal, field by field, to what a fresh migration of the changed source creates (a
#      second emulator, a second target database); each Supabase user once; the deleted users reported by
#      name and still in Stack Auth; every changed user's new digest in the journal, the unchanged ones' as
#      they were; no more PATCHes than the changes, the lost answers and the kills explain.
#   C. `users --sync --delete-removed`: the deleted users gone from Stack Auth, their pairs kept and marked;
#      a rerun sends nothing at all.
#   D. `cutover run`'s users step syncs: a name changed on the source reaches Stack Auth.
#   E. The secret key is in no output.
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
ok(-x $cutover, "the client is built: $cutover") or BAIL_OUT('build it first: make');

my $seed = $ENV{CUTOVER_TEST_SEED} // (int(time * 1000) ^ $$) % 1_000_000_007;
srand($seed);
note("seed $seed: CUTOVER_TEST_SEED=$seed replays the users drawn, the kill delays and the emulator's faults");

my $secret_key = new_secret('ssk_020_users_sync_key');
my $password = new_secret('sync-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('sync');
my $json = JSON::PP->new->utf8->canonical;
my @client_outputs;

my $source = new_source('source', $password);
$source->safe_psql('postgres', fixture_sql('supabase.sql'));
$source->safe_psql('postgres', fixture_sql('supabase_users_bulk.sql'));
$source->safe_psql('postgres', 'ALTER ROLE migrator BYPASSRLS');

my $target = new_node('target', 'target');
$target->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$target->start;
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));    # for D's `cutover run`
$target->safe_psql('postgres', 'CREATE DATABASE fresh');

mkdir "$tmp/$_" for qw(ahead fresh);
my $emulator = start_emulator("$tmp/ahead", $secret_key, '--seed', $seed % 2_000_000_000, '--fault-rate', '0.2',
	'--retry-after', '0');
my $fresh_emulator = start_emulator("$tmp/fresh", $secret_key);
sub control { return emulator_control($emulator, @_) }
sub stats { return control('GET', 'stats') }

my %client_env = users_env($target, $source, $password, $emulator->{api}, $secret_key);

sub cutover
{
	my (@args) = @_;
	my $r = run_client(\%client_env, @args);
	push @client_outputs, $r->{stdout}, $r->{stderr};
	$r->{report} = eval { $json->decode($r->{stdout}) } // {} if grep { $_ eq '--json' } @args;
	return $r;
}

sub first_few
{
	my (@items) = @_;
	my $more = @items > 5 ? ' ... (' . scalar(@items) . ' in all)' : '';
	return join(', ', @items[ 0 .. ($#items < 4 ? $#items : 4) ]) . $more;
}

# The users of an emulator by Supabase user ID (a list each, to see duplicates).
sub users_by_source
{
	my ($which) = @_;
	my %by_source;
	for my $user (@{ emulator_control($which, 'GET', 'users') })
	{
		push @{ $by_source{ ($user->{server_metadata} // {})->{supabase_user_id} // 'none' } }, $user;
	}
	return \%by_source;
}

sub journal_digests
{
	return { map { split /\|/ } split /\n/,
		  $target->safe_psql('postgres', q{SELECT source_id, coalesce(sent_digest, 'NULL') FROM migrate_users()}) };
}

# ================================================================================================ ahead
my $r = cutover('init');
is($r->{rc}, 0, 'cutover init: exit 0') or diag($r->{stderr});
$r = cutover('users', '--json');
is($r->{rc}, 0, 'ahead of the window: cutover users through 20% faults: exit 0') or diag($r->{stderr});
my $adopted = $r->{report}{adopted} // 0;
note("ahead: created $r->{report}{created}, adopted $adopted");
cmp_ok($adopted, '>', 0, 'ahead: some users adopted (their answers lost): what Stack Auth holds of them is unknown');

# ================================================================================================ changes
# Users drawn from the bulk's plain email-and-password ones (b = n % 100 below 55; no public table refers to
# them; not b 46-47, whose emails differ only in case from others'), each for one change. The OAuth changes
# go to users created by a 201 (an adopted user's OAuth accounts are not known, so not compared).
my %status = map { split /\|/ } split /\n/, $target->safe_psql('postgres', q{SELECT source_id, status FROM migrate_users()});
my %uid = map { split /\|/ } split /\n/,
  $source->safe_psql('postgres', q{SELECT n, md5('user-' || n)::uuid FROM generate_series(1, 2000) AS n});
my @plain = grep { $_ % 100 < 55 && $_ % 100 != 46 && $_ % 100 != 47 } 61 .. 2000;
for my $i (reverse 1 .. $#plain)
{
	my $j = int rand($i + 1);
	@plain[ $i, $j ] = @plain[ $j, $i ];
}
my %change = (
	email => q{email = 'changed-' || n || '@example.org'},
	unconfirm => q{email_confirmed_at = NULL},
	password => q{encrypted_password = '$2a$10$' || rpad(md5('new-' || n), 53, 'x')},
	name => q{raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || jsonb_build_object('full_name', 'Renamed ' || n)},
	avatar => q{raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || jsonb_build_object('avatar_url', 'https://img.example.org/' || n || '.png')},
	# (a plan of its own: the bulk gives {"plan": "pro"} to every user with n % 50 = 7 already)
	app_metadata => q{raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || jsonb_build_object('plan', 'team-' || n)},
	ban => q{banned_until = '2999-01-01 00:00:00+00'},
	soft_delete => q{deleted_at = '2026-12-01 10:00:00+00'});
my %changed;    # Supabase user ID -> the kind of change
my $per_kind = 6;
for my $kind (sort keys %change)
{
	my @ns = splice @plain, 0, $per_kind;
	my $ids = $source->safe_psql('postgres', "UPDATE auth.users AS u SET $change{$kind} FROM unnest(ARRAY[@{[ join ',', @ns ]}]) AS n "
		  . "WHERE u.id = md5('user-' || n)::uuid RETURNING u.id");
	$changed{$_} = $kind for split /\n/, $ids;
}
# A ban lifted: the banned users of the bulk (b = 91).
my $unbanned = $source->safe_psql('postgres', q{UPDATE auth.users SET banned_until = NULL
	WHERE id IN (SELECT md5('user-' || n)::uuid FROM generate_series(91, 2000, 100) AS n) RETURNING id});
$changed{$_} = 'unban' for split /\n/, $unbanned;
is(scalar keys %changed, 8 * $per_kind + 20, 'control: ' . (8 * $per_kind + 20) . ' users changed on the source');

# OAuth identities: one added (GitHub) to a user without one, the Google one of an email+Google user removed
# (b = 81): both only reported.
my ($linked) = grep { $status{ $uid{$_} } eq 'created' } @plain;
@plain = grep { $_ != $linked } @plain;
my ($unlinked) = grep { $status{ $uid{$_} } eq 'created' } map { $_ * 100 + 81 } 1 .. 19;
my $identity_added = $source->safe_psql('postgres', qq{
INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
VALUES ('gh-$linked', md5('user-$linked')::uuid, '{"email": "gh$linked\@example.org"}', 'github', now(), now())
RETURNING user_id});
my $identity_removed = $source->safe_psql('postgres', qq{
DELETE FROM auth.identities WHERE user_id = md5('user-$unlinked')::uuid AND provider = 'google' RETURNING user_id});
ok($identity_added && $identity_removed, 'control: an identity added, one removed');

# New users, created in Supabase after the run ahead.
my $new_count = 20;
$source->safe_psql('postgres', qq{
INSERT INTO auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data,
                        raw_user_meta_data, created_at, updated_at)
SELECT md5('new-user-' || g)::uuid, 'authenticated', 'authenticated', 'new-' || g || '\@example.org',
       '\$2a\$10\$' || rpad(md5('pw-' || g), 53, 'y'), now(), '{"provider": "email", "providers": ["email"]}',
       jsonb_build_object('full_name', 'New ' || g), now(), now()
FROM generate_series(1, $new_count) AS g});

# Users deleted in Supabase.
my @deleted_ns = splice @plain, 0, 10;
my @deleted = split /\n/, $source->safe_psql('postgres',
	"DELETE FROM auth.users WHERE id IN (SELECT md5('user-' || n)::uuid FROM unnest(ARRAY[@{[ join ',', @deleted_ns ]}]) AS n) RETURNING id");
is(scalar @deleted, 10, 'control: 10 users deleted on the source');
my $source_total = $source->safe_psql('postgres', 'SELECT count(*) FROM auth.users');

# ================================================================================================ A
my $stats_before = stats();
my $journal_before = journal_digests();
$r = cutover('users', '--sync', '--dry-run', '--json');
is($r->{rc}, 0, 'A: users --sync --dry-run: exit 0') or diag($r->{stderr});
my $dry = $r->{report};
# every changed user, and every adopted one (its digest unknown) unless it is among them or deleted
my %deleted = map { $_ => 1 } @deleted;
my @adopted_kept = grep { $journal_before->{$_} eq 'NULL' && !$changed{$_} && !$deleted{$_} } keys %$journal_before;
my $expected_updates = (keys %changed) + @adopted_kept;
is($dry->{to_update}, $expected_updates, "A: dry run: $expected_updates users to update (the changed and the adopted)");
is($dry->{removed}, 10, 'A: dry run: 10 users deleted in Supabase');
is($dry->{identities_changed}, 2, 'A: dry run: 2 users whose OAuth accounts changed');
like($r->{stderr}, qr/dry run: $new_count users would be created in Stack Auth, $expected_updates updated, 0 deleted/,
	'A: dry run: says what it would do');
my %dry_lines = map { $_->{source_id} => $_ } @{ $dry->{users} // [] };
is(scalar(grep { ($dry_lines{$_}{status} // '') eq 'deleted in Supabase' } @deleted), 10,
	'A: dry run: each deleted user named');
is(join(',', map { $dry_lines{$_}{status} // 'none' } $identity_added, $identity_removed),
	'oauth accounts changed,oauth accounts changed', 'A: dry run: each OAuth change named');
my $stats_dry = stats();
is(join('/', map { $stats_dry->{$_} } qw(creates updates deletes)),
	join('/', map { $stats_before->{$_} } qw(creates updates deletes)), 'A: dry run: nothing sent to Stack Auth');
is_deeply(journal_digests(), $journal_before, 'A: dry run: the journal unchanged');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map WHERE removed_at IS NOT NULL'), 0,
	'A: dry run: no pair marked');
$r = cutover('users', '--dry-run');
like($r->{stdout}, qr/changed in Supabase since sent: \d+ \(--sync updates them\)/,
	'A: without --sync, a dry run says that --sync updates the changed users');

# ================================================================================================ B
control('POST', 'faults', { latency_ms => 60, latency_jitter_ms => 20 });
my @sync_args = ('users', '--sync', '--concurrency', '4', '--json');
for my $kill (1 .. 3)
{
	my $run = start_client(\%client_env, "$tmp/kill$kill", @sync_args);
	my $delay = 0.3 + rand(2.5);
	sleep $delay;
	my ($status, $killed) = end_client($run, 1);
	push @client_outputs, slurp_file($run->{stdout}), slurp_file($run->{stderr});
	my $s = stats();
	note(sprintf 'B: kill %d after %.2f s: %s; %d updates, %d creates so far', $kill, $delay,
		$killed ? 'killed' : "ended first with status $status", $s->{updates}, $s->{creates});
	ok(!$killed || ($status & 127) == 9, "B: kill $kill: SIGKILL, or the sync was already done");
}
$r = cutover(@sync_args, '--log-file', "$tmp/sync.jsonl");
is($r->{rc}, 0, 'B: the sync after 3 kills completes through 20% faults: exit 0') or diag($r->{stderr});
unlike(slurp_file("$tmp/sync.jsonl"), qr/recorded one by one/,
	'B: the answers of a round recorded together (never one by one: every record is valid)');
my $stats_b = stats();
note('B: emulator: ' . join(', ', map { "$_ $stats_b->{$_}" } qw(creates updates deletes unanswered_creates unanswered_updates)));

# The reference: a fresh migration of the changed source.
my %fresh_env = users_env($target, $source, $password, $fresh_emulator->{api}, $secret_key, dbname => 'fresh');
my $fresh = run_client(\%fresh_env, 'init');
is($fresh->{rc}, 0, 'B: reference: init of a fresh target database') or diag($fresh->{stderr});
$fresh = run_client(\%fresh_env, 'users');
is($fresh->{rc}, 0, 'B: reference: a fresh migration of the changed source') or diag($fresh->{stderr});
my $expected = users_by_source($fresh_emulator);
my $synced = users_by_source($emulator);

my @twice = grep { @{ $synced->{$_} } > 1 } sort keys %$synced;
is(scalar @twice, 0, 'B: each Supabase user once in Stack Auth') or diag(first_few(@twice));
my @missing = grep { !$synced->{$_} } sort keys %$expected;
is(scalar @missing, 0, "B: every one of the $source_total Supabase users in Stack Auth") or diag(first_few(@missing));
is(scalar(grep { $synced->{$_} } @deleted), 10, 'B: the 10 deleted users still in Stack Auth (no --delete-removed)');
is($stats_b->{deletes}, 0, 'B: no DELETE sent');

my %oauth_changed = map { $_ => 1 } $identity_added, $identity_removed;
my %skip = map { $_ => 1 } qw(id signed_up_at_millis last_active_at_millis created_sequence contact_channels);
my (@differ, %differ_kind);
for my $id (sort keys %$expected)
{
	my ($want, $have) = ($expected->{$id}[0], ($synced->{$id} // [ {} ])->[0]);
	my @keys = grep { !$skip{$_} && !($oauth_changed{$id} && /^oauth_/) } sort keys %$want;
	my @wrong = grep { $json->encode([ $want->{$_} ]) ne $json->encode([ $have->{$_} ]) } @keys;
	if (@wrong)
	{
		push @differ, "$id (" . ($changed{$id} // 'unchanged') . "): @wrong";
		$differ_kind{ $changed{$id} // 'unchanged' }++;
	}
}
is(scalar @differ, 0, 'B: every user field by field as a fresh migration creates it')
  or diag(first_few(@differ) . '; by change: ' . join(', ', map { "$_ $differ_kind{$_}" } sort keys %differ_kind));
isnt($json->encode($expected->{$identity_added}[0]{oauth_providers}), $json->encode($synced->{$identity_added}[0]{oauth_providers}),
	'B: control: the added identity is not in Stack Auth (create-only there): only reported');
my %lines = map { $_->{source_id} => $_ } @{ $r->{report}{users} // [] };
is(scalar(grep { ($lines{$_}{status} // '') eq 'deleted in Supabase' } @deleted), 10, 'B: each deleted user reported');
is(join(',', map { $lines{$_}{status} // 'none' } $identity_added, $identity_removed),
	'oauth accounts changed,oauth accounts changed', 'B: both OAuth changes reported, naming the users');

my $journal_after = journal_digests();
my @stale = grep { $journal_after->{$_} eq $journal_before->{$_} || $journal_after->{$_} eq 'NULL' } keys %changed;
is(scalar @stale, 0, 'B: every changed user has a new digest in the journal') or diag(first_few(map { "$_ ($changed{$_})" } @stale));
my @moved = grep { !$changed{$_} && $journal_before->{$_} ne 'NULL' && ($journal_after->{$_} // '') ne $journal_before->{$_} }
  keys %$journal_before;
is(scalar @moved, 0, 'B: no unchanged user\'s digest moved') or diag(first_few(@moved));
# (a new user adopted by this sync after a lost answer was created from its plan: PATCHed by the next one)
my @unknown = grep { !$deleted{$_} && $journal_after->{$_} eq 'NULL' } keys %$journal_before;
is(scalar @unknown, 0, 'B: the digest of every user created ahead now known (the adopted ones PATCHed once)')
  or diag(first_few(@unknown));
my $answered = $stats_b->{updates} - $stats_b->{unanswered_updates};
cmp_ok($answered, '<=', $expected_updates + 3 * 4,
	"B: PATCHes answered ($answered) at most the $expected_updates updates plus what 3 kills of 4 in flight left unrecorded");
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map WHERE removed_at IS NOT NULL'), 10,
	'B: the 10 deleted users\' pairs marked removed, kept');

# ================================================================================================ C
$r = cutover('users', '--sync', '--delete-removed', '--json');
is($r->{rc}, 0, 'C: users --sync --delete-removed: exit 0') or diag($r->{stderr});
is($r->{report}{deleted}, 10, 'C: 10 users deleted from Stack Auth');
my $after_delete = users_by_source($emulator);
is(scalar(grep { $after_delete->{$_} } @deleted), 0, 'C: none of them left in Stack Auth');
is(scalar(keys %$after_delete), $source_total, "C: $source_total users left in Stack Auth, the source's");
is($target->safe_psql('postgres', q{SELECT count(*) FROM cutover.id_map m JOIN migrate_users() j USING (source_id)
	WHERE m.removed_at IS NOT NULL AND j.deleted_at IS NOT NULL}), 10, 'C: their pairs kept, marked removed and deleted');
my $stats_c = stats();
$r = cutover('users', '--sync');
like($r->{stdout}, qr/^  \Q$identity_added\E  regular  oauth accounts changed: OAuth accounts were added or removed/m,
	'C: the terminal names the user whose OAuth accounts changed');
like($r->{stdout}, qr/^  deleted in Supabase since sent: 0, deleted from Stack Auth: 0$/m,
	'C: the terminal counts no deleted user left in Stack Auth (the run before deleted them)');
$r = cutover('users', '--sync', '--delete-removed', '--json', '--log-file', "$tmp/rerun.jsonl");
my $stats_again = stats();
my ($read) = grep { ($_->{message} // '') eq 'supabase users read' } map { decode_json($_) } split /\n/, slurp_file("$tmp/rerun.jsonl");
is(($read->{users} // '?') . '/' . ($read->{planned} // '?'), "$source_total/2",
	'C: a rerun reads every user\'s digest and plans only the 2 whose OAuth accounts changed (nothing else changed since each plan was sent)');
is($r->{rc}, 0, 'C: a rerun: exit 0') or diag($r->{stderr});
is(join('/', map { $stats_again->{$_} } qw(creates updates deletes)),
	join('/', map { $stats_c->{$_} } qw(creates updates deletes)), 'C: a rerun sends nothing');
is(join('/', map { $r->{report}{$_} } qw(to_update updated deleted created)), '0/0/0/0', 'C: ... and reports nothing to do');

# Other planning settings plan every user again: without password sign-in, every user with a bcrypt hash
# would be sent without it.
$r = cutover('users', '--sync', '--dry-run', '--no-password-sign-in', '--json');
cmp_ok($r->{report}{to_update} // 0, '>', 1000, 'C: --no-password-sign-in: a dry run would update every user with a password ('
	  . ($r->{report}{to_update} // 0) . ')');

# ================================================================================================ D
control('POST', 'faults', { latency_ms => 0, latency_jitter_ms => 0, fault_rate => 0 });
my ($renamed) = splice @plain, 0, 1;
my $renamed_id = $source->safe_psql('postgres',
	qq{UPDATE auth.users SET raw_user_meta_data = '{"full_name": "Run Renamed"}' WHERE id = md5('user-$renamed')::uuid RETURNING id});
$r = cutover('run');
is($r->{rc}, 0, 'D: cutover run: exit 0') or diag($r->{stderr});
is(users_by_source($emulator)->{$renamed_id}[0]{display_name}, 'Run Renamed', 'D: cutover run synced a changed name');

# ================================================================================================ E
ok(secret_free(join("\n", @client_outputs), $secret_key, $password), 'E: no secret in any output of the client');

done_testing();
