# 021_split_tables.pl: big tables pulled and verified in key ranges, each range by its own backend.
#
# The source holds four tables whose user_id columns hold Supabase user IDs: readings keyed by uuid, events
# keyed by a skewed bigint (90% of its keys in the first 0.001% of its range), memberships keyed by a composite
# primary key (integer, text) and audit_log without a key (split by blocks of the heap). With a row threshold
# below their sizes, `cutover pull -j 3` splits each in 3 ranges: every row arrives once with its user IDs
# rewritten, the indexes are built once at the end, and `cutover verify -j 3` verifies each by ranges whose
# sums make the table's checksum. Then readings is loaded slowly and interrupted: one range's backend
# SIGKILLed (the target restarts), then the client SIGKILLed: each rerun loads only what is missing (the last
# one waits for the ranges the killed client's backends were loading), every row exactly once, and a reader
# polling migrate_status never sees the table loaded before its last range and its indexes.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use JSON::PP;
use Time::HiRes qw(time sleep);
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $users = 200;
my %rows = (readings => 60000, events => 60000, memberships => 40000, audit_log => 30000);
my $password = new_secret('split-pw');
my $source = new_source('source', $password);
my $target = new_target('target', conf => ['restart_after_crash = on']);

my $tables = q{
CREATE TABLE public.readings (id uuid PRIMARY KEY, user_id uuid, value integer, note text);
CREATE TABLE public.events (id bigint PRIMARY KEY, user_id uuid, kind text);
CREATE TABLE public.memberships (org integer, member text, user_id uuid, role text, PRIMARY KEY (org, member));
CREATE TABLE public.audit_log (at timestamptz, user_id uuid, action text);
};
$source->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text NOT NULL);
INSERT INTO auth.users SELECT md5('user-' || g)::uuid, format('user%s\@example.com', g) FROM generate_series(1, $users) AS g;
$tables
ALTER TABLE public.readings ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
ALTER TABLE public.events ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
ALTER TABLE public.memberships ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
INSERT INTO public.readings SELECT md5('reading-' || g)::uuid, md5('user-' || (1 + g % $users))::uuid, g, 'r' || g
FROM generate_series(1, $rows{readings}) AS g;
-- 90% of the keys are 1 .. 54,000; the rest are spread up to 6,000,000,000
INSERT INTO public.events
SELECT CASE WHEN g <= $rows{events} * 9 / 10 THEN g ELSE (g - $rows{events} * 9 / 10)::bigint * 1000000 END,
       md5('user-' || (1 + g % $users))::uuid, 'kind ' || (g % 7)
FROM generate_series(1, $rows{events}) AS g;
-- every third member capitalized: the source (C.UTF-8) and a target collating in ICU order them otherwise
INSERT INTO public.memberships SELECT g % 50, CASE WHEN g % 3 = 0 THEN 'Member ' ELSE 'member ' END || g,
       md5('user-' || (1 + g % $users))::uuid, 'role'
FROM generate_series(1, $rows{memberships}) AS g;
INSERT INTO public.audit_log SELECT timestamptz '2026-01-01' + g * interval '1 minute', md5('user-' || (1 + g % $users))::uuid, 'action ' || g
FROM generate_series(1, $rows{audit_log}) AS g;
VACUUM ANALYZE;
});
$target->safe_psql('postgres', $tables . 'CREATE INDEX ON public.readings (user_id); CREATE INDEX ON public.events (kind);');
$target->safe_psql('postgres',
	"SET log_statement = none; SELECT migrate_source('" . source_conninfo($source, $password) . "')");
is($target->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE migrate_map_put(md5('user-' || g)::uuid, md5('stack-' || md5('user-' || g)::uuid)::uuid,
                                              format('user%s\@example.com', g)))
FROM generate_series(1, $users) AS g}), $users, "every one of the $users users mapped");

my %env = (PGHOST => $target->host, PGPORT => $target->port, PGUSER => scalar(getpwuid($<)), PGDATABASE => 'postgres',
	CUTOVER_SOURCE_URL => source_conninfo($source, $password));
my @split = ('--split-tables-with-rows', '10000');
my $dir = PostgreSQL::Test::Utils::tempdir;

# The events of a client run's JSON log, as decoded lines.
sub events_of
{
	my ($log) = @_;
	return map { decode_json($_) } grep { /^\{/ } split /\n/, slurp_file($log);
}

# ------------------------------------------------------------------------------------- ranges of a skewed key
my @ranges = split /\n/, $target->safe_psql('postgres',
	q{SELECT range_no || '|' || coalesce(lower[1], '') || '|' || coalesce(upper[1], '') FROM migrate_split('events', 4) ORDER BY 1});
is(scalar @ranges, 4, 'migrate_split: 4 ranges of events');
my @counts;
for my $range (@ranges)
{
	my (undef, $lower, $upper) = split /\|/, $range, -1;
	my @where = (($lower ne '' ? "id >= $lower" : ()), ($upper ne '' ? "id < $upper" : ()));
	push @counts, $source->safe_psql('postgres', 'SELECT count(*) FROM public.events WHERE ' . (join(' AND ', @where) || 'true'));
}
my $quarter = $rows{events} / 4;
ok(!(grep { $_ < $quarter * 0.6 || $_ > $quarter * 1.4 } @counts),
	'the skewed key splits evenly by rows: ' . join(', ', @counts) . " (a quarter is $quarter)");
is(eval { my $s = 0; $s += $_ for @counts; $s }, $rows{events}, 'the ranges cover every row of events once');
is($target->safe_psql('postgres', q{SELECT count(*) FROM migrate_split('events', 9)}), '4',
	'migrate_split keeps the ranges a table has');
my $zero = sql_error($target, q{SELECT * FROM migrate_split('events', 0)});
is("$zero->{sqlstate} $zero->{message}", '22023 table public.events is split in 1 key range or more, not 0',
	'migrate_split refuses 0 ranges, naming the table');
like(sql_error($target, q{SELECT * FROM migrate_pull_range('events', 2)})->{message},
	qr/range 2 of table public\.events is not part of a pull in progress/, 'a range is pulled only within a pull in ranges');
like(sql_error($target, q{SELECT * FROM migrate_pull_finish('events')})->{message},
	qr/it is not being pulled in key ranges/, 'a table not pulled in ranges cannot be finished');
like(sql_error($target, q{SELECT * FROM migrate_verify_ranges('events')})->{message},
	qr/key range 1 of table public\.events is not verified/, 'ranges not verified do not add up to a verification');

# ------------------------------------------------------------------------------------------- pull and verify
my $r = run_client(\%env, 'pull', '-j', '3', @split, '--log-file', "$dir/pull.jsonl");
is($r->{rc}, 0, 'cutover pull -j 3: exit 0') or diag($r->{stderr});
my %split_events = map { $_->{table} => $_->{ranges} } grep { ($_->{message} // '') eq 'pull split' } events_of("$dir/pull.jsonl");
is_deeply(\%split_events, { map { ("public.$_" => 3) } keys %rows }, 'each of the four tables was split in 3 ranges');
for my $table (sort keys %rows)
{
	is($target->safe_psql('postgres', "SELECT count(*) || ' ' || count(DISTINCT t) FROM public.$table AS t"),
		"$rows{$table} $rows{$table}", "$table: every source row once on the target");
	is($target->safe_psql('postgres', qq{
SELECT count(*) FROM public.$table AS t WHERE NOT EXISTS (SELECT FROM cutover.id_map m WHERE m.target_id = t.user_id)}),
		'0', "$table: every user ID rewritten, in every range");
	is($target->safe_psql('postgres', qq{SELECT status || ' ' || rows || ' ' || ranges_loaded || '/' || ranges FROM migrate_status() WHERE table_name = 'public.$table'}),
		"loaded $rows{$table} 3/3", "$table: loaded with its rows, its 3 ranges in");
}
is($target->safe_psql('postgres', q{
SELECT count(*) FROM pg_index WHERE indrelid IN ('readings'::regclass, 'events'::regclass, 'memberships'::regclass)
AND NOT (indisvalid AND indisready)}), '0', 'every index built and valid after the last range');

$r = run_client(\%env, 'verify', '-j', '3', @split, '--log-file', "$dir/verify.jsonl");
is($r->{rc}, 0, 'cutover verify -j 3: exit 0') or diag($r->{stdout} . $r->{stderr});
my @verified_ranges = grep { ($_->{message} // '') eq 'verify range finished' } events_of("$dir/verify.jsonl");
is(scalar @verified_ranges, 12, 'verify: 12 ranges verified, 3 a table');
is($target->safe_psql('postgres', q{SELECT string_agg(status, ',' ORDER BY table_name) FROM migrate_status() WHERE table_name LIKE 'public.%'}),
	'verified,verified,verified,verified', 'each table verified from its ranges');
is($target->safe_psql('postgres', q{
SELECT bool_and(v.source_checksum = c.source_checksum AND v.target_checksum = c.target_checksum AND v.source_rows = c.source_rows AND c.ok)
FROM (SELECT DISTINCT ON (table_name) * FROM cutover.verification ORDER BY table_name, id DESC) AS v,
LATERAL (SELECT * FROM migrate_verify(v.table_name::regclass)) AS c}), 't',
	'the ranges add up to the checksum of the whole table, exactly');
$target->safe_psql('postgres', q{UPDATE public.events SET kind = 'changed' WHERE id = 54000});
is($target->safe_psql('postgres', q{SELECT count(*) FROM migrate_split('events', 3)}), '3', 'events: its ranges again');
$target->safe_psql('postgres', q{SELECT migrate_verify_range('events', g) FROM generate_series(1, 3) AS g});
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify_ranges('events')}), 'f', 'a changed row fails the ranges\' sum');

# migrate_diff after a failed verification in ranges reads only the ranges that differed
my $differing = q{SELECT string_agg(range_no::text, ',' ORDER BY range_no) FROM cutover.table_ranges
WHERE table_name = '%s' AND (source_checksum <> target_checksum OR source_rows <> target_rows)};
my ($changed_range) = $target->safe_psql('postgres', sprintf($differing, 'events'));
my $first_range = $target->safe_psql('postgres', q{SELECT range_no FROM cutover.table_ranges WHERE table_name = 'events'
AND (lower IS NULL OR 1 >= lower[1]::bigint) AND (upper IS NULL OR 1 < upper[1]::bigint)});
ok($changed_range =~ /^\d$/ && $changed_range ne $first_range,
	"events: one range differs ($changed_range), not the one of key 1 ($first_range)");
# Rows of migrate_diff as "key status columns", and psql's stderr.
sub diff_rows
{
	my ($sql) = @_;
	my $d = run_sql($target, qq{SELECT string_agg(key || ' ' || status || ' ' || coalesce(array_to_string(columns, ','), ''), '; ' ORDER BY key) FROM $sql});
	return ($d->{stdout} =~ s/\n\z//r, $d->{stderr});
}
my ($rows, $notice) = diff_rows(q{migrate_diff('events')});
is($rows, '54000 changed kind', 'migrate_diff: the changed row');
like($notice, qr/NOTICE:\s+(?:00000: )?migrate_diff compared key range $changed_range of the 3 of table public\.events only: the others matched at its last verification/,
	'a NOTICE names the one range compared');
$target->safe_psql('postgres', q{DELETE FROM public.events WHERE id = 1});
($rows) = diff_rows(q{migrate_diff('events')});
is($rows, '54000 changed kind', 'a row deleted since in a range that matched is not read: the ranges that differed only');
($rows, $notice) = diff_rows(q{migrate_diff('events', 10, whole_table => true)});
is($rows, '1 missing ; 54000 changed kind', 'whole_table reads every row');
unlike($notice, qr/compared key range/, 'whole_table: no NOTICE of ranges');
$r = run_client(\%env, 'diff', 'events');
is($r->{rc}, 1, 'cutover diff: exit 1, rows differ');
like($r->{stdout}, qr/^54000 \| changed \| kind\npublic\.events: 1 row differs \(0 missing, 0 extra, 1 changed\)\nmigrate_diff compared key range $changed_range of the 3 of table public\.events only: .*; --whole-table compares every row\n\z/m,
	'cutover diff: the row, and under the summary the range compared') or diag($r->{stdout} . $r->{stderr});
$r = run_client(\%env, 'diff', 'events', '--whole-table', '--json');
my $whole = eval { decode_json($r->{stdout}) } // {};
is(join(' ', map { "$_->{key}:$_->{status}" } @{ $whole->{differences} // [] }) . ' ' . ($whole->{summary}{only_ranges} // 'null'),
	'1:missing 54000:changed null', 'cutover diff --whole-table --json: both rows, only_ranges null');
# a table that failed its verification is pulled again, whole ranges and all, by the next pull
$r = run_client(\%env, 'pull', '-j', '3', @split);
is($r->{rc}, 0, 'cutover pull -j 3 after the failed verification: exit 0') or diag($r->{stderr});
is($target->safe_psql('postgres', q{SELECT kind || ' ' || (SELECT status || ' ' || ranges_loaded || '/' || ranges FROM migrate_status() WHERE table_name = 'public.events') FROM public.events WHERE id = 54000}),
	$source->safe_psql('postgres', q{SELECT kind FROM public.events WHERE id = 54000}) . ' loaded 3/3',
	'events: pulled again in ranges, the changed row back as the source has it');
($rows, $notice) = diff_rows(q{migrate_diff('events')});
is(($rows eq '' ? 'none' : $rows) . (($notice =~ /compared key range/) ? ' ranges' : ''), 'none',
	'after the pull, migrate_diff compares the whole table again: no rows differ');

# A target ordering the key otherwise (ICU) puts other rows in each range than the source, whose order made
# them: ranges differ although the table matches, and after a change the diff over the ranges that differed
# finds exactly that change.
SKIP:
{
	skip 'the target has no ICU collation', 5
	  unless $target->safe_psql('postgres', q{SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'}) eq '1';
	$target->safe_psql('postgres', q{ALTER TABLE public.memberships ALTER COLUMN member TYPE text COLLATE "und-x-icu"});
	my $verify_ranges = q{SELECT count(*) FROM migrate_split('memberships', 3) AS s, LATERAL migrate_verify_range('memberships', s.range_no);
SELECT ok FROM migrate_verify_ranges('memberships')};
	my $shifted = $target->safe_psql('postgres', $verify_ranges);
	my $differing_ranges = $target->safe_psql('postgres', sprintf($differing, 'memberships')) // '';
	is($shifted, "3\nt", 'memberships in ICU order: the ranges add up to a match');
	like($differing_ranges, qr/,/, "the ranges hold other rows on each side: ranges $differing_ranges differ");
	$target->safe_psql('postgres', q{UPDATE public.memberships SET role = 'owner' WHERE org = 7 AND member = 'member 7'});
	is($target->safe_psql('postgres', $verify_ranges), "3\nf", 'memberships: a changed row fails the ranges\' sum');
	($rows, $notice) = diff_rows(q{migrate_diff('memberships')});
	is($rows, '(7,"member 7") changed role', 'the diff over the ranges that differed finds exactly the change');
	like($notice, qr/compared key ranges? [\d, and]+ of the 3 of table public\.memberships only/, 'it read the ranges that differed');
	$target->safe_psql('postgres', q{UPDATE public.memberships SET role = 'role' WHERE org = 7 AND member = 'member 7'});
}

# ------------------------------------------------------------------------------- interrupted, then resumed
# readings takes its rows slowly in its upper key ranges: 10 ms for one row in 25 of the keys from 8000... up,
# by a trigger that fires in the pull's replica mode. Of its 3 ranges (keys split near 5555... and aaaa...),
# the first loads at once, the second in about 4 s, the third in about 8 s.
slow_down($target, 'public.readings', q{NEW.value % 25 = 0 AND NEW.id >= '80000000-0000-0000-0000-000000000000'});
$target->safe_psql('postgres', q{SELECT migrate_reset('readings')});
my $status_sql = q{SELECT status || ' ' || coalesce(ranges_loaded || '/' || ranges, '-') FROM migrate_status() WHERE table_name = 'public.readings'};
my $active_ranges = q{SELECT count(*) FROM pg_stat_progress_copy AS c JOIN pg_stat_activity AS a USING (pid)
WHERE a.query LIKE '%migrate_pull_range%' AND c.tuples_processed > 1000};
# A reader of the state: loaded only with every range in (a range and the state are read in one snapshot).
my $early_sql = q{SELECT count(*) FROM migrate_status() WHERE table_name = 'public.readings' AND status = 'loaded'
AND ranges_loaded < ranges};
my $seen_early = 0;
# Polls the state until $done (a query printing 't') or 120 s, reading the state as a reader would meanwhile.
sub watch_until
{
	my ($done) = @_;
	my $deadline = time + 120;
	until (time > $deadline)
	{
		my $early = eval { $target->safe_psql('postgres', $early_sql) } // 0;
		$seen_early += $early;
		return 1 if (eval { $target->safe_psql('postgres', $done) } // '') eq 't';
		sleep 0.05;
	}
	return 0;
}

# 1. one range's backend SIGKILLed while the others load (the target restarts every session)
my $run = start_client(\%env, "$dir/kill1", 'pull', '-j', '3', @split);
ok(watch_until(qq{SELECT ($status_sql) = 'loading 1/3' AND ($active_ranges) = 2}),
	'the first range is in, the other two are loading');
my $pid = $target->safe_psql('postgres', q{SELECT pid FROM pg_stat_progress_copy AS c JOIN pg_stat_activity AS a USING (pid)
WHERE a.query LIKE '%migrate_pull_range%' ORDER BY pid LIMIT 1});
ok($pid =~ /^\d+$/, "a range's backend to kill: $pid");
kill 'KILL', $pid if $pid =~ /^\d+$/;
my ($result) = end_client($run, 0);
isnt($result >> 8, 0, 'the pull fails when the target restarts');
ok($target->poll_query_until('postgres', 'SELECT true'), 'the target is back');
like($target->safe_psql('postgres', $status_sql), qr{^(loading|failed) 1/3$}, 'readings: not loaded, the range committed kept, the two others rolled back');

# 2. a rerun loads the two ranges left; the client SIGKILLed mid-way (its backends go on with their ranges)
$run = start_client(\%env, "$dir/kill2", 'pull', '-j', '3', @split);
ok(watch_until("SELECT ($active_ranges) = 2"), 'the rerun loads the two ranges left');
my (undef, $killed) = end_client($run, 1);
ok($killed, 'the client was SIGKILLed mid-way');
like($target->safe_psql('postgres', $status_sql), qr/^loading [12]\/3$/, 'readings: still loading');

# 3. a rerun at once, with -j 1: the pull in ranges goes on; it waits for the ranges the killed client's
# backends load, and loads nothing twice
$run = start_client(\%env, "$dir/final", 'pull', '-j', '1', @split, '--log-file', "$dir/final.jsonl");
while ($run->{harness}->pumpable && time - $run->{started} < 120)
{
	$seen_early += $target->safe_psql('postgres', $early_sql);
	sleep 0.05;
}
($result) = end_client($run, 0);
is($result >> 8, 0, 'the last rerun ends with exit 0') or diag(slurp_file("$dir/final.stderr"));
is($seen_early, 0, 'a reader never saw readings loaded before its last range');
my @final_ranges = grep { ($_->{message} // '') eq 'pull range finished' } events_of("$dir/final.jsonl");
is(join(',', map { "$_->{range}:$_->{status}" } sort { $a->{range} <=> $b->{range} } @final_ranges), '2:skipped,3:skipped',
	'the last rerun found ranges 2 and 3 loaded by the killed client\'s backends once they ended');
my $source_count = $source->safe_psql('postgres', 'SELECT count(*) FROM public.readings');
is($source_count, $rows{readings}, 'control: the source holds every row of readings');
is($target->safe_psql('postgres', "SELECT count(*) || ' ' || count(DISTINCT id) FROM public.readings"),
	"$source_count $source_count", 'readings: every source row exactly once after the kills (counted on both sides)');
is($target->safe_psql('postgres', $status_sql), 'loaded 3/3', 'readings: loaded, its 3 ranges in');
$r = run_client(\%env, 'verify', '-j', '3', @split);
like($r->{stdout}, qr/public\.readings: ok/, 'readings verifies after the kills') or diag($r->{stdout} . $r->{stderr});
is($target->safe_psql('postgres', q{SELECT count(*) FROM pg_index WHERE indrelid = 'readings'::regclass AND NOT (indisvalid AND indisready)}),
	'0', 'readings: its indexes valid');

done_testing();
