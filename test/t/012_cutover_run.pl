# 012_cutover_run.pl: the cutover client drives a whole cutover between two real clusters and the Stack Auth
# emulator: its flags and exit codes, `cutover run` from an empty target to every table verified, a rerun
# that does nothing twice, a table changed behind its back found by `cutover verify`, and a Stack Auth that
# answers bodies that are not JSON or a proxy's HTML page.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes ();
use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use B;

my $project = '5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35';
my $key = new_secret('ssk-run');
my $password = new_secret('run-pw');

my $source = new_source('source', $password);
my $target = new_node('target', 'target');
$target->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$target->start;
$source->safe_psql('postgres', fixture_sql('supabase.sql') . "\nALTER ROLE migrator BYPASSRLS;");
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));

# The emulator on a free port, its key from the environment only.
my $dir = tempdir(CLEANUP => 1);
my $emulator = start_emulator($dir, $key);
my $api = $emulator->{api};
my $http = HTTP::Tiny->new;
my $emulator_stats = sub { decode_json($http->get("$api/__emulator/stats")->{content}) };

my %env = (
	PGHOST => $target->host, PGPORT => $target->port, PGUSER => $ENV{USER} // 'postgres', PGDATABASE => 'postgres',
	CUTOVER_SOURCE_URL => source_conninfo($source, $password),
	STACK_API_URL => $api, STACK_PROJECT_ID => $project, STACK_SECRET_SERVER_KEY => $key);
$env{PGUSER} = $target->safe_psql('postgres', 'SELECT current_user');

# Runs the client with %env (and overrides); returns (exit code, stdout, stderr).
sub cutover
{
	my ($args, %override) = @_;
	my $r = run_client({ %env, %override }, @$args);
	return ($r->{rc}, $r->{stdout}, $r->{stderr});
}

# ------------------------------------------------------------------------------------------ flags, exit codes
my ($rc, $out, $err) = cutover(['--help']);
is($rc, 0, '--help: exit 0');
like($out, qr/Exit codes:.*\n.*\n.*130/s, '--help documents the exit codes');
like($out, qr/^\s+run\s+every step in order/m, '--help lists the subcommands');
($rc, $out, $err) = cutover(['users', '--help']);
like($out, qr/--concurrency/, 'users --help: its flags');
($rc, $out, $err) = cutover(['--bogus', 'status']);
is($rc, 2, 'an unknown flag: exit 2');
($rc, $out, $err) = cutover(['pull', '--jobs', '0']);
is($rc, 2, '--jobs 0: exit 2');
($rc, $out, $err) = cutover(['--version']);
like($out, qr/^cutover \d+\.\d+\.\d+$/m, '--version');
($rc, $out, $err) = cutover(['-V']);
like($out, qr/^cutover \d+\.\d+\.\d+$/m, '-V: the version too');
# A PostgreSQL tool's manners: help as a command, a typo answered with the command meant, options in words.
($rc, $out, $err) = cutover(['help']);
is($rc, 0, 'help: exit 0');
like($out, qr/^Usage: cutover /m, 'help: the usage line');
like($out, qr/^\s+reset\s+set tables back to pending/m, 'help: lists reset among the commands');
($rc, $out, $err) = cutover([ 'help', 'verify' ]);
is($rc, 0, 'help verify: exit 0');
like($out, qr/^Usage: cutover verify /m, 'help verify: the command\'s usage');
like($out, qr/Global options.*--target CONNINFO.*--dry-run/s, 'help verify: the global options too');
my $help_verify = $out;
($rc, $out, $err) = cutover([ 'verify', '--help' ]);
is($out, $help_verify, 'verify --help: the same as help verify');
($rc, $out, $err) = cutover(['verfy']);
is($rc, 2, 'a mistyped command: exit 2');
like($err, qr/^cutover: "verfy" is not a command; did you mean "verify"\?\nTry "cutover --help"/,
	'a mistyped command: the command meant');
unlike($err, qr/subcommand/i, 'a mistyped command: no parser wording');
($rc, $out, $err) = cutover(['xyzzy']);
like($err, qr/"xyzzy" is not a command\n/, 'a word near no command: no guess');
($rc, $out, $err) = cutover([]);
is($rc, 2, 'no command: exit 2');
like($err, qr/^cutover: no command given/, 'no command: says so');
($rc, $out, $err) = cutover([ 'pull', '-j', '100' ]);
is($rc, 2, '--jobs 100: exit 2');
like($err, qr/^cutover pull: --jobs: must be a whole number from 1 to 64, not "100"/, '--jobs 100: the range in words');
($rc, $out, $err) = cutover([ 'users', '--rate', '-1' ]);
like($err, qr/--rate: must be a number of 0 or more/, '--rate -1: in words');
($rc, $out, $err) = cutover([ 'pull', '--help' ]);
unlike($out, qr/INT|\[1 - 64\]/, 'pull --help: no parser type names');
($rc, $out, $err) = cutover(['status']);
is($rc, 1, 'status before init: exit 1');
like($err, qr/pg_cutover extension is not installed.*\n.*cutover init/s, 'status before init: says to run init');
($rc, $out, $err) = cutover(['init'], CUTOVER_SOURCE_URL => undef);
is($rc, 2, 'init without a source: exit 2');
like($err, qr/CUTOVER_SOURCE_URL/, 'init without a source: names the variable');
($rc, $out, $err) = cutover(['status'], PGPORT => '1');
is($rc, 3, 'an unreachable target: exit 3');

($rc, $out, $err) = cutover(['init']);
is($rc, 0, 'init: exit 0') or diag($err);
like($out, qr/source "cutover_source" configured/, 'init: the source is configured');
is($target->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname IN ('pg_cutover', 'postgres_fdw')}),
	'2', 'init: the extension and postgres_fdw are created');
($rc, $out, $err) = cutover(['users'], STACK_SECRET_SERVER_KEY => undef);
is($rc, 2, 'users without the server key: exit 2');
like($err, qr/STACK_SECRET_SERVER_KEY/, 'users without the server key: names the variable');
($rc, $out, $err) = cutover(['users', '--dry-run', '--json']);
is($rc, 0, 'users --dry-run: exit 0');
is(decode_json($out)->{total}, 60, 'users --dry-run: the 60 users planned');
is($emulator_stats->()->{creates}, 0, 'users --dry-run: nothing created in Stack Auth');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '0', 'users --dry-run: nothing mapped');

# Stack Auth's settings are proven before anything is sent or journalled, in a dry run too: a wrong key is a
# settings error (exit 2), not a user's failure; an unreachable Stack Auth is exit 3 within seconds.
my $wrong_key = new_secret('ssk-wrong');
($rc, $out, $err) = cutover([ 'users', '--dry-run' ], STACK_SECRET_SERVER_KEY => $wrong_key);
is($rc, 2, 'users --dry-run with a wrong key: exit 2');
like($err, qr/refused the settings: HTTP 401 INVALID_SECRET_SERVER_KEY.*STACK_SECRET_SERVER_KEY/s,
	'users --dry-run with a wrong key: Stack Auth\'s answer and the setting to check');
($rc, $out, $err) = cutover(['users'], STACK_SECRET_SERVER_KEY => $wrong_key);
is($rc, 2, 'users with a wrong key: exit 2');
unlike($err, qr/user [0-9a-f]{8}.*could not be created/, 'users with a wrong key: no user\'s failure');
is($target->safe_psql('postgres', 'SELECT count(*) FROM migrate_users()'), '0', 'users with a wrong key: nothing journalled');
is($emulator_stats->()->{creates}, 0, 'users with a wrong key: nothing sent');
ok(secret_free($out . $err, $wrong_key), 'users with a wrong key: the key is not shown');
($rc, $out, $err) = cutover(['run'], STACK_SECRET_SERVER_KEY => $wrong_key);
is($rc, 2, 'run with a wrong key: exit 2 before the first step');
unlike($err, qr/cutover run: init/, 'run with a wrong key: no step started');
my $check_started = Time::HiRes::time();
($rc, $out, $err) = cutover([ 'users', '--dry-run' ], STACK_API_URL => 'http://127.0.0.1:1');
my $check_took = Time::HiRes::time() - $check_started;
is($rc, 3, 'users --dry-run with Stack Auth unreachable: exit 3');
like($err, qr/could not be reached: .*STACK_API_URL/, 'Stack Auth unreachable: says so and names the setting');
cmp_ok($check_took, '<', 5, sprintf('Stack Auth unreachable: the answer within 5 s (%.1f s)', $check_took));

# The columns that hold user IDs without a foreign key, as the runbook marks them.
$target->safe_psql('postgres', q{
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
});

# ------------------------------------------------------------------------------------------ the whole cutover
($rc, $out, $err) = cutover([ 'run', '-j', '2', '--log-file', "$dir/run.jsonl" ]);
is($rc, 0, 'cutover run: exit 0') or diag($err);
like($err, qr/cutover run: every step done/, 'cutover run: every step done');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '60', 'every user mapped');
is($emulator_stats->()->{creates}, 60, 'each user created once in Stack Auth');
my $planned = $target->safe_psql('postgres', 'SELECT count(*) FROM migrate_plan()');
ok($planned >= 10, "$planned tables planned");
is($target->safe_psql('postgres', q{SELECT count(*) FROM migrate_status() WHERE status = 'verified'}),
	$planned, 'every planned table verified');
is( $target->safe_psql('postgres', q{SELECT count(*) FROM profiles p WHERE NOT EXISTS (SELECT FROM cutover.id_map m WHERE m.target_id = p.id)}),
	'0', 'profiles hold Stack Auth IDs');
my @log = map { decode_json($_) } split /\n/, slurp_file("$dir/run.jsonl");
is(scalar(grep { ($_->{message} // '') eq 'user created' } @log), 60, 'the log file has one line per user created');
is(scalar(grep { ($_->{message} // '') eq 'pull finished' } @log), $planned, 'and one per table pulled');

# A rerun does nothing twice: no user created, every table skipped, all still verified.
($rc, $out, $err) = cutover([ 'run', '--json' ]);
is($rc, 0, 'rerun: exit 0') or diag($err);
is($emulator_stats->()->{creates}, 60, 'rerun: no user created again');
like($err, qr/60 Supabase users: 60 already mapped, 0 to create/, 'rerun: every user already mapped');

($rc, $out, $err) = cutover([ 'status', '--json' ]);
my $status = decode_json($out);
is(scalar(grep { $_->{status} eq 'verified' } @{ $status->{tables} }), $planned, 'status --json: the tables');
is($status->{mapped_users}, 60, 'status --json: the users mapped');

# A row changed on the target behind the tool's back: verify says which table, exit 1.
$target->safe_psql('postgres', q{UPDATE sites SET name = name || ' (edited)' WHERE id = (SELECT min(id) FROM sites)});
($rc, $out, $err) = cutover(['verify']);
is($rc, 1, 'verify after an edit: exit 1');
like($err, qr/^warning: verify: public\.sites: DIFFERENT \(source \d+ rows, target \d+ rows\)$/m, 'verify names the table');
like($out, qr/^public\.sites: DIFFERENT/m, 'verify prints the table as different');

# verify -j 2: tables side by side. The first table verify takes (the biggest) is held by a lock on the source:
# the others are all verified while it waits (one at a time they would queue behind it); let go, it is
# verified too, and the outcome and the table printed are those of -j 1, in plan order.
my $first = $target->safe_psql('postgres', q{
SELECT table_name FROM migrate_plan('{public}', 0) ORDER BY coalesce(row_estimate, 0) DESC, level, table_name LIMIT 1});
my $held = $source->background_psql('postgres');
$held->query_safe("BEGIN; LOCK TABLE $first IN ACCESS EXCLUSIVE MODE;");
my $before = $target->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM cutover.verification');
my $parallel = start_client(\%env, "$dir/verify_j2", 'verify', '-j', '2');
my $verified_since = sub {
	my ($which) = @_;
	return "SELECT count(*) FROM cutover.verification WHERE id > $before AND table_name $which '$first'";
};
ok(defined poll_until($target, $verified_since->('<>'), $planned - 1, 60),
	"verify -j 2: the other tables verified while $first waits for its lock on the source");
is($target->safe_psql('postgres', $verified_since->('=')), 0, "... and $first not yet");
$held->query_safe('COMMIT');
$held->quit;
my ($j2_status) = end_client($parallel, 0);
is($j2_status >> 8, 1, 'verify -j 2 after the edit: exit 1 too');
is(slurp_file($parallel->{stdout}), $out, 'verify -j 2 prints the table of -j 1, in plan order');
like(slurp_file($parallel->{stderr}), qr/^warning: verify: public\.sites: DIFFERENT/m, '... and names the table that differs');
is($target->safe_psql('postgres', $verified_since->('=')), 1, "... $first verified once");

# --rate: at most that many requests a second after a first burst, and still every user once.
$http->post("$api/__emulator/reset");
$target->safe_psql('postgres', 'DELETE FROM cutover.user_journal; DELETE FROM cutover.id_map');
my $started = Time::HiRes::time();
($rc, $out, $err) = cutover([ 'users', '--rate', '40', '--concurrency', '4' ]);
my $took = Time::HiRes::time() - $started;
is($rc, 0, 'users --rate 40: exit 0') or diag($err);
is($emulator_stats->()->{creates}, 60, 'users --rate 40: each user created once');
ok($took >= 0.45 && $took < 15, sprintf('60 users at 40/s after a burst of 40: %.2f s (at least 0.5 s, no hang)', $took));

# A Stack Auth whose bodies are never JSON (creates carried out all the same), then one that answers every
# request with a proxy's HTML page: a clear error each time, nothing recorded that did not happen; then a
# healthy Stack Auth, and each user exists exactly once.
$http->post("$api/__emulator/reset");
$target->safe_psql('postgres', 'DELETE FROM cutover.user_journal; DELETE FROM cutover.id_map');
emulator_control($emulator, 'POST', 'faults', { fault_malformed_json => 1 });
($rc, $out, $err) = cutover([ 'users', '--max-attempts', '2' ]);
is($rc, 1, 'Stack Auth answering bodies that are not JSON: exit 1');
like($err, qr/body that is not JSON/, 'Stack Auth answering bodies that are not JSON: says so') or diag($err);
my $created_unread = $emulator_stats->()->{users};
cmp_ok($created_unread, '>', 0, "Stack Auth answering bodies that are not JSON: $created_unread users created unread");
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '0',
	'Stack Auth answering bodies that are not JSON: no pair recorded from an answer it could not read');
emulator_control($emulator, 'POST', 'faults', { fault_malformed_json => 0, fault_html => 1 });
($rc, $out, $err) = cutover([ 'users', '--max-attempts', '2' ]);
is($rc, 1, 'Stack Auth answering an HTML page: exit 1');
like($err, qr/HTTP 502.*502 Bad Gateway/, 'Stack Auth answering an HTML page: the status and the page title, not the page')
  or diag($err);
unlike($err, qr/<html|<center/i, 'Stack Auth answering an HTML page: no markup in the message');
is($emulator_stats->()->{users}, $created_unread, 'Stack Auth answering an HTML page: nobody more created');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '0', 'Stack Auth answering an HTML page: nothing mapped');
emulator_control($emulator, 'POST', 'faults', { fault_html => 0 });
($rc, $out, $err) = cutover([ 'users', '--json' ]);
is($rc, 0, 'Stack Auth healthy again: exit 0') or diag($err);
is(decode_json($out)->{adopted}, $created_unread, 'Stack Auth healthy again: the users created unread are adopted');
is($emulator_stats->()->{users}, 60, 'Stack Auth healthy again: each user exactly once');
is($target->safe_psql('postgres', 'SELECT count(*) FROM cutover.id_map'), '60', 'Stack Auth healthy again: every user mapped');

# cutover reset: a table and every table whose foreign keys lead to it back to pending, in one transaction.
my $states = sub {
	$target->safe_psql('postgres', q{SELECT string_agg(table_name || '=' || status, ',' ORDER BY table_name)
FROM migrate_status() WHERE table_name IN ('public.organizations', 'public.profiles', 'public.sites')});
};
my $states_before = $states->();
unlike($states_before, qr/pending/, 'reset: the three tables loaded before');
($rc, $out, $err) = cutover([ 'reset', '--dry-run', 'profiles' ]);
is($rc, 0, 'reset --dry-run: exit 0') or diag($err);
like($out, qr/public\.profiles: would be pending again/, 'reset --dry-run: names the table');
like($out, qr/public\.sites: would be pending again/, 'reset --dry-run: and a table whose foreign keys lead to it');
is($states->(), $states_before, 'reset --dry-run: nothing changed');
($rc, $out, $err) = cutover([ '--json', 'reset', 'profiles' ]);
is($rc, 0, 'reset: exit 0') or diag($err);
my $reset = decode_json($out);
my %reset_tables = map { $_ => 1 } @{ $reset->{reset} };
is(join(',', grep { $reset_tables{$_} } qw(public.organizations public.profiles public.sites)),
	'public.organizations,public.profiles,public.sites', 'reset --json: the tables set back, as a JSON array');
is( $target->safe_psql('postgres', q{SELECT count(*) FROM migrate_status() WHERE status = 'pending'}),
	scalar(keys %reset_tables), 'reset: exactly the tables it names are pending');
ok(JSON::PP::is_bool($reset->{dry_run}) && !$reset->{dry_run}, 'reset --json: dry_run a JSON false');
is($states->(), 'public.organizations=pending,public.profiles=pending,public.sites=pending', 'reset: the three pending');
($rc, $out, $err) = cutover([ 'reset', 'profiles', 'no_such_table' ]);
is($rc, 2, 'reset of a table that does not exist: exit 2');
like($err, qr/no_such_table/, 'reset of a table that does not exist: names it');
($rc, $out, $err) = cutover(['pull']);
is($rc, 0, 'pull after reset: exit 0') or diag($err);
unlike($states->(), qr/pending/, 'pull after reset: the three tables loaded again');

# JSON a script can trust: each command's real --json document, parsed, against the fields and types that
# client/README.md documents for it (the README's "JSON documents" section).
my %documented;
{
	my $command;
	for my $line (split /\n/, slurp_file("$FindBin::RealBin/../../client/README.md"))
	{
		if ($line =~ /^### `cutover ([a-z]+) --json`$/) { $command = $1; next }
		undef $command if $line =~ /^## /;
		next unless $command && $line =~ /^\| `([^`]+)` \| ([a-z ,]+?) \| .+ \|$/;
		my ($path, $types) = ($1, $2);
		my $sometimes = $types =~ s/, when there is one$//;
		push @{ $documented{$command} }, { path => $path, types => { map { $_ => 1 } split / or /, $types }, always => !$sometimes };
	}
}
sub json_type
{
	my ($value) = @_;
	return 'null' unless defined $value;
	return 'boolean' if JSON::PP::is_bool($value);
	return 'array' if ref $value eq 'ARRAY';
	return 'object' if ref $value eq 'HASH';
	my $flags = B::svref_2object(\$value)->FLAGS;
	return ($flags & (B::SVp_IOK() | B::SVp_NOK())) && !($flags & B::SVp_POK()) ? 'number' : 'string';
}
# Every documented field there with a documented type, every field documented: the problems, one per line.
sub document_problems
{
	my ($command, $document) = @_;
	my @problems;
	my %known = map { $_->{path} => 1 } @{ $documented{$command} };
	my $walk;
	$walk = sub {
		my ($node, $path) = @_;
		if (ref $node eq 'ARRAY') { $walk->($_, "$path\[]") for @$node; return }
		return unless ref $node eq 'HASH';
		for my $key (sort keys %$node)
		{
			my $child = $path eq '' ? $key : "$path.$key";
			push(@problems, "$child is not documented"), next unless $known{$child};
			next if $command eq 'run' && $child eq 'steps';
			$walk->($node->{$key}, $child);
		}
	};
	$walk->($document, '');
	for my $field (@{ $documented{$command} })
	{
		my @nodes = ($document);
		for my $segment ($field->{path} =~ /(\[\]|[^.\[\]]+)/g)
		{
			@nodes = map {
				$segment eq '[]' ? (ref $_ eq 'ARRAY' ? @$_ : ())
				  : ref $_ eq 'HASH' ? (exists $_->{$segment} ? ($_->{$segment})
					  : do { push @problems, "$field->{path} is missing" if $field->{always}; () })
				  : ()
			} @nodes;
		}
		for my $value (@nodes)
		{
			my $type = json_type($value);
			push @problems, "$field->{path} is $type" unless $field->{types}{$type};
		}
	}
	if ($command eq 'run' && ref $document->{steps} eq 'HASH')
	{
		push @problems, map { "steps.$_" } document_problems($_, $document->{steps}{$_}) for keys %{ $document->{steps} };
	}
	return @problems;
}
is(scalar(keys %documented), 11, 'client/README.md documents the --json document of 11 commands');
for my $case ([ 'init' ], [ 'plan' ], [ 'users', '--dry-run' ], [ 'pull' ], [ 'pull', '--dry-run' ], [ 'verify' ],
	[ 'diff', 'sites' ], [ 'status' ], [ 'reset', '--dry-run', 'sites' ], [ 'run', '--dry-run' ],
	[ 'export', '--dir', "$dir/archive" ], [ 'import', '--dir', "$dir/archive" ])
{
	my ($command, @args) = @$case;
	($rc, $out, $err) = cutover([ '--json', $command, @args ]);
	my $document = eval { decode_json($out) };
	ok(defined $document, "cutover --json @$case: one JSON document on stdout") or diag("exit $rc: $err");
	my @problems = document_problems($command, $document);
	is(join("\n", @problems), '', "cutover --json @$case: as client/README.md documents it, type by type");
}
{
	# the check fails what it must: psql's text forms
	my @problems = document_problems('verify', decode_json('{"tables": [{"table_name": "t", "source_rows": "40", "target_rows": 40, "source_checksum": "a", "target_checksum": "a", "ok": "t", "seconds": 1}], "user_ids_left": []}'));
	is(join(', ', sort @problems), 'tables[].ok is string, tables[].source_rows is string', 'control: the check refuses psql\'s text forms');
}

# Settings that would expose a secret are refused without showing it.
($rc, $out, $err) = cutover(['users'], STACK_API_URL => 'http://stack.example.com');
is($rc, 2, 'a plain-http Stack Auth URL off this machine: exit 2');
like($err, qr/must start with https:/, 'and the reason');
my $bad_password = 'S3cr%t!pw';
($rc, $out, $err) = cutover([ '--target', "postgresql://someone:$bad_password\@localhost/db", 'status' ]);
isnt($rc, 0, 'a malformed target URL: an error');
like($err, qr/connection string is not valid/, 'a malformed target URL: says so');
ok(secret_free($out . $err, $bad_password, 'S3cr'), 'a malformed target URL: the password is not shown');

# The secrets appear nowhere the client or the emulator wrote.
my $everything = join "\n", $out, $err, slurp_file("$dir/run.jsonl"), slurp_file($emulator->{stdout}),
  slurp_file($emulator->{stderr});
ok(secret_free($everything, $key), 'the Stack Auth key appears in no output or log');
ok(secret_free($everything, $password), 'the source password appears in no output or log');

done_testing();
