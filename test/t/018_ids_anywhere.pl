# 018_ids_anywhere.pl: no Supabase user ID survives the cutover. The Supabase fixture and public.activity
# (test/fixtures/ids_anywhere.sql), which keeps user IDs where no foreign key points: a uuid column, text in
# small letters, capitals, without hyphens and in braces, arrays (one of two dimensions with explicit bounds),
# jsonb values, nested values and keys, json with odd whitespace, IDs inside URLs, device UUIDs that are no
# user's, and a column kept out on purpose. A whole `cutover run` with no column marked but the kept-out one:
# every table verified, and the test itself counts the Supabase IDs left in a pg_dump of the target, in every
# spelling: only the kept-out column and the embedded ones hold any, and migrate_audit_ids and `cutover verify`
# name exactly those. Then the operator's two decisions (opt one column in for embedded IDs, keep the other on
# purpose), and a Supabase ID put back by hand into a JSON value.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use File::Temp qw(tempdir);
use JSON::PP;
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $project = '5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35';
my $key = new_secret('ssk-ids');
my $password = new_secret('ids-pw');

my $source = new_source('source', $password);
my $target = new_node('target', 'target');
$target->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$target->start;
$source->safe_psql('postgres',
	    fixture_sql('supabase.sql') . "\n"
	  . fixture_sql('ids_anywhere.sql') . "\n"
	  . fixture_sql('ids_anywhere_rows.sql')
	  . "\nALTER ROLE migrator BYPASSRLS;");
$target->safe_psql('postgres', fixture_sql('supabase_target.sql') . "\n" . fixture_sql('ids_anywhere.sql'));

my $dir = tempdir(CLEANUP => 1);
my $emulator = start_emulator($dir, $key);
my %env = (
	PGHOST => $target->host, PGPORT => $target->port, PGDATABASE => 'postgres',
	PGUSER => $target->safe_psql('postgres', 'SELECT current_user'),
	CUTOVER_SOURCE_URL => source_conninfo($source, $password),
	STACK_API_URL => $emulator->{api}, STACK_PROJECT_ID => $project, STACK_SECRET_SERVER_KEY => $key);
sub cutover { return run_client(\%env, @_); }

# Every Supabase user ID of the source, in small letters without hyphens.
my %supabase = map { (my $id = $_) =~ s/-//g; (lc $id => 1) }
  split /\n/, $source->safe_psql('postgres', 'SELECT id FROM auth.users');
cmp_ok(scalar(keys %supabase), '>=', 60, 'the source has its Supabase users');

# The Supabase IDs in a pg_dump --data-only of the target, in any spelling (small or capital letters, with or
# without hyphens, in braces or inside longer text), counted by "schema.table.column". The extension's own
# schema holds the ID map, whose source IDs are kept on purpose for 90 days: it is left out.
sub supabase_ids_in_dump
{
	my ($stdout, $stderr) = run_command(
		[ 'pg_dump', '--data-only', '--no-owner', '-h', $target->host, '-p', $target->port, 'postgres' ]);
	die "pg_dump failed: $stderr" unless $stdout =~ /PostgreSQL database dump complete/;
	my (%found, $table, @columns);
	for my $line (split /\n/, $stdout)
	{
		if ($line =~ /^COPY (\S+) \((.*)\) FROM stdin;$/)
		{
			($table, @columns) = ($1, map { s/^"|"$//gr } split /, /, $2);
			next;
		}
		if (defined $table && $line eq '\\.')
		{
			undef $table;
			next;
		}
		next if !defined $table || $table =~ /^cutover\./;
		my @fields = split /\t/, $line, -1;
		for my $i (0 .. $#fields)
		{
			while ($fields[$i] =~
				/(?<![0-9a-fA-F])([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})(?![0-9a-fA-F])/g)
			{
				(my $id = lc $1) =~ s/-//g;
				$found{"$table.$columns[$i]"}++ if $supabase{$id};
			}
		}
	}
	return \%found;
}

# ------------------------------------------------------------------------------------------------ the run
my $r = cutover('init');
is($r->{rc}, 0, 'init: exit 0') or diag($r->{stderr});
# the one mark: a column whose user IDs must stay as they are
$target->safe_psql('postgres', q{SELECT migrate_remap_column('activity', 'legacy_owner', false)});
is($target->safe_psql('postgres', q{SELECT count(*) FROM cutover.remap_column}), '1', 'one column marked: kept out');

# The plan shows where the IDs are, from a sample of the source, before any user exists in Stack Auth.
$r = cutover('plan');
is($r->{rc}, 0, 'plan: exit 0') or diag($r->{stderr});
is(scalar(grep { length > 100 } split /\n/, $r->{stdout}), 0, 'cutover plan: every line fits 100 columns');
like($r->{stdout}, qr/^  public\.activity +\d+ +[\d,]+ +\d+$/m, 'cutover plan: a line for activity, its user-ID places counted');
$r = cutover('plan', '-v');
is($r->{rc}, 0, 'plan -v: exit 0') or diag($r->{stderr});
like($r->{stdout}, qr/details \$\.targets\[\*\]: 2,000 of 2,000 sampled values are user IDs/, 'cutover plan -v prints the evidence');
my $found = $target->safe_psql('postgres',
	q{SELECT string_agg(v, E'\n') FROM migrate_plan(), unnest(user_id_values) AS v WHERE table_name = 'public.activity'});
note("plan of public.activity:\n$found");
like($found, qr/^details \$\.targets\[\*\]: 2,000 of 2,000 sampled values are user IDs$/m,
	'plan: details $.targets[*], with its evidence');
like($found, qr/^details \$\.targets\[\*\]\.also\[\*\]: 2,000 of 2,000 sampled values are user IDs$/m,
	'plan: an ID nested in an object inside an array');
like($found, qr/^details \$: 2,000 of [\d,]+ sampled keys are user IDs \(as object keys\)$/m, 'plan: IDs as object keys');
like($found, qr/^raw_event \$\.watchers\[\*\]: 2,000 of 2,000 sampled values are user IDs$/m, 'plan: json in capitals');
like($found, qr/^actor_plain: 2,000 of 2,000 sampled values are user IDs$/m, 'plan: 32 digits without hyphens');
like($found, qr/^grid: 4,000 of 8,000 sampled values are user IDs$/m, 'plan: a two-dimensional text[]');
like($found, qr/^mixed_ref: 1,000 of 2,000 sampled values are user IDs; 1,000 other UUIDs are not a user's: the place mixes/m,
	'plan: a column that mixes user IDs with other UUIDs says so');
like($found, qr/^avatar_url: 2,000 user IDs embedded in 2,000 sampled values \(not rewritten/m,
	'plan: IDs embedded in a storage path, reported as not rewritten');
like($found, qr/^legacy_owner: 2,000 of 2,000 sampled values are user IDs \(kept out\)$/m, 'plan: the kept-out column');
unlike($found, qr/^device_id/m, 'plan: device UUIDs are no user IDs');

$r = cutover('run', '-j', '2');
is($r->{rc}, 1, 'run with IDs embedded in two columns not decided on: exit 1 at the last step') or diag($r->{stderr});
like($r->{stderr}, qr/2 places in the target still hold Supabase user IDs: public\.activity\.avatar_url \(embedded\); public\.activity\.link \(embedded\)/,
	'run names each embedded place');
unlike($r->{stderr}, qr/activity\.(?!avatar_url|link)\w+ .*still hold/, 'and no other place');
is( $target->safe_psql('postgres', q{SELECT string_agg(status, ',' ORDER BY status) FROM (SELECT DISTINCT status FROM migrate_status() WHERE table_name LIKE 'public.%') s}),
	'verified', 'every table verified');

my $left = supabase_ids_in_dump();
is_deeply(
	$left,
	{ 'public.activity.avatar_url' => 2000, 'public.activity.link' => 2000, 'public.activity.legacy_owner' => 2000 },
	'pg_dump of the target: Supabase IDs only in the kept-out column and the embedded ones')
  or diag(explain($left));

# migrate_audit_ids says the same, by table, column and kind
is( $target->safe_psql('postgres', q{SELECT string_agg(format('%s.%s %s %s %s %s', table_name, column_name, coalesce(json_path, '-'), kind, ids, remap), E'\n' ORDER BY column_name) FROM migrate_audit_ids()}),
	"public.activity.avatar_url - embedded 2000 value\n"
	  . "public.activity.legacy_owner - value 2000 off\n"
	  . "public.activity.link - embedded 2000 value",
	'migrate_audit_ids: the three places, the kept-out one marked off');

# What the pull wrote, spelling by spelling: the Stack Auth ID of each row's user, spelled as the source
# spelled the Supabase ID; what is no user ID as it was.
my $spellings = $target->safe_psql('postgres', q~
SELECT count(*) FILTER (WHERE t.actor_id = m.target_id),
       count(*) FILTER (WHERE t.actor_text = m.target_id::text),
       count(*) FILTER (WHERE t.actor_upper = upper(m.target_id::text)),
       count(*) FILTER (WHERE t.actor_plain = replace(m.target_id::text, '-', '')),
       count(*) FILTER (WHERE t.actor_braced = '{' || m.target_id::text || '}'),
       count(*) FILTER (WHERE t.details ->> 'by' = m.target_id::text),
       count(*) FILTER (WHERE t.raw_event ->> 'assignee' = m.target_id::text),
       count(*) FILTER (WHERE t.grid::text LIKE '[0:1][1:2]={{' || m.target_id::text || ',system},%'),
       count(*) FILTER (WHERE t.watcher_ids[1] = m.target_id AND t.watcher_ids[2] IS NULL OR t.watcher_ids = '{}')
FROM activity t JOIN cutover.id_map m ON m.source_id = (SELECT s.source_id FROM cutover.id_map s WHERE s.target_id = t.actor_id)~);
is($spellings, '2000|2000|2000|2000|2000|2000|2000|2000|2000',
	'uuid, text, capitals, no hyphens, braces, jsonb, json, 2-D array with its bounds, uuid[] with NULL: each rewritten in its spelling');
is( $target->safe_psql('postgres', q{SELECT string_agg(device_id::text, ',' ORDER BY id) FROM activity}),
	$source->safe_psql('postgres', q{SELECT string_agg(device_id::text, ',' ORDER BY id) FROM activity}),
	'device UUIDs untouched');
# json keeps its exact text: the source's text with each Supabase ID replaced by its Stack Auth ID
my %pairs = map { split /\|/ } split /\n/,
  $target->safe_psql('postgres', q{SELECT source_id || '|' || target_id FROM cutover.id_map});
my @source_json = split /\n\x1e/, $source->safe_psql('postgres', q{SELECT string_agg(raw_event::text, E'\n\x1e' ORDER BY id) FROM activity});
my @target_json = split /\n\x1e/, $target->safe_psql('postgres', q{SELECT string_agg(raw_event::text, E'\n\x1e' ORDER BY id) FROM activity});
# the Stack Auth ID of a Supabase ID, in capitals when it was written in capitals
sub stack_id
{
	my ($id) = @_;
	my $target_id = $pairs{ lc $id } // 'unmapped';
	return $id =~ /[A-F]/ ? uc $target_id : $target_id;
}
my $same = 0;
for my $i (0 .. $#source_json)
{
	(my $expected = $source_json[$i]) =~
	  s/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/stack_id($1)/ge;
	$same++ if defined $target_json[$i] && $target_json[$i] eq $expected;
}
is($same, 2000, 'json: whitespace and key order kept exactly, only the IDs replaced');

# ------------------------------------------------------------------------------------- the two decisions
# link: 'user:<id>' is a reference, rewritten once opted in; avatar_url: a storage path, kept on purpose.
$target->safe_psql('postgres', q{SELECT migrate_remap_column('activity', 'link', 'embedded'); SELECT migrate_reset('activity');});
$r = cutover('pull');
is($r->{rc}, 0, 'pull of the reset table: exit 0') or diag($r->{stderr});
$r = cutover('verify');
is($r->{rc}, 1, 'verify with avatar_url still undecided: exit 1');
like($r->{stderr}, qr/1 place in the target still holds Supabase user IDs: public\.activity\.avatar_url \(embedded\)/,
	'verify names the one place left');
$target->safe_psql('postgres', q{SELECT migrate_remap_column('activity', 'avatar_url', false)});
$r = cutover('verify', '--json');
is($r->{rc}, 0, 'verify once every place is decided: exit 0') or diag($r->{stderr});
my $verified = decode_json($r->{stdout});
is(scalar(grep { JSON::PP::is_bool($_->{ok}) && $_->{ok} } @{ $verified->{tables} }),
	scalar(@{ $verified->{tables} }), 'verify --json: every table ok, as a JSON true');
# JSON types, not psql's text forms: a script's `select(.ok == false)` and arithmetic must work on them.
my ($activity) = grep { $_->{table_name} eq 'public.activity' } @{ $verified->{tables} };
is(JSON::PP->new->canonical->encode([ @$activity{qw(source_rows target_rows)} ]), '[2000,2000]',
	'verify --json: row counts are JSON numbers');
ok(!ref($activity->{seconds}) && JSON::PP->new->encode([ $activity->{seconds} ]) =~ /^\[[0-9.e+-]+\]$/,
	'verify --json: seconds is a JSON number');
my ($kept) = grep { $_->{column_name} eq 'avatar_url' } @{ $verified->{user_ids_left} };
is(JSON::PP->new->encode([ $kept->{ids}, $kept->{json_path} ]), '[2000,null]',
	'verify --json: the audit counts IDs as a number, an absent JSON path as null');
is(scalar(@{ $verified->{user_ids_left} }), 2, 'verify --json: the two places kept out, listed');
$left = supabase_ids_in_dump();
is_deeply($left, { 'public.activity.avatar_url' => 2000, 'public.activity.legacy_owner' => 2000 },
	'pg_dump: the opted-in column holds no Supabase ID any more')
  or diag(explain($left));
is( $target->safe_psql('postgres', q{SELECT count(*) FROM activity t JOIN cutover.id_map m ON t.link = 'user:' || m.target_id}),
	'2000', 'link: user:<Stack Auth ID>');

# ------------------------------------------------------------------- a Supabase ID put back into a JSON value
my $some_supabase_id = $target->safe_psql('postgres', q{SELECT source_id FROM cutover.id_map ORDER BY source_id LIMIT 1});
$target->safe_psql('postgres', qq{UPDATE activity SET details = jsonb_set(details, '{targets,1,also,0}', '"$some_supabase_id"') WHERE id = 17});
my $v = run_sql($target, q{SELECT ok FROM migrate_verify('activity')});
is($v->{stdout}, 'f', 'migrate_verify: not ok');
like($v->{stderr}, qr/WARNING:  (?:01000: )?table public\.activity holds Supabase user IDs that were not rewritten/, 'migrate_verify warns');
like( $target->safe_psql('postgres', q{SELECT last_error FROM migrate_status() WHERE table_name = 'public.activity'}),
	qr/column details at \$\.targets\[\*\]\.also\[\*\] \(json value\): 1 Supabase user ID left, such as $some_supabase_id/,
	'the state names the column and the JSON path');
$r = cutover('verify');
is($r->{rc}, 1, 'cutover verify: exit 1');
like($r->{stderr}, qr/public\.activity\.details \$\.targets\[\*\]\.also\[\*\] \(json value\)/, 'cutover verify names the path');
like($r->{stdout}, qr/public\.activity\.details \$\.targets\[\*\]\.also\[\*\] \(json value\): 1 Supabase user ID, such as $some_supabase_id in row 17/,
	'and the row');
like($r->{stdout}, qr/^public\.activity: DIFFERENT/m, 'cutover verify prints the table as different');
is( $target->safe_psql('postgres', q{SELECT key || ' ' || status || ' ' || array_to_string(columns, ',') FROM migrate_diff('activity')}),
	'17 changed details', 'migrate_diff: the row, changed in details');

done_testing();
