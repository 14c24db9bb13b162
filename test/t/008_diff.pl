# 008_diff.pl: migrate_diff and `cutover diff` between two real clusters.
#
# The source is stock PostgreSQL (locale C.UTF-8) reached over TCP with a SCRAM password; the target has
# pg_cutover (locale C). Each table is loaded the same on both sides, then changed on one side in known ways;
# migrate_diff must report exactly those keys, each once, in key order, with the right status and, for a
# changed row, exactly the columns changed; and nothing for a table whose rows are equal.
#
#   orders    bigint key, 20,000 rows (even ids) and 6,000 more on the source only, beyond the target's last
#             key: seeded random updates of one or two columns (NULLs among them), deletes, inserts between
#             and around the source's keys; max_rows stops in key order with a NOTICE.
#   tokens    uuid key.   words: text key with quotes, backslashes, commas, spaces and non-ASCII letters,
#             thousands of keys in both letter cases (the sides' collations differ).
#   readings  composite key (integer, text) with NULLs in the other columns.
#   the Supabase fixture, loaded and remapped as the pull would: nothing differs for any table (user-ID
#             columns and keys mapped back), then a row pointing at another user and a changed mapping.
#   nokey     no key: 55000 with a hint. Cancel: pg_cancel_backend and statement_timeout while the source
#             waits for a lock end the call within seconds, and its query on the source with it.
#   cutover diff: the table and --json, exit codes 0, 1 and 2.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $root = "$FindBin::RealBin/../..";
my $cutover = $ENV{CUTOVER_BIN} // "$root/client/cutover";
ok(-x $cutover, "the client is built: $cutover") or BAIL_OUT('build it first: make');

my $seed = $ENV{CUTOVER_TEST_SEED} // (int(time * 1000) ^ $$) % 1_000_000_007;
srand($seed);
note("seed $seed: CUTOVER_TEST_SEED=$seed replays the random changes");

my $prompt = 5;    # seconds within which a cancelled call must end, and its source query go away
my $password = new_secret('diff-pw');
my $source = new_source('source', $password);
my $target = new_target('target');
my $json = JSON::PP->new->utf8->canonical;

$target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')");
my $source_backends = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover'};

# ------------------------------------------------------------------------------------------------ helpers
# migrate_diff's rows as "key|status|col,col" strings, in its order, and psql's stderr (the NOTICE).
sub diff_of
{
	my ($table, $max_rows) = @_;
	$max_rows //= 1000000;
	my $r = run_sql($target,
		"SELECT coalesce(json_agg(json_build_object('key', key, 'status', status, 'columns', columns)), '[]') "
		  . "FROM migrate_diff('$table', $max_rows)");
	die "migrate_diff('$table') failed: $r->{stderr}" if $r->{ret} != 0;
	my @rows = map { join '|', $_->{key} // 'NULL', $_->{status}, join(',', @{ $_->{columns} // [] }) }
	  @{ $json->decode($r->{stdout}) };
	return (\@rows, $r->{stderr});
}

# Checks migrate_diff against the expected rows; also that no key comes twice.
sub diff_is
{
	my ($table, $expected, $name, $max_rows) = @_;
	my ($rows, $stderr) = diff_of($table, $max_rows);
	my %seen;
	my @twice = grep { $seen{ (split /\|/)[0] . '|' . (split /\|/)[1] }++ } @$rows;
	is_deeply($rows, $expected, $name)
	  or diag('got ' . scalar(@$rows) . ' rows: ' . join(' ', @$rows[ 0 .. ($#$rows < 20 ? $#$rows : 20) ]));
	is(scalar(@twice), 0, "$name: no key reported twice");
	return $stderr;
}

# A composite key's text as ROW(...)::text prints it.
sub row_text
{
	return '(' . join(',', map {
		my $v = $_;
		$v =~ /^$|["\\(),\s]/ ? '"' . ($v =~ s/(["\\])/$1$1/gr) . '"' : $v
	} @_) . ')';
}

# Expected rows ("key|status|columns") in byte order of their keys.
sub by_key
{
	return sort { ($a =~ s/\|.*//sr) cmp ($b =~ s/\|.*//sr) } @_;
}

sub on_both
{
	my ($sql) = @_;
	$source->safe_psql('postgres', $sql);
	$target->safe_psql('postgres', $sql);
}

# ------------------------------------------------------------------------------- orders: an integer key
on_both(q{
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), note text,
                     placed timestamptz, tags text[], payload jsonb);
INSERT INTO orders
SELECT 2 * i, 'customer ' || (i % 97), i * 1.25, CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '17 minutes',
       CASE WHEN i % 7 = 0 THEN NULL ELSE ARRAY['t' || (i % 3), 'x y'] END, jsonb_build_object('i', i)
FROM generate_series(1, 20000) AS i;
ANALYZE orders;
});
diff_is('orders', [], 'orders: equal tables: nothing');

# Rows the source has beyond the target's last key: one range of 6,000 rows on one side only.
$source->safe_psql('postgres', q{
INSERT INTO orders SELECT 100000 + i, 'late', i, NULL, NULL, NULL, NULL FROM generate_series(1, 6000) AS i});

# Random changes on the target, each key once: updates of one column or two, deletes, and inserts of odd ids
# (between the source's keys) and ids below and above them all.
my (%expected, %used);
my $pick = sub {
	my ($filter) = @_;
	for (1 .. 1000)
	{
		my $i = 1 + int(rand(20000));
		next if $used{$i} || ($filter && !$filter->($i));
		$used{$i} = 1;
		return $i;
	}
	die 'no key left';
};
my @changes;
for (1 .. 12)
{
	my $i = $pick->();
	my $kind = int(rand(4));
	if ($kind == 0) { push @changes, "UPDATE orders SET amount = amount + 0.01 WHERE id = " . 2 * $i; $expected{ 2 * $i } = 'changed|amount' }
	elsif ($kind == 1 && $i % 5 != 0) { push @changes, "UPDATE orders SET note = NULL WHERE id = " . 2 * $i; $expected{ 2 * $i } = 'changed|note' }
	elsif ($kind == 2 && $i % 5 == 0) { push @changes, "UPDATE orders SET note = '' WHERE id = " . 2 * $i; $expected{ 2 * $i } = 'changed|note' }
	else
	{
		push @changes, "UPDATE orders SET customer = 'Customer X', tags = ARRAY['t\"q'] WHERE id = " . 2 * $i;
		$expected{ 2 * $i } = 'changed|customer,tags';
	}
}
for (1 .. 8)
{
	my $i = $pick->();
	push @changes, "DELETE FROM orders WHERE id = " . 2 * $i;
	$expected{ 2 * $i } = 'missing|';
}
for (1 .. 8)
{
	my $i = $pick->();
	push @changes, "INSERT INTO orders (id, customer) VALUES (" . (2 * $i + 1) . ", 'new')";
	$expected{ 2 * $i + 1 } = 'extra|';
}
push @changes, "INSERT INTO orders (id, customer) VALUES (0, 'zero'), (-7, 'negative'), (99999, 'above')";
$expected{$_} = 'extra|' for 0, -7, 99999;
$expected{ 100000 + $_ } = 'missing|' for 1 .. 6000;
$target->safe_psql('postgres', join(";\n", @changes) . ';');
my @orders_expected = map { "$_|$expected{$_}" } sort { $a <=> $b } keys %expected;
note(scalar(@orders_expected) . ' differences in orders, ' . scalar(@changes) . ' statements on the target');

my $checksum_before = $target->safe_psql('postgres', "SELECT checksum FROM migrate_checksum('orders')");
diff_is('orders', \@orders_expected, 'orders: every change found once, in key order, with its columns');
is($target->safe_psql('postgres', "SELECT checksum FROM migrate_checksum('orders')"),
	$checksum_before, 'orders: migrate_diff changed nothing on the target');
is($source->safe_psql('postgres', $source_backends), '0', 'orders: no pg_cutover session left on the source');

# max_rows: the first differences in key order, and a NOTICE saying there are more.
my $stderr = diff_is('orders', [ @orders_expected[ 0 .. 6 ] ], 'orders, max_rows 7: the first 7', 7);
like($stderr, qr/NOTICE:\s+(?:00000: )?migrate_diff stopped after 7 differences in table public\.orders/,
	'orders, max_rows 7: a NOTICE says it stopped');
$stderr = diff_is('orders', \@orders_expected, 'orders, max_rows = the number of differences: all',
	scalar(@orders_expected));
unlike($stderr, qr/stopped/, 'orders, max_rows = the number of differences: no NOTICE');
my $r = sql_error($target, "SELECT * FROM migrate_diff('orders', 0)");
is($r->{sqlstate}, '22023', 'max_rows 0: 22023') or diag($r->{stderr});

# ------------------------------------------------------------------------------------- tokens: a uuid key
on_both(q{
CREATE TABLE tokens (id uuid PRIMARY KEY, label text, used boolean);
INSERT INTO tokens SELECT md5('token ' || i)::uuid, 'token ' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END
FROM generate_series(1, 8000) AS i;
ANALYZE tokens;
});
diff_is('tokens', [], 'tokens: equal tables: nothing');
$target->safe_psql('postgres', q{
UPDATE tokens SET used = NOT used WHERE label = 'token 17';
UPDATE tokens SET used = true WHERE label = 'token 4000';
DELETE FROM tokens WHERE label = 'token 7001';
INSERT INTO tokens VALUES ('ffffffff-ffff-ffff-ffff-ffffffffffff', 'last', NULL),
                          ('00000000-0000-0000-0000-000000000000', 'first', NULL);
});
my %token = map { $_ => $target->safe_psql('postgres', "SELECT md5('token $_')::uuid") } 17, 4000, 7001;
diff_is(
	'tokens',
	[
		by_key "$token{17}|changed|used",
		"$token{4000}|changed|used",
		"$token{7001}|missing|",
		'ffffffff-ffff-ffff-ffff-ffffffffffff|extra|',
		'00000000-0000-0000-0000-000000000000|extra|'
	],
	'tokens: uuid keys, in uuid order');

# -------------------------------------------------------------------------------------- words: a text key
my @odd_words = ('O\'Brien', 'back\\slash', 'comma, space', '"quoted"', 'ünïcode', 'Zebra', 'apple', '日本語',
	'tab	in', '(paren)', '', 'ok', 'emoji 🙂');
my $values = join ', ', map {
	my $w = $_ =~ s/'/''/gr;
	(/\\/ ? "E'" . ($w =~ s/\\/\\\\/gr) : "'$w") . "'"
} @odd_words;
on_both(qq{
CREATE TABLE words (w text PRIMARY KEY, n integer, note text);
INSERT INTO words SELECT CASE WHEN i % 2 = 0 THEN 'Key ' ELSE 'key ' END || lpad(i::text, 5, '0'), i, NULL
FROM generate_series(1, 9000) AS i;
INSERT INTO words (w, n) SELECT w, 0 FROM unnest(ARRAY[$values]) AS w;
ANALYZE words;
});
diff_is('words', [], 'words: equal tables: nothing');
$target->safe_psql('postgres', q{
UPDATE words SET n = 1 WHERE w = 'O''Brien';
UPDATE words SET note = 'x' WHERE w = 'back\slash';
UPDATE words SET n = 2, note = '' WHERE w = '日本語';
UPDATE words SET n = -1 WHERE w IN ('Key 04000', 'key 04001', '');
DELETE FROM words WHERE w IN ('ünïcode', 'key 08999');
INSERT INTO words VALUES ('it''s \ "all"', 5, NULL), ('ünïcodé', 0, NULL), ('KEY 00000', 0, NULL);
});
diff_is(
	'words',
	[
		by_key '|changed|n',
		'O\'Brien|changed|n',
		'back\\slash|changed|note',
		'日本語|changed|n,note',
		'Key 04000|changed|n',
		'key 04001|changed|n',
		'ünïcode|missing|',
		'key 08999|missing|',
		'it\'s \\ "all"|extra|',
		'ünïcodé|extra|',
		'KEY 00000|extra|'
	],
	'words: text keys with quotes, backslashes and non-ASCII letters, in byte order');

# -------------------------------------------------------------------------- readings: a composite key
on_both(q{
CREATE TABLE readings (site integer, sensor text, value double precision, taken date, PRIMARY KEY (site, sensor));
INSERT INTO readings SELECT s, CASE WHEN c = 0 THEN 'a,b' ELSE 's' || c END,
       CASE WHEN c % 3 = 0 THEN NULL ELSE s * 0.5 + c END, CASE WHEN c % 4 = 0 THEN NULL ELSE date '2024-01-01' + s END
FROM generate_series(1, 300) AS s, generate_series(0, 29) AS c;
ANALYZE readings;
});
diff_is('readings', [], 'readings: equal tables: nothing');
$target->safe_psql('postgres', q{
UPDATE readings SET value = 1 WHERE site = 3 AND sensor = 's3';
UPDATE readings SET taken = NULL WHERE site = 150 AND sensor = 'a,b' AND taken IS NOT NULL;
UPDATE readings SET taken = '2000-01-01' WHERE site = 150 AND sensor = 's4';
DELETE FROM readings WHERE site = 299 AND sensor = 's29';
INSERT INTO readings VALUES (0, 'z', NULL, NULL), (150, 's 1', 2, NULL), (301, 'a,b', NULL, NULL);
});
diff_is(
	'readings',
	[
		row_text(0, 'z') . '|extra|',
		row_text(3, 's3') . '|changed|value',
		row_text(150, 's 1') . '|extra|',
		row_text(150, 's4') . '|changed|taken',
		row_text(299, 's29') . '|missing|',
		row_text(301, 'a,b') . '|extra|'
	],
	'readings: composite keys, NULLs in other columns');
# (site 150's 'a,b' row: c = 0, taken was NULL already, so the update changed nothing and is not reported)

# ------------------------------------------------------------------------ user IDs: the Supabase fixture
# Loaded as 004_plan_and_mapping.pl does: the data by pg_dump, every user mapped to md5('stack-' || id), the
# user IDs rewritten as the pull would. Nothing differs anywhere.
$source->safe_psql('postgres', fixture_sql('supabase.sql'));
$source->safe_psql('postgres', 'ALTER ROLE migrator BYPASSRLS');
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));
my ($dump, $dump_err) = ('', '');
IPC::Run::run(
	[
		'pg_dump', '--data-only', '--disable-triggers', '-h', $source->host, '-p', $source->port, '-d', 'postgres',
		map { ('-t', "public.$_") } qw(organizations profiles user_roles sites areas units devices sensor_readings
		  alerts event_logs members legacy_accounts legacy_sessions)
	],
	'>', \$dump, '2>', \$dump_err)
  or die "pg_dump failed: $dump_err";
$target->safe_psql('postgres', $dump);
$target->safe_psql('postgres', $source->safe_psql('postgres', q{
SELECT string_agg(format('SELECT migrate_map_put(%L, md5(%L)::uuid, %L);', id, 'stack-' || id, email), E'\n' ORDER BY id)
FROM auth.users}));
$target->safe_psql('postgres', q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
});
$target->safe_psql('postgres',
	"SET session_replication_role = replica;\n" . slurp_file("$FindBin::RealBin/../fixtures/supabase_remap.sql"));
my @fixture_tables = qw(alerts areas devices event_logs legacy_accounts legacy_sessions members organizations
  profiles sensor_readings sites units user_roles);
for my $table (@fixture_tables)
{
	diff_is($table, [], "fixture $table: user IDs mapped back: nothing differs");
}

# The Stack Auth ID of fixture user n.
sub target_id { my ($n) = @_; return "(SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-$n')::uuid)" }
my $site = $target->safe_psql('postgres', 'SELECT min(id) FROM sites WHERE created_by IS NOT NULL AND created_by <> '
	  . target_id(57));
$target->safe_psql('postgres', "UPDATE sites SET created_by = " . target_id(57) . " WHERE id = $site");
diff_is('sites', ["$site|changed|created_by"], 'sites: a row pointing at another user: changed, created_by');

# A mapping that changed: user 5's Stack Auth ID is another one now. Every row holding the old ID no longer maps
# back to user 5: user_roles names the columns that hold it; profiles, keyed by the user ID, loses user 5's
# row (missing) and holds one whose key maps nowhere (extra, its Stack Auth ID as it is).
my $old = $target->safe_psql('postgres', 'SELECT ' . target_id(5));
my $user5 = $source->safe_psql('postgres', q{SELECT md5('user-5')::uuid});
my @roles = split /\n/, $target->safe_psql('postgres', qq{
SELECT id || '|changed|' || concat_ws(',', CASE WHEN granted_by = '$old' THEN 'granted_by' END,
                                           CASE WHEN user_id = '$old' THEN 'user_id' END)
FROM user_roles WHERE '$old' IN (user_id, granted_by) ORDER BY id});
ok(@roles >= 1, 'control: user 5 holds user_roles rows (' . scalar(@roles) . ')');
my @sessions = split /\n/, $target->safe_psql('postgres',
	qq{SELECT id || '|changed|user_ref' FROM legacy_sessions WHERE user_ref = '$old' ORDER BY id});
ok(@sessions >= 1, 'control: user 5 holds legacy_sessions rows (' . scalar(@sessions) . ')');
$target->safe_psql('postgres', qq{UPDATE cutover.id_map SET target_id = '00000000-0000-4000-8000-00000000c0de' WHERE source_id = '$user5'});
diff_is('user_roles', \@roles, 'user_roles: user 5\'s mapping changed: each of its rows changed, naming the columns');
diff_is('profiles', [ by_key "$user5|missing|", "$old|extra|" ],
	'profiles: keyed by user 5\'s ID (uuid): missing, and extra as its unmapped Stack Auth ID');
diff_is('legacy_accounts', [ by_key "$user5|missing|", "$old|extra|" ],
	'legacy_accounts: keyed by user 5\'s ID (text): missing, and extra as its unmapped Stack Auth ID');
diff_is('legacy_sessions', \@sessions, 'legacy_sessions: user 5\'s sessions changed, user_ref named');
$target->safe_psql('postgres', qq{UPDATE cutover.id_map SET target_id = '$old' WHERE source_id = '$user5'});
diff_is('user_roles', [], 'user_roles: the mapping restored: nothing');
diff_is('legacy_accounts', [], 'legacy_accounts: the mapping restored: nothing');
# a changed value in a row whose key is a user ID: reported under the source's ID
$target->safe_psql('postgres', "UPDATE legacy_accounts SET plan = 'enterprise' WHERE user_ref = '$old'");
diff_is('legacy_accounts', ["$user5|changed|plan"], 'legacy_accounts: a changed plan, reported under the Supabase ID');

# ---------------------------------------------------------------------------------------------- no key
on_both('CREATE TABLE nokey (a integer, b text)');
$r = sql_error($target, "SELECT * FROM migrate_diff('nokey')");
is($r->{sqlstate}, '55000', 'nokey: 55000') or diag($r->{stderr});
like($r->{message}, qr/table public\.nokey has no primary key and no unique key on NOT NULL columns/,
	'nokey: the message names the table and what is missing');
like($r->{hint} // '', qr/ADD PRIMARY KEY/, 'nokey: the hint suggests a key');

# ---------------------------------------------------------------------------------------------- cancel
my $locker = $source->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;');
my $waiting = q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_cutover' AND wait_event_type = 'Lock'};

$r = sql_error($target, "SET statement_timeout = '1s';\nSELECT * FROM migrate_diff('orders');");
is($r->{sqlstate}, '57014', 'statement_timeout: migrate_diff fails with 57014') or diag($r->{stderr});
ok($r->{elapsed} < $prompt, "statement_timeout: the call ended within $prompt s") or diag("took $r->{elapsed} s");
ok(defined poll_until($source, $source_backends, '0', $prompt),
	"statement_timeout: no pg_cutover query left on the source after $prompt s");

my $session = $target->background_psql('postgres', on_error_stop => 0);
$session->query_safe('\set VERBOSITY verbose');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
$session->query_until(qr/diff started/, "\\echo diff started\nSELECT count(*) FROM migrate_diff('orders');\n");
ok(defined poll_until($source, $waiting, '1', 30), 'the source query of migrate_diff waits for the lock');
cancel_ok($target, $source, $session, $pid, 'migrate_diff', $prompt, $source_backends);
$session->quit;
$locker->query_safe('COMMIT');
$locker->quit;

# ----------------------------------------------------------------------------------------- cutover diff
my %client_env = (
	PGHOST => $target->host,
	PGPORT => $target->port,
	PGUSER => scalar(getpwuid($<)),
	PGDATABASE => 'postgres');

sub cutover
{
	my (@args) = @_;
	my ($stdout, $stderr) = ('', '');
	local @ENV{ keys %client_env } = values %client_env;
	IPC::Run::run([ $cutover, @args ], '<', '/dev/null', '>', \$stdout, '2>', \$stderr);
	my %r = (rc => $? >> 8, stdout => $stdout, stderr => $stderr);
	$r{report} = eval { $json->decode($stdout) } if grep { $_ eq '--json' } @args;
	return \%r;
}

my $c = cutover('diff', 'readings');
is($c->{rc}, 1, 'cutover diff readings: exit 1 (rows differ)') or diag($c->{stderr});
my @lines = split /\n/, $c->{stdout};
like($lines[0], qr/^key\s+\| status\s+\| columns$/, 'cutover diff: a header line');
like($lines[1], qr/^-+\+-+\+-+$/, 'cutover diff: a rule under it');
is(scalar(@lines), 2 + 6 + 1, 'cutover diff: the header, the rule, one line per row and the summary');
like($c->{stdout}, qr/^\(3,s3\)\s+\| changed \| value$/m, 'cutover diff: a changed row with its column');
like($c->{stdout}, qr/^\(299,s29\)\s+\| missing \| $/m, 'cutover diff: a missing row');
is($lines[-1], 'public.readings: 6 rows differ (1 missing, 3 extra, 2 changed)', 'cutover diff: the summary line');

$c = cutover('--json', 'diff', 'public.orders', '--max-rows', '1000000');
is($c->{rc}, 1, 'cutover --json diff orders: exit 1');
is(ref $c->{report}, 'HASH', 'cutover --json diff: one JSON object on stdout') or diag($c->{stdout});
is_deeply(
	[ map { join '|', $_->{key}, $_->{status}, join(',', @{ $_->{columns} // [] }) } @{ $c->{report}{differences} } ],
	\@orders_expected, 'cutover --json diff: the differences, as migrate_diff gives them');
my %counts;
$counts{ (split /\|/)[1] }++ for @orders_expected;
is_deeply(
	$c->{report}{summary},
	{
		rows => scalar(@orders_expected),
		missing => $counts{missing},
		extra => $counts{extra},
		changed => $counts{changed},
		stopped => JSON::PP::false,
		only_ranges => undef
	},
	'cutover --json diff: the summary (every row compared: the table was never verified in key ranges)');
is($c->{report}{table}, 'public.orders', 'cutover --json diff: the table, schema-qualified');

$c = cutover('diff', 'orders', '--max-rows', '3');
is($c->{rc}, 1, 'cutover diff --max-rows 3: exit 1');
like($c->{stdout}, qr/^public\.orders: stopped after 3 differing rows .*raise --max-rows/m,
	'cutover diff --max-rows 3: the summary says it stopped');
is(scalar(grep { /\|\s(?:missing|extra|changed)\s+\|/ } split /\n/, $c->{stdout}), 3, 'cutover diff --max-rows 3: 3 rows');

$c = cutover('diff', 'tokens');
is($c->{rc}, 1, 'cutover diff tokens: exit 1');
$target->safe_psql('postgres', q{
DELETE FROM tokens WHERE label IN ('first', 'last');
UPDATE tokens SET used = NOT used WHERE label = 'token 17';
UPDATE tokens SET used = NULL WHERE label = 'token 4000';
INSERT INTO tokens SELECT md5('token 7001')::uuid, 'token 7001', false;
});
$c = cutover('diff', 'tokens');
is($c->{rc}, 0, 'cutover diff tokens, repaired: exit 0') or diag($c->{stdout} . $c->{stderr});
is($c->{stdout}, "public.tokens: no rows differ\n", 'cutover diff tokens, repaired: only the summary line');
$c = cutover('--json', 'diff', 'tokens');
is_deeply($c->{report}{differences}, [], 'cutover --json diff, no differences: an empty array');

$c = cutover('diff', 'orders', '--max-rows', '0');
is($c->{rc}, 2, 'cutover diff --max-rows 0: exit 2 (usage)');
$c = cutover('diff', 'nokey');
is($c->{rc}, 2, 'cutover diff nokey: exit 2 (could not compare: not 1, which says rows differ)');
like($c->{stderr}, qr/cutover diff could not compare nokey: .*no primary key.*\n.*hint: .*ADD PRIMARY KEY/s, 'cutover diff nokey: the error and its hint');
$c = cutover('diff', 'no_such_table');
is($c->{rc}, 2, 'cutover diff no_such_table: exit 2');
like($c->{stderr}, qr/cutover diff could not compare no_such_table: .*"no_such_table" does not exist/, '... naming the table');

# ------------------------------------------------------------------------------------ nothing recorded
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.verification'), '0', 'migrate_diff records no verification');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.table_state'), '0', 'migrate_diff records no table state');
# (log_statement = all logs migrate_source's own call; nothing that migrate_diff logs may hold the password)
ok(secret_free(join("\n", grep { /migrate_diff|on the source/ } split /\n/, slurp_file($target->logfile)), $password),
	'the password is in no log line of migrate_diff');
is($source->safe_psql('postgres', $source_backends), '0', 'no pg_cutover session left on the source at the end');

done_testing();
