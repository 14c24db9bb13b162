# 013_archive.pl: cutover export and cutover import between real clusters.
#
# The source holds test/fixtures/supabase.sql and, in schema typefix, test/fixtures/types.sql. Target A pulls
# every table directly (migrate_pull); the archive is exported from the source (the ID map and the marked
# columns read from target A) and imported into target B, which starts with neither. Then:
#   1. every table's migrate_checksum on B equals A's, every imported table is verified, a second import
#      does nothing;
#   2. damaged archives, each imported into a fresh database: a file cut short, a value edited by hand, a
#      missing file, a column type changed in the manifest. Each is refused with the file, the line and the
#      table in the message; that table is unchanged (nothing of it loaded), its state is failed, every other
#      table verified.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IPC::Run;
use JSON::PP;
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = "$FindBin::RealBin/../..";
my $cutover = $ENV{CUTOVER_BIN} // "$root/client/cutover";
my $password = new_secret('archive-pw');

my $types = "CREATE SCHEMA typefix;\nSET search_path = typefix, public;\n" . fixture_sql('types.sql');
my $source = new_source('source', $password);
$source->safe_psql('postgres', fixture_sql('supabase.sql') . "\nALTER ROLE migrator BYPASSRLS;");
$source->safe_psql('postgres', $types);

my $target_sql = fixture_sql('supabase_target.sql');
my $marks = q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
};

# ------------------------------------------------------------------------------------------ target A: the pull
my $a = new_target('target_a');
$a->safe_psql('postgres', $target_sql);
$a->safe_psql('postgres', $types);
$a->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')");
my $users = $source->safe_psql('postgres',
	q{SELECT string_agg(format('(%L::uuid, %L)', id, email), ', ' ORDER BY id) FROM auth.users});
$a->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) FROM (VALUES $users) AS u(id, email)");
$a->safe_psql('postgres', $marks);
my $pulled = $a->safe_psql('postgres', q{
SELECT count(*) FROM migrate_plan(ARRAY['public', 'typefix']) AS p, LATERAL migrate_pull(p.table_name::regclass) AS r
WHERE r.status = 'loaded'});
is($pulled, '14', 'target A: 14 tables pulled');
is( $a->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM migrate_verify_all(ARRAY['public', 'typefix'])}),
	'14/14', 'target A: every table verified against the source');

# Runs the client; returns (exit code, stdout, stderr).
sub cutover
{
	my ($args, %env) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $cutover, @$args ], '>', \$out, '2>', \$err,
		init => sub { $ENV{$_} = $env{$_} for keys %env; $ENV{PGUSER} //= 'postgres' });
	return ($? >> 8, $out, $err);
}

sub env_of
{
	my ($node, $db) = @_;
	return (PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => $db // 'postgres',
		PGUSER => $node->safe_psql('postgres', 'SELECT current_user'),
		CUTOVER_SOURCE_URL => source_conninfo($source, $password));
}

# ------------------------------------------------------------------------------------------ export
my $dir = tempdir(CLEANUP => 1);
my $archive = "$dir/archive";
my ($rc, $out, $err) = cutover([ 'export', '--help' ]);
like($out, qr/--dir/, 'export --help: its flag');
($rc, $out, $err) = cutover([ 'export', '--dir', $archive, '--schema', 'public', '--schema', 'typefix' ], env_of($a));
is($rc, 0, 'export: exit 0') or diag($err);
ok(!secret_free($err . $out, $password) ? 0 : 1, 'export: no password in its output');
($rc, $out, $err) = cutover([ 'export', '--dir', $archive ], env_of($a));
is($rc, 2, 'export into a directory holding an archive: exit 2');
like($err, qr/already holds an archive/, 'export into a directory holding an archive: says so');
($rc, $out, $err) = cutover([ 'export', '--dir', "$dir/typo", '--schema', 'public', '--schema', 'nosuch' ], env_of($a));
is($rc, 2, 'export --schema nosuch: exit 2, not an archive without the schema');
like($err, qr/schema "nosuch" does not exist on the source/, 'export --schema nosuch: names the schema');
ok(!-e "$dir/typo/manifest.json", 'export --schema nosuch: no archive written');
($rc, $out, $err) = cutover([ '--dry-run', 'export', '--dir', "$dir/dry" ], env_of($a));
is($rc, 0, 'export --dry-run: exit 0') or diag($err);
like($err, qr/would export public\.profiles/, 'export --dry-run: names the tables');
ok(!-e "$dir/dry", 'export --dry-run: writes nothing');
my $manifest = decode_json(slurp_file("$archive/manifest.json"));
is(scalar @{ $manifest->{tables} }, 14, 'manifest: 14 tables');
is($manifest->{format_version}, 1, 'manifest: format version 1');
like($manifest->{snapshot_time}, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00$/, 'manifest: snapshot time in UTC');
ok(-s "$archive/id_map.json", 'the ID map of target A written');
my %entry = map { ("$_->{schema}.$_->{name}" => $_) } @{ $manifest->{tables} };
# The source's rows and checksums, as target A's verification computed them on the source.
my %verified = map { my ($t, $r, $c) = split /\|/; ($t => "$r:$c") } split /\n/, $a->safe_psql('postgres',
	q{SELECT format('%s.%s', n.nspname, c.relname), v.source_rows, v.source_checksum
	  FROM migrate_verify_all(ARRAY['public', 'typefix']) AS v JOIN pg_class c ON c.oid = v.table_name::regclass
	  JOIN pg_namespace n ON n.oid = c.relnamespace});
for my $table (sort keys %entry)
{
	is("$entry{$table}{rows}:$entry{$table}{checksum}", $verified{$table},
		"$table: the manifest's rows and checksum are the source's");
}

# ------------------------------------------------------------------------------------------ target B: the import
my $b = new_target('target_b');
$b->safe_psql('postgres', $target_sql);
$b->safe_psql('postgres', $types);
($rc, $out, $err) = cutover([ 'import', '--dir', $archive ], env_of($b));
is($rc, 0, 'import into target B: exit 0') or diag($err);
is($b->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '60', 'target B: the 60 pairs of id_map.json');
is( $b->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE status = 'verified') || '/' || count(*) FROM migrate_status()}),
	'14/14', 'target B: every imported table verified');
is($b->safe_psql('postgres', 'SELECT count(*) FROM cutover.verification WHERE ok'), '14',
	'target B: 14 verifications recorded, all ok');
for my $table (sort keys %entry)
{
	my $sql = "SELECT rows || ' ' || checksum FROM migrate_checksum('$table')";
	is($b->safe_psql('postgres', $sql), $a->safe_psql('postgres', $sql), "$table: B's checksum is A's");
}
my $sequences = q{SELECT string_agg(format('%s.%s=%s', schemaname, sequencename, last_value), ' ' ORDER BY 1)
	FROM pg_sequences WHERE schemaname IN ('public', 'typefix') AND last_value IS NOT NULL};
is($b->safe_psql('postgres', $sequences), $source->safe_psql('postgres', $sequences),
	"target B: every used sequence at the source's value");
($rc, $out, $err) = cutover([ 'import', '--dir', $archive ], env_of($b));
is($rc, 0, 'a second import: exit 0') or diag($err);
is(() = $out =~ /: skipped, 0 rows/g, 14, 'a second import skips every table');

# ------------------------------------------------------------------------------------------ damaged archives
my $c = new_target('target_c');
$c->safe_psql('postgres', 'CREATE DATABASE tmpl');
$c->safe_psql('tmpl', "CREATE EXTENSION pg_cutover CASCADE;\n" . $target_sql);
$c->safe_psql('tmpl', $types);
my $case = 0;

# A copy of the archive, damaged by $damage (given the copy's directory), imported into a fresh database.
sub damaged
{
	my ($label, $table, $damage, $message) = @_;
	$case++;
	my $copy = "$dir/case$case";
	mkdir $copy or die $!;
	copy("$archive/$_", "$copy/$_") or die $! for grep { !/^\./ } map { s{.*/}{}r } glob "$archive/*";
	$damage->($copy);
	$c->safe_psql('postgres', "CREATE DATABASE case$case TEMPLATE tmpl");
	my ($code, $stdout, $stderr) = cutover([ 'import', '--dir', $copy ], env_of($c, "case$case"));
	is($code, 1, "$label: exit 1");
	note("$label: $stderr");
	like($stderr, $message, "$label: the error names the file, the line and the table") or diag($stderr);
	my $sum = "SELECT rows || ' ' || checksum FROM migrate_checksum('$table')";
	is($c->safe_psql("case$case", $sum), $c->safe_psql('tmpl', $sum), "$label: $table unchanged (nothing loaded)");
	is($c->safe_psql("case$case",
			"SELECT status FROM cutover.table_state WHERE format('%s.%s', table_schema, table_name) = '$table'"),
		'failed', "$label: $table failed");
	is($c->safe_psql("case$case", q{SELECT count(*) FROM migrate_status() WHERE status = 'verified'}),
		'13', "$label: every other table verified");
}

sub file_of { my ($table) = @_; return $entry{$table}{file}; }

sub rewrite
{
	my ($path, $change) = @_;
	my $text = slurp_file($path);
	$text = $change->($text);
	open my $fh, '>', $path or die $!;
	print $fh $text;
	close $fh;
}

my $readings = file_of('public.sensor_readings');
damaged('a file cut short', 'public.sensor_readings',
	sub { my ($d) = @_; rewrite("$d/$readings", sub { substr($_[0], 0, int(length($_[0]) / 2)) }) },
	qr/archive file \S*\Q$readings\E, line \d+, table public\.sensor_readings: .*(cut short|rows are missing)/);

my $logs = file_of('public.event_logs');
damaged('a value edited by hand', 'public.event_logs',
	sub {
		my ($d) = @_;
		rewrite("$d/$logs",
			sub { my @l = split /\n/, $_[0]; $l[2] =~ s/^(\["[0-9a-f]{16}",")(\d)/$1 . ($2 == 9 ? 8 : $2 + 1)/e or die; join("\n", @l) . "\n" });
	},
	qr/archive file \S*\Q$logs\E, line 3, table public\.event_logs: the line does not match its check/);

my $fixture = file_of('typefix.type_fixture');
damaged('a missing file', 'typefix.type_fixture',
	sub { my ($d) = @_; unlink "$d/$fixture" or die $! },
	qr/archive file \S*\Q$fixture\E, table typefix\.type_fixture: missing .*line \d+ of manifest\.json/);

damaged('a column type changed in the manifest', 'public.alerts',
	sub {
		my ($d) = @_;
		rewrite("$d/manifest.json",
			sub { join "\n", map { /"name":"alerts"/ ? s/"type":"text"/"type":"character varying"/r : $_ } split /\n/, $_[0] });
	},
	qr/archive file \S*manifest\.json, line \d+, table public\.alerts: the manifest does not match the target's table: column \w+ is character varying in the archive but text on the target/);

done_testing();
