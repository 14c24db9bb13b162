# 016_hostile_inputs.pl: hostile and bad inputs between two real clusters and the Stack Auth emulator (issue 8).
#
# A bad input is a clear error: its exact SQLSTATE (or, for the client, its exit code and exact message, with the
# SQLSTATE of its --log-file line where PostgreSQL raised it), a message (or DETAIL) that names the table, column,
# ID or option concerned, and no change anywhere: a fingerprint of the target (every table with its rows, the
# cutover schema's tables included, the foreign server, the user mappings, the roles) and one of the source are
# the same before and after each case. The cases are one table (@sql_cases, @client_cases and the sections
# after them); their number is printed and must be at least 30.
#
# Names with quotes, semicolons, spaces, dots and non-ASCII letters are legal identifiers: for those the right
# behaviour is that they work (plan, pull, verify, remap), and the injection text in a name is never executed.
# Text arguments that are data (an email, a reason) are stored as they are, never executed.
#
# Sections: setup; users (emails equal but for case, invalid bcrypt hashes, oversized and too deeply nested
# metadata); names that work; bad arguments of every migrate_* function; connection strings; unmapped and
# malformed user IDs (and the other spellings of a user ID, which are rewritten keeping their spelling); a
# source changed outside the frozen window; bytes that are not UTF-8 (a SQL_ASCII source);
# the client's own inputs (STACK_API_URL, CUTOVER_SOURCE_URL, --schema, a table on the command line).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $root = "$FindBin::RealBin/../..";
my $cutover = $ENV{CUTOVER_BIN} // "$root/client/cutover";
my $emulator_bin = $ENV{STACK_AUTH_EMULATOR} // "$root/test/stack_auth_emulator/stack_auth_emulator";
ok(-x $cutover, "the client is built: $cutover") or BAIL_OUT('build it first: make');
ok(-x $emulator_bin, "the emulator is built: $emulator_bin") or BAIL_OUT('build it first: make');

my $project = '5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35';
my $key = new_secret('ssk_016_hostile');
my $password = new_secret('hostile-pw');
my $tmp = PostgreSQL::Test::Utils::tempdir('hostile');
my $json = JSON::PP->new->utf8->canonical;

# ================================================================================================ setup

my $source = new_source('source', $password);
my $target = new_target('target');
my $port = $source->port;
my $conninfo = source_conninfo($source, $password);
$source->safe_psql('postgres', fixture_sql('supabase.sql') . "\nALTER ROLE migrator BYPASSRLS;");
$target->safe_psql('postgres', fixture_sql('supabase_target.sql'));
$target->safe_psql('postgres', "SELECT migrate_source('$conninfo')");

# A user of the fixture (n = 1..60) and its ID.
sub uid { my ($n) = @_; return $source->safe_psql('postgres', "SELECT md5('user-$n')::uuid") }
my ($user1, $user2, $user3) = (uid(1), uid(2), uid(3));
my $big_user = 'c0000000-0000-4000-8000-000000000001';     # metadata over the client's 100 KB: skipped
my $deep_user = 'c0000000-0000-4000-8000-000000000002';    # metadata nested 5,000 deep: Stack Auth refuses it

# The hostile tables, on both sides: names that are legal but look like SQL, user IDs in bad shapes.
my $hostile_ddl = <<'SQL';
CREATE TABLE public.victim (id integer PRIMARY KEY, n integer, note text);
CREATE TABLE public."x""; DROP TABLE victim; --" (
    id integer PRIMARY KEY, "a;b" text, "sp ace" text, "do.t" text, "ünï cödé 🚀" text, """q""" text,
    "who'; DROP TABLE victim; --" text);
CREATE SCHEMA "sch ""; DROP TABLE public.victim; --";
CREATE TABLE "sch ""; DROP TABLE public.victim; --"."Ta.ble ü" (id integer PRIMARY KEY, "Col" text);
CREATE TABLE public.hostile_changed (id integer PRIMARY KEY, v text);
CREATE TABLE public.hostile_cols (id integer PRIMARY KEY, v text);
CREATE TABLE public.hostile_dropped (id integer PRIMARY KEY);
CREATE TABLE public.hostile_mixed (id integer PRIMARY KEY, actor text);
CREATE TABLE public.hostile_braces (id integer PRIMARY KEY, actor text);
CREATE TABLE public.hostile_bare (id integer PRIMARY KEY, actor text);
CREATE TABLE public.hostile_hyphens (id integer PRIMARY KEY, actor text);
CREATE TABLE public.hostile_stranger (id integer PRIMARY KEY, actor text);
CREATE SCHEMA badids;
SQL
$source->safe_psql('postgres', $hostile_ddl . <<"SQL");
CREATE TABLE public.hostile_refs (id integer PRIMARY KEY, user_id uuid REFERENCES auth.users (id));
CREATE TABLE badids.refs (id integer PRIMARY KEY, user_id uuid REFERENCES auth.users (id));
INSERT INTO public.victim VALUES (1, 1, 'still here');
INSERT INTO public."x""; DROP TABLE victim; --" VALUES
    (1, ';', ' ', '.', 'ü🚀', '"', '$user1'),
    (2, \$\$'); DROP TABLE victim; --\$\$, E'tab\\there', NULL, NULL, '''', upper('$user2')),
    (3, NULL, NULL, NULL, NULL, NULL, 'system');
INSERT INTO "sch ""; DROP TABLE public.victim; --"."Ta.ble ü" VALUES (1, 'a'), (2, \$\$b"; DROP TABLE victim; --\$\$);
INSERT INTO public.hostile_changed VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO public.hostile_cols VALUES (1, 'a');
INSERT INTO public.hostile_dropped VALUES (1);
-- one mapped user ID each, then a user's ID in a shape no target ID can keep (mixed letter case, hyphens in
-- other places than 8-4-4-4-12), or a UUID in a user-ID column that is no Supabase user at all
INSERT INTO public.hostile_mixed VALUES (1, '$user1'), (2, overlay('$user2' placing 'A' from 1 for 1));
INSERT INTO public.hostile_hyphens VALUES (1, '$user1'), (2, substr('$user2', 1, 4) || '-' || substr('$user2', 5));
INSERT INTO public.hostile_stranger VALUES (1, '$user1'), (2, 'c0ffee00-0000-4000-8000-00000000dead');
-- one mapped user ID each, then users' IDs in the other spellings a target ID can keep: in braces, without
-- hyphens, each in small letters and in capitals
INSERT INTO public.hostile_braces VALUES (1, '$user1'), (2, '{$user2}'), (3, upper('{$user3}'));
INSERT INTO public.hostile_bare VALUES (1, '$user1'), (2, replace('$user2', '-', '')), (3, upper(replace('$user3', '-', '')));
SQL
$target->safe_psql('postgres', $hostile_ddl . <<'SQL');
CREATE TABLE public.hostile_refs (id integer PRIMARY KEY, user_id uuid);
CREATE TABLE badids.refs (id integer PRIMARY KEY, user_id uuid);
CREATE TABLE public.only_on_target (id integer);
CREATE VIEW public.victim_view AS SELECT * FROM public.victim;
INSERT INTO public.victim VALUES (1, 1, 'still here');
-- rows already on the target: a refused pull must leave them
INSERT INTO public.hostile_refs VALUES (99, NULL);
INSERT INTO public.hostile_mixed VALUES (99, 'kept');
INSERT INTO public.hostile_hyphens VALUES (99, 'kept');
INSERT INTO public.hostile_stranger VALUES (99, 'kept');
INSERT INTO badids.refs VALUES (99, NULL);
SELECT migrate_remap_column('public."x""; DROP TABLE victim; --"', 'who''; DROP TABLE victim; --');
SELECT migrate_remap_column('hostile_mixed', 'actor');
SELECT migrate_remap_column('hostile_hyphens', 'actor');
SELECT migrate_remap_column('hostile_stranger', 'actor');
SELECT migrate_remap_column('hostile_braces', 'actor');
SELECT migrate_remap_column('hostile_bare', 'actor');
SQL

# Users of every hostile kind, added to the fixture's 60 (whose users 7 and 8 have emails equal but for case).
my $alphabet = join '', ('.', '/', 'A' .. 'Z', 'a' .. 'z', '0' .. '9');
my $tail53 = substr($alphabet x 2, 0, 53);
my %bcrypt = (
	'b0000000-0000-4000-8000-000000000001' => ['$2a$10$abc', 'unsupported hash format (a truncated or malformed bcrypt hash)'],
	'b0000000-0000-4000-8000-000000000002' => ["\$2a\$99\$$tail53", 'bcrypt cost 99 above 16'],
	'b0000000-0000-4000-8000-000000000003' => ["\$2a\$03\$$tail53", 'bcrypt cost 3 below 4'],
	'b0000000-0000-4000-8000-000000000004' => ["\$2x\$10\$$tail53", 'unsupported hash format'],
	'b0000000-0000-4000-8000-000000000005' => ['$2b$10$' . substr($tail53, 0, 52) . '!', 'a truncated or malformed bcrypt hash'],
	'b0000000-0000-4000-8000-000000000006' => ['$2b$10$' . substr($tail53, 0, 52) . "\n", 'a truncated or malformed bcrypt hash'],
	'b0000000-0000-4000-8000-000000000007' => ['plain-text-password', 'unsupported hash format'],
	'b0000000-0000-4000-8000-000000000008' => ["\$argon2id\$v=19\$m=65536,t=3,p=4\$$tail53", 'argon2id hash cannot be imported']);

sub sql_literal { my ($text) = @_; $text =~ s/'/''/g; return "'$text'" }

sub insert_user
{
	my ($id, $email, $hash, $meta_sql) = @_;
	$source->safe_psql('postgres', sprintf(q{
INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at, last_sign_in_at)
VALUES ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, %s,
        '2024-01-01 00:00:00+00', '{"provider": "email", "providers": ["email"]}', %s,
        '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00', NULL)}, sql_literal($id), sql_literal($email),
		sql_literal($hash), $meta_sql));
}
my $n = 0;
insert_user($_, 'bcrypt-' . ++$n . '@hostile.example', $bcrypt{$_}[0], q{'{}'}) for sort keys %bcrypt;
insert_user($big_user, 'big@hostile.example', '', q{jsonb_build_object('blob', repeat('x', 200000))});
$source->safe_psql('postgres', "INSERT INTO public.hostile_refs VALUES (1, '$user1'), (2, '$big_user')");
$source->safe_psql('postgres', "INSERT INTO badids.refs VALUES (1, '$user1'), (2, '$big_user')");

# ------------------------------------------------------------------------------------------------ emulator
my %emulator = (port_file => "$tmp/emulator.port", stdout => "$tmp/emulator.stdout", stderr => "$tmp/emulator.stderr");
{
	local $ENV{STACK_SECRET_SERVER_KEY} = $key;
	$emulator{harness} = IPC::Run::start([ $emulator_bin, '--port', '0', '--port-file', $emulator{port_file} ],
		'<', '/dev/null', '>', $emulator{stdout}, '2>', $emulator{stderr});
}
my $deadline = time + 20;
sleep 0.05 until -s $emulator{port_file} || time > $deadline;
BAIL_OUT('the emulator did not start: ' . slurp_file($emulator{stderr})) unless -s $emulator{port_file};
chomp(my $emulator_port = slurp_file($emulator{port_file}));
my $api = "http://127.0.0.1:$emulator_port";
my $http = HTTP::Tiny->new(timeout => 30);

END
{
	$emulator{harness}->kill_kill if $emulator{harness} && $emulator{harness}->pumpable;
}

sub emulator_get
{
	my ($path) = @_;
	my $response = $http->get("$api/__emulator/$path");
	die "GET /__emulator/$path: $response->{status}" unless $response->{success};
	return $json->decode($response->{content});
}

# What the emulator holds, for "no change": its users and how many creates it served.
sub emulator_fingerprint
{
	my $stats = emulator_get('stats');
	my $users = emulator_get('users');
	return join ',', $stats->{creates}, map { $_->{id} } @$users;
}

# ------------------------------------------------------------------------------------------------ the client
my %client_env = (
	PGHOST => $target->host, PGPORT => $target->port, PGDATABASE => 'postgres',
	PGUSER => $target->safe_psql('postgres', 'SELECT current_user'),
	CUTOVER_SOURCE_URL => $conninfo,
	STACK_API_URL => $api, STACK_PROJECT_ID => $project, STACK_SECRET_SERVER_KEY => $key);
my @client_outputs;

# Runs the client with %client_env and overrides (undef deletes); returns {rc, stdout, stderr, log (the
# --log-file lines as JSON objects)}.
sub cutover
{
	my ($args, %override) = @_;
	my %run_env = (%client_env, %override);
	my $log_file = "$tmp/cutover-" . int(rand(1e9)) . '.jsonl';
	my ($out, $err) = ('', '');
	IPC::Run::run([ $cutover, @$args, '--log-file', $log_file ], '<', '/dev/null', '>', \$out, '2>', \$err,
		init => sub {
			$ENV{$_} = $run_env{$_} for grep { defined $run_env{$_} } keys %run_env;
			delete $ENV{$_} for grep { !defined $run_env{$_} } keys %run_env;
		});
	my $rc = $? >> 8;
	push @client_outputs, $out, $err;
	my @log = -e $log_file ? map { $json->decode($_) } split /\n/, slurp_file($log_file) : ();
	push @client_outputs, -e $log_file ? slurp_file($log_file) : '';
	return { rc => $rc, stdout => $out, stderr => $err, log => \@log };
}

# ================================================================================================ the cases

my @cases;    # "what is tried -> SQLSTATE or exit code", one per error case

sub text_of
{
	my ($r) = @_;
	return join "\n", grep { defined } $r->{message}, $r->{detail}, $r->{hint};
}

# One SQL error case: %c = name, sql, sqlstate, names (strings the message or DETAIL must contain), db (target
# database, default postgres), source_db (default postgres), secrets (must not appear).
sub sql_case
{
	my (%c) = @_;
	my $db = $c{db} // 'postgres';
	my $source_db = $c{source_db} // 'postgres';
	my $label = 'case ' . (@cases + 1) . ": $c{name}";
	my ($target_before, $source_before) = (db_fingerprint($target, $db), db_fingerprint($source, $source_db));
	my $r = sql_error($target, $c{sql}, dbname => $db);
	is($r->{sqlstate}, $c{sqlstate}, "$label: SQLSTATE $c{sqlstate}") or diag($r->{stderr});
	my $text = text_of($r);
	for my $name (@{ $c{names} // [] })
	{
		ok(index($text, $name) >= 0, "$label: the error names $name") or diag($text);
	}
	ok(secret_free($r->{stderr}, $password, @{ $c{secrets} // [] }), "$label: no password in the error");
	unlike($text, qr/pg_cutover failed unexpectedly|std::|XX000/, "$label: no internal error");
	is(db_fingerprint($target, $db), $target_before, "$label: nothing changed on the target");
	is(db_fingerprint($source, $source_db), $source_before, "$label: nothing changed on the source");
	push @cases, "$c{name} -> $c{sqlstate}";
	return $r;
}

# One client error case: %c = name, args, env (overrides), rc, stderr (a regex for the whole error line), sqlstate
# (of the error line in --log-file, when PostgreSQL raised it), db, source_db, journal_filter.
sub client_case
{
	my (%c) = @_;
	my $db = $c{db} // 'postgres';
	my $source_db = $c{source_db} // 'postgres';
	my %opts = (journal_filter => $c{journal_filter}, skip => $c{failed_table} ? ['cutover.table_state'] : []);
	my $label = 'case ' . (@cases + 1) . ": $c{name}";
	my @before = (db_fingerprint($target, $db, %opts), db_fingerprint($source, $source_db), emulator_fingerprint());
	my $r = cutover($c{args}, %{ $c{env} // {} });
	is($r->{rc}, $c{rc}, "$label: exit $c{rc}") or diag($r->{stderr});
	like($r->{stderr}, $c{stderr}, "$label: the message") or diag($r->{stderr});
	if ($c{sqlstate})
	{
		my ($error) = grep { $_->{level} eq 'error' && defined $_->{sqlstate} } @{ $r->{log} };
		is($error && $error->{sqlstate}, $c{sqlstate}, "$label: SQLSTATE $c{sqlstate} in the log file");
	}
	ok(secret_free($r->{stdout} . $r->{stderr}, $password, $key), "$label: no password or key in the output");
	is(db_fingerprint($target, $db, %opts), $before[0],
		"$label: nothing changed on the target" . ($c{failed_table} ? ' but the state' : ''));
	like($target->safe_psql($db, "SELECT status || ' ' || last_error FROM migrate_status() WHERE table_name = '$c{failed_table}'"),
		qr/^failed \Q$c{sqlstate}\E: /, "$label: the state of $c{failed_table} says failed, with the error")
	  if $c{failed_table};
	is(db_fingerprint($source, $source_db), $before[1], "$label: nothing changed on the source");
	is(emulator_fingerprint(), $before[2], "$label: nothing changed in Stack Auth");
	push @cases, "$c{name} -> exit $c{rc}" . ($c{sqlstate} ? " ($c{sqlstate})" : '');
	return $r;
}

# ================================================================================================ users
# Emails equal but for case (fixture users 7 and 8), invalid bcrypt hashes, metadata over the client's limit.
my $r = cutover([ 'users', '--json' ]);
is($r->{rc}, 0, 'users: exit 0') or diag($r->{stderr});
my $report = eval { $json->decode($r->{stdout}) } // {};
my %line = map { $_->{source_id} => $_ } @{ $report->{users} // [] };
my %in_stack = map { ($_->{server_metadata}{supabase_user_id} // '') => $_ } @{ emulator_get('users') };
my %journal = map { my @f = split /\|/, $_, -1; $f[0] => { status => $f[1], error => $f[2], notes => $f[3] } }
  split /\n/, $target->safe_psql('postgres',
	q{SELECT source_id, status, coalesce(last_error, ''), coalesce(notes, '') FROM cutover.user_journal});
my $mapped = { map { $_ => 1 } split /\n/, $target->safe_psql('postgres', 'SELECT source_id FROM cutover.id_map') };

# emails that differ only in case: both users created, one email sign-in between them, the other told why
my ($u7, $u8) = (uid(7), uid(8));
ok($in_stack{$u7} && $in_stack{$u8}, 'emails equal but for case: both users created');
my @signs_in = grep { $in_stack{$_}{primary_email_auth_enabled} } ($u7, $u8);
is(scalar @signs_in, 1, 'emails equal but for case: exactly one of them signs in with the email');
my ($winner) = @signs_in;
my ($loser) = grep { $_ ne ($winner // '') } ($u7, $u8);
is($in_stack{$loser}{server_metadata}{supabase_email_shared_with}, $winner,
	'emails equal but for case: the other keeps the email without sign-in, naming the winner');
like($line{$loser}{notes}, qr/email jordan\.lee\@example\.com is shared \(after lowercasing\) with Supabase user \Q$winner\E/,
	'emails equal but for case: the report line says so');
push @cases, 'emails equal but for case (users 7 and 8) -> both created, one keeps email sign-in (handled, not an error)';

# invalid bcrypt hashes: the user is created without a password, the report says why without quoting the hash
for my $id (sort keys %bcrypt)
{
	my ($hash, $reason) = @{ $bcrypt{$id} };
	(my $shown = $hash) =~ s/\n/\\n/g;
	ok($in_stack{$id}, "bcrypt $shown: the user is created");
	ok(!defined $in_stack{$id}{password_hash} && !$in_stack{$id}{has_password}, "bcrypt $shown: without a password");
	like($line{$id}{notes} // '', qr/\Q$reason\E/, "bcrypt $shown: the report says: $reason");
	is($journal{$id}{status}, 'created', "bcrypt $shown: journal created");
	ok(index($r->{stdout} . $r->{stderr}, $hash) < 0 || length($hash) < 12, "bcrypt $shown: the hash is not quoted");
	push @cases, "encrypted_password '$shown' -> created without password, note '$reason' (handled)";
}

# metadata over 100 KB: not sent, skipped with the reason; its ID stays unmapped (the pull below refuses it)
ok(!$in_stack{$big_user}, 'metadata of 200 KB: not sent to Stack Auth');
is($journal{$big_user}{status}, 'skipped', 'metadata of 200 KB: journal skipped');
like($journal{$big_user}{error}, qr/^metadata too large \(\d{6} bytes\)$/, 'metadata of 200 KB: the reason');
ok(!$mapped->{$big_user}, 'metadata of 200 KB: not in the ID map');
is($report->{skipped}, 1, 'metadata of 200 KB: the only user skipped');
push @cases, 'raw_user_meta_data of 200 KB -> skipped, not sent, journal skipped (handled)';
is($report->{failed}, 0, 'users: no user failed');
is(scalar(keys %$mapped), 60 + scalar(keys %bcrypt), 'users: every other user mapped');

# metadata nested 5,000 deep (jsonb takes it): Stack Auth answers 400; the run stops, naming the user and the
# answer; nothing is created, nothing mapped; the journal records the failure and nothing else changes
insert_user($deep_user, 'deep@hostile.example', '', q{(repeat('[', 5000) || repeat(']', 5000))::jsonb});
client_case(
	name => 'raw_user_meta_data nested 5,000 deep (cutover users)',
	args => ['users'],
	rc => 1,
	stderr => qr/^error: user \Q$deep_user\E <deep\@hostile\.example> could not be created in Stack Auth: HTTP 400 BODY_PARSING_ERROR/m,
	journal_filter => "source_id <> '$deep_user'");
is( $target->safe_psql('postgres', "SELECT status || ': ' || last_error FROM cutover.user_journal WHERE source_id = '$deep_user'"),
	'failed: HTTP 400 BODY_PARSING_ERROR: Invalid JSON in request body', 'deep metadata: the journal says failed, and why');
$source->safe_psql('postgres', "DELETE FROM auth.users WHERE id = '$deep_user'");
$target->safe_psql('postgres', "DELETE FROM cutover.user_journal WHERE source_id = '$deep_user'");

# ================================================================================================ names that work
# A table named x"; DROP TABLE victim; -- with such columns, one of them a marked user-ID column; a schema and a
# table with quotes, a semicolon, a dot, spaces and non-ASCII letters: planned, pulled, verified; nothing runs.
my $evil_table = 'public."x""; DROP TABLE victim; --"';
my $evil_schema_table = '"sch ""; DROP TABLE public.victim; --"."Ta.ble ü"';
my $plan = $target->safe_psql('postgres',
	q{SELECT string_agg(table_name || ' ' || user_id_columns::text, E'\n' ORDER BY table_name) FROM migrate_plan(ARRAY['public', 'sch "; DROP TABLE public.victim; --']) WHERE table_name ~ '"'});
like($plan, qr/^\Q$evil_table\E \{"who'; DROP TABLE victim; -- -> marked by hand"\}$/m, 'names: planned, the marked column named');
like($plan, qr/^\Q$evil_schema_table\E \{\}$/m, 'names: the odd schema planned');
for my $format ('binary', 'text')
{
	my $set = $format eq 'text' ? "SET pg_cutover.pull_format = 'text';\n" : '';
	$target->safe_psql('postgres', "SELECT migrate_reset('$_')") for ($evil_table, $evil_schema_table);
	for my $table ($evil_table, $evil_schema_table)
	{
		(my $literal = $table) =~ s/'/''/g;
		is($target->safe_psql('postgres', "${set}SELECT status || ':' || rows FROM migrate_pull('$literal')"),
			$table eq $evil_table ? 'loaded:3' : 'loaded:2', "names ($format format): $table pulled");
		is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('$literal')"), 't', "names ($format format): $table verifies");
	}
	is( $target->safe_psql('postgres', qq{SELECT string_agg(coalesce("who'; DROP TABLE victim; --", 'NULL'), ',' ORDER BY id) FROM $evil_table}),
		join(',', $target->safe_psql('postgres', "SELECT migrate_remap('$user1')"),
			uc($target->safe_psql('postgres', "SELECT migrate_remap('$user2')")), 'system'),
		"names ($format format): the user IDs in the oddly named column are remapped");
}
for my $node ($source, $target)
{
	is($node->safe_psql('postgres', 'SELECT count(*) FROM public.victim'), '1', 'names: victim still there on the ' . $node->name);
}
push @cases, "table $evil_table, columns \"a;b\" \"sp ace\" \"do.t\" \"ünï cödé 🚀\" \"\"\"q\"\"\" -> planned, pulled (both formats), remapped, verified (works)";
push @cases, "schema and table $evil_schema_table -> planned, pulled, verified (works)";

# Text arguments that are data: stored as they are, never run.
my $evil_email = q{x'); DROP TABLE victim; --@hostile.example};
is( $target->safe_psql('postgres',
		"SELECT migrate_map_put('d0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', "
		  . sql_literal($evil_email) . ')'),
	't', 'data: an email with SQL in it is recorded');
is($target->safe_psql('postgres', q{SELECT email FROM cutover.id_map WHERE source_id = 'd0000000-0000-4000-8000-000000000001'}),
	$evil_email, 'data: ... as it is');
$target->safe_psql('postgres',
	q{SELECT migrate_user_not_created('d0000000-0000-4000-8000-000000000002', 'failed', $$'); DROP TABLE victim; --$$, NULL, $$k'); DROP TABLE victim; --$$)});
is( $target->safe_psql('postgres', q{SELECT last_error || '|' || kind FROM cutover.user_journal WHERE source_id = 'd0000000-0000-4000-8000-000000000002'}),
	q{'); DROP TABLE victim; --|k'); DROP TABLE victim; --}, 'data: a reason and a kind with SQL in them are recorded as they are');
is($target->safe_psql('postgres', 'SELECT count(*) FROM public.victim'), '1', 'data: victim still there');
push @cases, 'email, reason and kind holding SQL (migrate_map_put, migrate_user_not_created) -> stored verbatim (works)';

# options='-c search_path=...' in the connection string: the source session's settings cannot reach the
# checksum or the pull, which set their own; an md5 planted on the source in that schema never runs.
$source->safe_psql('postgres', q{
CREATE SCHEMA planted;
CREATE FUNCTION planted.md5(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'planted md5 ran'; END $$;
CREATE FUNCTION planted.md5(bytea) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'planted md5 ran'; END $$;
GRANT USAGE ON SCHEMA planted TO migrator;});
my $planted_err = '';
$source->psql('postgres', q{SET search_path = planted, pg_catalog; SELECT md5('x')}, stderr => \$planted_err,
	extra_params => [ '-U', 'migrator' ]);
like($planted_err, qr/planted md5 ran/, 'control: for migrator, the planted md5 comes first on that search_path');
$target->safe_psql('postgres',
	"SELECT migrate_source('$conninfo options=''-c search_path=planted,pg_catalog -c DateStyle=German -c extra_float_digits=-15''')");
$target->safe_psql('postgres', "SELECT migrate_reset('hostile_changed')");
is($target->safe_psql('postgres', q{SELECT status || ':' || rows FROM migrate_pull('hostile_changed')}), 'loaded:3',
	'options -c search_path=planted: the pull ignores the session setting');
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('hostile_changed')}), 't',
	'options -c search_path=planted: the verification too (the planted md5 never ran)');
$target->safe_psql('postgres', "SELECT migrate_source('$conninfo')");
$source->safe_psql('postgres', 'DROP SCHEMA planted CASCADE');
push @cases, "conninfo options='-c search_path=planted,... -c DateStyle=...' with md5() planted on the source -> pull and verify ok, planted code never runs (works)";

# ================================================================================================ bad arguments
# Every text argument of every migrate_* function, and a regclass given as text with SQL in it.
my $checksum = $target->safe_psql('postgres', q{SELECT checksum FROM migrate_checksum('victim')});
my @sql_cases = (
	{ name => q{migrate_checksum('no_such_table')}, sql => q{SELECT * FROM migrate_checksum('no_such_table')},
	  sqlstate => '42P01', names => ['no_such_table'] },
	{ name => q{migrate_checksum('victim; DROP TABLE victim')}, sql => q{SELECT * FROM migrate_checksum('victim; DROP TABLE victim')},
	  sqlstate => '42602', names => ['invalid name syntax'] },
	{ name => q{migrate_source_checksum_sql('victim) AS t; DROP TABLE victim; --')},
	  sql => q{SELECT migrate_source_checksum_sql('victim) AS t; DROP TABLE victim; --')}, sqlstate => '42602' },
	{ name => q{migrate_verify('"X""; DROP TABLE victim; --"') (a name in another case)},
	  sql => q{SELECT * FROM migrate_verify('"X""; DROP TABLE victim; --"')}, sqlstate => '42P01',
	  names => ['X"; DROP TABLE victim; --'] },
	{ name => q{migrate_verify('only_on_target') (a table the source lacks)}, sql => q{SELECT * FROM migrate_verify('only_on_target')},
	  sqlstate => '42P01', names => ['public.only_on_target', 'does not exist on the source'] },
	{ name => q{migrate_verify_checksum('victim', 1, 'x''; DROP TABLE victim; --')},
	  sql => q{SELECT * FROM migrate_verify_checksum('victim', 1, 'x''; DROP TABLE victim; --')}, sqlstate => '22023',
	  names => ['public.victim', 'not a checksum'] },
	{ name => q{migrate_verify_checksum('victim', -1, <checksum>)},
	  sql => qq{SELECT * FROM migrate_verify_checksum('victim', -1, '$checksum')}, sqlstate => '22023',
	  names => ['public.victim', '-1'] },
	{ name => q{migrate_verify_checksum(..., ARRAY['id; DROP TABLE victim'])},
	  sql => qq{SELECT * FROM migrate_verify_checksum('victim', 1, '$checksum', ARRAY['id; DROP TABLE victim'])},
	  sqlstate => '42703', names => ['public.victim', '"id; DROP TABLE victim"'] },
	{ name => q{migrate_verify_checksum('victim_view', ..., ARRAY['id']) (user IDs of a view)},
	  sql => qq{SELECT * FROM migrate_verify_checksum('victim_view', 1, '$checksum', ARRAY['id'])},
	  sqlstate => '42809', names => ['public.victim_view', 'view'] },
	{ name => q{migrate_plan(ARRAY['public', NULL])}, sql => q{SELECT * FROM migrate_plan(ARRAY['public', NULL])},
	  sqlstate => '22004', names => ['schema names'] },
	{ name => q{migrate_preflight(ARRAY[NULL])}, sql => q{SELECT * FROM migrate_preflight(ARRAY[NULL])},
	  sqlstate => '22004', names => ['schema names'] },
	{ name => q{migrate_remap_column('victim', 'id; DROP TABLE victim')},
	  sql => q{SELECT migrate_remap_column('victim', 'id; DROP TABLE victim')}, sqlstate => '42703',
	  names => ['"id; DROP TABLE victim"', 'public.victim'] },
	{ name => q{migrate_remap_column('victim', 'ID') (a column name in another case)},
	  sql => q{SELECT migrate_remap_column('victim', 'ID')}, sqlstate => '42703', names => ['"ID"', 'public.victim'] },
	{ name => q{migrate_remap_column('victim', 'n') (an integer column)}, sql => q{SELECT migrate_remap_column('victim', 'n')},
	  sqlstate => '42804', names => ['"n"', 'public.victim', 'integer'] },
	{ name => q{migrate_remap_column('victim_view', 'id')}, sql => q{SELECT migrate_remap_column('victim_view', 'id')},
	  sqlstate => '42809', names => ['public.victim_view'] },
	{ name => q{migrate_remap_column('victim''; DROP TABLE victim; --', 'id')},
	  sql => q{SELECT migrate_remap_column('victim''; DROP TABLE victim; --', 'id')}, sqlstate => '42602' },
	{ name => q{migrate_pull('victim''; DROP TABLE victim; --')},
	  sql => q{SELECT * FROM migrate_pull('victim''; DROP TABLE victim; --')}, sqlstate => '42602' },
	{ name => q{migrate_pull(NULL)}, sql => q{SELECT * FROM migrate_pull(NULL)}, sqlstate => '22004', names => ['NULL'] },
	{ name => q{migrate_pull('victim', 'x''; DROP TABLE victim; --') (the snapshot argument)},
	  sql => q{SELECT * FROM migrate_pull('victim', 'x''; DROP TABLE victim; --')}, sqlstate => '22023',
	  names => [q{x'; DROP TABLE victim; --}, 'public.victim'] },
	{ name => q{migrate_pull('only_on_target')}, sql => q{SELECT * FROM migrate_pull('only_on_target')},
	  sqlstate => '42P01', names => ['public.only_on_target', 'does not exist on the source'] },
	{ name => q{migrate_pull('victim_view')}, sql => q{SELECT * FROM migrate_pull('victim_view')},
	  sqlstate => '42809', names => [ 'public.victim_view', 'is not a table pg_cutover can load' ] },
	{ name => q{migrate_map_put('not-a-uuid', ...)},
	  sql => q{SELECT migrate_map_put('not-a-uuid', 'e0000000-0000-4000-8000-000000000009')}, sqlstate => '22P02',
	  names => ['not-a-uuid'] },
	{ name => q{migrate_map_put(NULL, ...)},
	  sql => q{SELECT migrate_map_put(NULL, 'e0000000-0000-4000-8000-000000000009')}, sqlstate => '22004' },
	{ name => q{migrate_map_put(<mapped source ID>, <another target ID>)},
	  sql => qq{SELECT migrate_map_put('$user1', 'e0000000-0000-4000-8000-000000000009')}, sqlstate => '23505',
	  names => [$user1, 'e0000000-0000-4000-8000-000000000009'] },
	{ name => q{migrate_remap(<an unmapped ID>)},
	  sql => q{SELECT migrate_remap('00000000-0000-4000-8000-00000000dead')}, sqlstate => 'P0002',
	  names => ['00000000-0000-4000-8000-00000000dead'] },
	{ name => q{migrate_unmap(<an unknown target ID>)},
	  sql => q{SELECT migrate_unmap('00000000-0000-4000-8000-00000000beef')}, sqlstate => 'P0002',
	  names => ['00000000-0000-4000-8000-00000000beef'] },
	{ name => q{migrate_map_purge('1 day; DROP TABLE victim')},
	  sql => q{SELECT migrate_map_purge('1 day; DROP TABLE victim')}, sqlstate => '22007' },
	{ name => q{migrate_map_purge('-1 day')}, sql => q{SELECT migrate_map_purge('-1 day')}, sqlstate => '22023',
	  names => ['retention must not be negative'] },
	{ name => q{migrate_user_sending(ARRAY[id], ARRAY[email], ARRAY[]) (lengths differ)},
	  sql => q{SELECT migrate_user_sending(ARRAY['d0000000-0000-4000-8000-000000000003']::uuid[], ARRAY['a@b.c'], ARRAY[]::text[])},
	  sqlstate => '2202E' },
	{ name => q{migrate_user_sending(ARRAY[NULL], ...)},
	  sql => q{SELECT migrate_user_sending(ARRAY[NULL]::uuid[], ARRAY['a@b.c'], ARRAY['regular'])}, sqlstate => '22004' },
	{ name => q{migrate_user_not_created(id, 'failed''; DROP TABLE victim; --', ...) (the status argument)},
	  sql => q{SELECT migrate_user_not_created('d0000000-0000-4000-8000-000000000003', 'failed''; DROP TABLE victim; --', 'r')},
	  sqlstate => '22023', names => [q{failed'; DROP TABLE victim; --}] },
	{ name => q{migrate_user_not_created(<a created user>, 'skipped', ...)},
	  sql => qq{SELECT migrate_user_not_created('$user1', 'skipped', 'r')}, sqlstate => '55000', names => [$user1] },
	{ name => q{migrate_user_created(<new source ID>, <a taken target ID>)},
	  sql => q{SELECT migrate_user_created('d0000000-0000-4000-8000-000000000004', 'e0000000-0000-4000-8000-000000000001')},
	  sqlstate => '23505', names => ['e0000000-0000-4000-8000-000000000001'] },
	{ name => q{migrate_import_started('victim"; DROP TABLE victim; --')},
	  sql => q{SELECT migrate_import_started('victim"; DROP TABLE victim; --')}, sqlstate => '42602' },
	{ name => q{migrate_import_failed('victim; x', 'e')}, sql => q{SELECT migrate_import_failed('victim; x', 'e')},
	  sqlstate => '42602' },
	{ name => q{migrate_reset('victim_view')}, sql => q{SELECT * FROM migrate_reset('victim_view')}, sqlstate => '42809',
	  names => ['public.victim_view'] },
	{ name => q{migrate_reset('no_such_table')}, sql => q{SELECT * FROM migrate_reset('no_such_table')},
	  sqlstate => '42P01', names => ['no_such_table'] },

	# ------------------------------------------------------------------------------------------ connection strings
	{ name => q{migrate_source: an unterminated quote (password='... host=...)},
	  sql => qq{SELECT migrate_source('host=127.0.0.1 port=$port dbname=postgres user=migrator password=''$password host=127.0.0.2')},
	  sqlstate => '22023',
	  names => ['invalid connection string for the source'] },
	{ name => q{migrate_source: an unknown keyword (nosuch=1)}, sql => qq{SELECT migrate_source('$conninfo nosuch=1')},
	  sqlstate => '22023', names => ['invalid connection string for the source'] },
	{ name => q{migrate_source: client_encoding=SQL_ASCII}, sql => qq{SELECT migrate_source('$conninfo client_encoding=SQL_ASCII')},
	  sqlstate => '22023', names => ['"client_encoding"'] },
	{ name => q{migrate_source: fallback_application_name=x}, sql => qq{SELECT migrate_source('$conninfo fallback_application_name=x')},
	  sqlstate => '22023', names => ['"fallback_application_name"'] },
	{ name => q{migrate_source: a URI with ?client_encoding=LATIN1},
	  sql => qq{SELECT migrate_source('postgresql://migrator:$password\@127.0.0.1:$port/postgres?client_encoding=LATIN1')},
	  sqlstate => '22023', names => ['"client_encoding"'] },
	{ name => q{migrate_source: replication=database}, sql => qq{SELECT migrate_source('$conninfo replication=database')},
	  sqlstate => 'HV00D', names => ['"replication"'] },
	{ name => q{migrate_source: a wrong password}, sql => qq{SELECT migrate_source('$conninfo' || 'x')},
	  sqlstate => '28P01', names => ['authentication to the source failed', 'migrator'], secrets => ["${password}x"] },
	{ name => q{migrate_source: dbname='postgres host=127.0.0.2' (a keyword inside a value)},
	  sql => qq{SELECT migrate_source('host=127.0.0.1 port=$port user=migrator password=$password dbname=''postgres host=127.0.0.2''')},
	  sqlstate => '08001', names => ['database "postgres host=127.0.0.2" does not exist', 'at "127.0.0.1"'] },
	{ name => q{migrate_source: a second dbname (the last one counts)},
	  sql => qq{SELECT migrate_source('$conninfo dbname=no_such_db')}, sqlstate => '08001',
	  names => ['database "no_such_db" does not exist'] },
	{ name => q{migrate_source: service=no_such_service}, sql => qq{SELECT migrate_source('$conninfo service=no_such_service')},
	  sqlstate => '08001', names => ['"no_such_service"'] },
	{ name => q{migrate_source: a port nothing listens on},
	  sql => q{SELECT migrate_source('host=127.0.0.1 port=1 dbname=postgres user=migrator password=x')}, sqlstate => '08001',
	  names => ['port 1'] });

for my $case (@sql_cases)
{
	sql_case(%$case);
}
# A view without user IDs is compared as it is (nothing mapped back): victim_view shows victim's one row, so
# victim's checksum verifies it (and one row too many does not), and the verification leaves the view a state
# row saying verified. migrate_pull still refuses the view (42809) rather than skip it as verified: a view is
# no table to load, whatever its state says.
is($target->safe_psql('postgres', qq{SELECT ok FROM migrate_verify_checksum('victim_view', 2, '$checksum')}), 'f',
	'a view without user IDs: control: a row count that is not its own is not ok');
is($target->safe_psql('postgres', qq{SELECT ok FROM migrate_verify_checksum('victim_view', 1, '$checksum')}), 't',
	'a view without user IDs: compared as it is, ok against the checksum of the table it shows');
is($target->safe_psql('postgres', q{SELECT status FROM migrate_status() WHERE table_name = 'public.victim_view'}), 'verified',
	'a view without user IDs: its state says verified');
sql_case(name => q{migrate_pull('victim_view') (its state says verified)}, sql => q{SELECT * FROM migrate_pull('victim_view')},
	sqlstate => '42809', names => [ 'public.victim_view', 'is not a table pg_cutover can load' ]);
# schema names with SQL in them are names: no schema of that name (3F000 where a schema list is the input),
# no table, nothing run
sql_case(name => q{migrate_verify_all(ARRAY['public''); DROP TABLE victim; --'])},
	sql => q{SELECT count(*) FROM migrate_verify_all(ARRAY['public''); DROP TABLE victim; --'])}, sqlstate => '3F000',
	names => [q{schema "public'); DROP TABLE victim; --" does not exist}]);
my $before = db_fingerprint($target, 'postgres');
is( $target->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM migrate_check_fks(ARRAY['public''); DROP TABLE victim; --'])) + (SELECT count(*) FROM migrate_fix_sequences(ARRAY['public''); DROP TABLE victim; --']))}),
	'0', 'migrate_check_fks, migrate_fix_sequences of a schema named with SQL: nothing');
is(db_fingerprint($target, 'postgres'), $before, '... and nothing changed');
push @cases, q{migrate_check_fks / migrate_fix_sequences(ARRAY['public''); DROP TABLE victim; --']) -> no rows, nothing run (works)};
for my $node ($source, $target)
{
	is($node->safe_psql('postgres', 'SELECT count(*) FROM public.victim'), '1',
		'after the bad arguments: victim still there on the ' . $node->name);
}

# ================================================================================================ user IDs
# An unmapped user ID (the user whose metadata was too large), a UUID in a user-ID column that is no Supabase
# user, and user IDs in shapes no target ID can keep (mixed letter case, hyphens in other places than
# 8-4-4-4-12): the pull is refused naming table, column, value, why and source row; nothing of the table is
# loaded, the rows already there stay; the state too (migrate_pull rolls back with its state: only `cutover
# pull` writes failed afterwards, in a transaction of its own).
my $state = q{SELECT coalesce((SELECT status FROM cutover.table_state WHERE table_name = 'hostile_refs'), 'none')};
my $state_before = $target->safe_psql('postgres', $state);
sql_case(name => 'migrate_pull of a table holding an unmapped user ID', sql => q{SELECT * FROM migrate_pull('hostile_refs')},
	sqlstate => 'P0002',
	names => [ 'column user_id of table public.hostile_refs', $big_user,
		'which is the ID of a Supabase user who has no Stack Auth user yet (no target ID)', 'source row 2' ]);
is($target->safe_psql('postgres', 'SELECT string_agg(id::text, \',\') FROM hostile_refs'), '99', 'unmapped: the row already there stays');
is($target->safe_psql('postgres', $state), $state_before, 'unmapped: the state is as it was');
# A UUID that no Supabase user has: no target ID either, and the message does not call it a user's.
$r = sql_case(name => 'migrate_pull of a user-ID column holding a UUID that is no user', sql => q{SELECT * FROM migrate_pull('hostile_stranger')},
	sqlstate => 'P0002',
	names => [ 'column actor of table public.hostile_stranger holds user ID c0ffee00-0000-4000-8000-00000000dead, which has no target ID',
		'source row 2' ]);
unlike(text_of($r), qr/Supabase user who/, 'no user: the error does not say the UUID is a Supabase user\'s');
is($target->safe_psql('postgres', q{SELECT string_agg(id || ':' || actor, ',') FROM hostile_stranger}), '99:kept',
	'no user: the row already there stays');
my $mixed = $source->safe_psql('postgres', 'SELECT actor FROM hostile_mixed WHERE id = 2');
my $hyphens = $source->safe_psql('postgres', 'SELECT actor FROM hostile_hyphens WHERE id = 2');
like($hyphens, qr/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	'control: hostile_hyphens row 2 is a user ID with hyphens 4-4-4-4-4-12');
for my $format ('binary', 'text')
{
	my $set = $format eq 'text' ? "SET pg_cutover.pull_format = 'text';\n" : '';
	sql_case(name => "migrate_pull of a UUID in mixed letter case ($format format)",
		sql => "${set}SELECT * FROM migrate_pull('hostile_mixed')", sqlstate => '22P02',
		names => [ 'column actor of table public.hostile_mixed', $mixed, 'mixed letter case', 'source row 2' ]);
	sql_case(name => "migrate_pull of a UUID with hyphens in other places ($format format)",
		sql => "${set}SELECT * FROM migrate_pull('hostile_hyphens')", sqlstate => '22P02',
		names => [ 'column actor of table public.hostile_hyphens', $hyphens, 'hyphens in other places than 8-4-4-4-12',
			'source row 2' ]);
}
is($target->safe_psql('postgres', q{SELECT string_agg(id || ':' || actor, ',') FROM hostile_mixed}), '99:kept',
	'malformed: the row already there stays');
is($target->safe_psql('postgres', q{SELECT string_agg(id || ':' || actor, ',') FROM hostile_hyphens}), '99:kept',
	'hyphens in other places: the row already there stays');

# A user ID in braces or without hyphens, in small letters or in capitals, is a user ID a target ID can be
# written like: rewritten to the user's Stack Auth ID spelled as the source spelled it (braces kept, no hyphens
# kept, capitals kept), in both COPY formats; the verification maps it back by value, so the table verifies.
# Each format pulls for real: the table is reset to pending and emptied first (a loaded table would be skipped).
my ($target1, $target2, $target3) = map { $target->safe_psql('postgres', "SELECT migrate_remap('$_')") } ($user1, $user2, $user3);
ok($target1 ne $user1 && $target2 ne $user2 && $target3 ne $user3, 'control: users 1, 2 and 3 have Stack Auth IDs of their own');
my %spelled = (
	hostile_braces => join(',', "1:$target1", "2:{$target2}", '3:{' . uc($target3) . '}'),
	hostile_bare => join(',', "1:$target1", '2:' . ($target2 =~ s/-//gr), '3:' . uc($target3 =~ s/-//gr)));
for my $format ('binary', 'text')
{
	my $set = $format eq 'text' ? "SET pg_cutover.pull_format = 'text';\n" : '';
	for my $table (sort keys %spelled)
	{
		my $what = $table eq 'hostile_braces' ? 'in braces' : 'without hyphens';
		$target->safe_psql('postgres', "SELECT migrate_reset('$table'); DELETE FROM $table;");
		is($target->safe_psql('postgres', "${set}SELECT status || ':' || rows FROM migrate_pull('$table')"), 'loaded:3',
			"user IDs $what ($format format): $table pulled");
		is($target->safe_psql('postgres', "SELECT string_agg(id || ':' || actor, ',' ORDER BY id) FROM $table"),
			$spelled{$table}, "user IDs $what ($format format): each the user's Stack Auth ID, spelled as on the source");
		is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('$table')"), 't',
			"user IDs $what ($format format): $table verifies");
	}
}
push @cases, 'user IDs in braces, small letters and capitals (binary and text format) -> rewritten keeping braces and case, verified (works)';
push @cases, 'user IDs without hyphens, small letters and capitals (binary and text format) -> rewritten keeping the spelling, verified (works)';

# The client: cutover pull of a schema whose table holds an unmapped ID (planned first, so its pending state
# is there before): exit 1, the message names table, column and ID, P0002 is in the log file, and the
# table's state says failed with the error (written after the pull rolled back); nothing else changes.
$target->safe_psql('postgres', q{SELECT count(*) FROM migrate_plan(ARRAY['badids'])});
client_case(name => 'cutover pull --schema badids (an unmapped user ID)', args => [ 'pull', '--schema', 'badids' ], rc => 1,
	stderr => qr/^error: pulling badids\.refs failed: on the target: column user_id of table badids\.refs holds user ID \Q$big_user\E, which is the ID of a Supabase user who has no Stack Auth user yet \(no target ID\) \(source row 2\)/m,
	sqlstate => 'P0002', failed_table => 'badids.refs');

# ================================================================================================ source changed
# Outside the frozen window the source changes after the pull: verify is not ok and says how; the state
# becomes failed with that; the target's rows are not touched. A column added or a table dropped on the source:
# the pull refuses (55000 naming the column, 42P01), and so does the verification (42703, 42P01).
$target->safe_psql('postgres', q{SELECT migrate_reset('hostile_changed'); SELECT migrate_pull('hostile_changed')});
is($target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('hostile_changed')}), 't', 'changed: verified ok before the change');
$source->safe_psql('postgres', q{UPDATE hostile_changed SET v = 'changed' WHERE id = 2});
is($target->safe_psql('postgres', q{SELECT source_rows || ':' || target_rows || ':' || ok FROM migrate_verify('hostile_changed')}),
	'3:3:false', 'changed: a row updated on the source: not ok');
is( $target->safe_psql('postgres', q{SELECT status || ': ' || last_error FROM migrate_status() WHERE table_name = 'public.hostile_changed'}),
	'failed: verification failed: source has 3 rows, target 3, checksums differ', 'changed: the state says failed, and how');
$source->safe_psql('postgres', q{INSERT INTO hostile_changed VALUES (4, 'new')});
is( $target->safe_psql('postgres', q{SELECT ok FROM migrate_verify('hostile_changed'); SELECT last_error FROM migrate_status() WHERE table_name = 'public.hostile_changed'}),
	"f\nverification failed: source has 4 rows, target 3", 'changed: a row inserted on the source: not ok, the counts named');
my $verified = cutover(['verify']);
is($verified->{rc}, 1, 'changed: cutover verify exits 1');
like($verified->{stderr}, qr/^warning: verify: public\.hostile_changed: DIFFERENT \(source 4 rows, target 3 rows\)$/m, 'changed: cutover verify names the table');
is( $target->safe_psql('postgres', q{SELECT string_agg(id || v, ',' ORDER BY id) FROM hostile_changed}), '1a,2b,3c',
	'changed: the target\'s rows are untouched by the verifications');
push @cases, 'a source row updated, then one inserted, after the pull -> migrate_verify ok = f, state failed naming the counts; cutover verify exit 1 (documented)';

$source->safe_psql('postgres', q{ALTER TABLE hostile_cols ADD COLUMN extra integer});
sql_case(name => 'a column added on the source: migrate_pull', sql => q{SELECT * FROM migrate_pull('hostile_cols')},
	sqlstate => '55000', names => [ 'public.hostile_cols', 'extra: column only on the source' ]);
sql_case(name => 'a column added on the source: migrate_verify', sql => q{SELECT * FROM migrate_verify('hostile_cols')},
	sqlstate => '42703', names => [ 'public.hostile_cols', 'Only on the source: extra' ]);
$source->safe_psql('postgres', q{DROP TABLE hostile_dropped});
sql_case(name => 'a table dropped on the source: migrate_pull', sql => q{SELECT * FROM migrate_pull('hostile_dropped')},
	sqlstate => '42P01', names => [ 'public.hostile_dropped', 'does not exist on the source' ]);
sql_case(name => 'a table dropped on the source: migrate_verify', sql => q{SELECT * FROM migrate_verify('hostile_dropped')},
	sqlstate => '42P01', names => [ 'public.hostile_dropped', 'does not exist on the source' ]);

# ================================================================================================ not UTF-8
# A SQL_ASCII source holds bytes that are no UTF-8 in a text column and in raw_user_meta_data: the pull, the
# verification (22021, naming the table) and cutover users (exit 1, the source's 22021) stop before writing.
my $fixture = fixture_sql('supabase.sql');
my $auth_start = index($fixture, 'CREATE SCHEMA auth;');
my $auth_ddl = substr($fixture, $auth_start, index($fixture, 'CREATE FUNCTION auth.uid()') - $auth_start);
like($auth_ddl, qr/CREATE TABLE auth\.identities/, 'control: the auth schema of the fixture');
$source->safe_psql('postgres', q{CREATE DATABASE ascii_src ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0});
$source->safe_psql('ascii_src', $auth_ddl . q{
CREATE TABLE public.bad_bytes (id integer PRIMARY KEY, t text);
INSERT INTO public.bad_bytes VALUES (1, 'fine'), (2, convert_from('\x61ff62'::bytea, 'SQL_ASCII'));
INSERT INTO auth.users (id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at)
VALUES ('f0000000-0000-4000-8000-000000000001', 'fine@hostile.example', '', '{}', '{}', '2024-01-01 00:00:00+00'),
       ('f0000000-0000-4000-8000-000000000002', 'bytes@hostile.example', '', '{}',
        convert_from('\x7b226e616d65223a2261ff62227d'::bytea, 'SQL_ASCII')::jsonb, '2024-01-01 00:00:00+00');});
is($source->safe_psql('ascii_src', q{SELECT octet_length(t) FROM bad_bytes WHERE id = 2}), '3', 'control: the 0xff byte is stored');
$target->safe_psql('postgres', 'CREATE DATABASE ascii_tgt');
$target->safe_psql('ascii_tgt', 'CREATE EXTENSION pg_cutover CASCADE; CREATE TABLE public.bad_bytes (id integer PRIMARY KEY, t text); '
	  . q{INSERT INTO public.bad_bytes VALUES (99, 'kept');}
	  . "SELECT migrate_source('" . source_conninfo($source, $password, dbname => 'ascii_src') . "')");
for my $format ('binary', 'text')
{
	my $set = $format eq 'text' ? "SET pg_cutover.pull_format = 'text';\n" : '';
	sql_case(name => "migrate_pull of bytes that are not UTF-8 ($format format)", db => 'ascii_tgt', source_db => 'ascii_src',
		sql => "${set}SELECT * FROM migrate_pull('bad_bytes')", sqlstate => '22021',
		names => [ 'invalid byte sequence for encoding "UTF8": 0xff', 'public.bad_bytes' ]);
}
sql_case(name => 'migrate_verify of bytes that are not UTF-8', db => 'ascii_tgt', source_db => 'ascii_src',
	sql => q{SELECT * FROM migrate_verify('bad_bytes')}, sqlstate => '22021',
	names => [ 'invalid byte sequence for encoding "UTF8": 0xff', 'public.bad_bytes' ]);
client_case(name => 'cutover users with bytes that are not UTF-8 in raw_user_meta_data', args => ['users'],
	env => { PGDATABASE => 'ascii_tgt', CUTOVER_SOURCE_URL => source_conninfo($source, $password, dbname => 'ascii_src') },
	db => 'ascii_tgt', source_db => 'ascii_src', rc => 1, sqlstate => '22021',
	stderr => qr/^error: on the source: invalid byte sequence for encoding "UTF8": 0xff$/m);
is($target->safe_psql('ascii_tgt', 'SELECT count(*) FROM cutover.user_journal'), '0', 'not UTF-8: nothing journalled');

# ================================================================================================ client inputs
# STACK_API_URL: plain http only to this machine, by host (not by prefix); the key never leaves otherwise.
my $url_message = qr/^error: STACK_API_URL must start with https:\/\/ \(http:\/\/ only for 127\.0\.0\.1 or localhost\): the server key must not cross a network in clear text$/m;
for my $url ('http://127.0.0.1.nip.io:1/', 'http://localhost@127.0.0.2:1/', "http://127.0.0.1:$emulator_port\@127.0.0.2:1/",
	'http://localhost.:1/', 'http://127.0.0.1:1x/', 'ftp://127.0.0.1/', 'file:///etc/passwd')
{
	client_case(name => "STACK_API_URL=$url", args => ['users'], env => { STACK_API_URL => $url }, rc => 2, stderr => $url_message);
}
client_case(name => 'STACK_SECRET_SERVER_KEY unset', args => ['users'], env => { STACK_SECRET_SERVER_KEY => undef }, rc => 2,
	stderr => qr/^error: Stack Auth is not configured: set STACK_SECRET_SERVER_KEY in the environment/m);

# CUTOVER_SOURCE_URL: a string that does not parse is not repeated (it may hold the password); one whose dbname
# holds another keyword is only a dbname (only the dbname differs from the source the target stores, not the
# host); a wrong password is told as such before any connection.
client_case(name => q{CUTOVER_SOURCE_URL with an unterminated quote}, args => ['users'],
	env => { CUTOVER_SOURCE_URL => "host=127.0.0.1 port=$port dbname=postgres user=migrator password='$password host=127.0.0.2" }, rc => 2,
	stderr => qr/^error: the source connection string is not valid \(it is not repeated here: it may hold a password\)$/m);
client_case(name => q{CUTOVER_SOURCE_URL with dbname='postgres host=127.0.0.2'}, args => ['users'],
	env => { CUTOVER_SOURCE_URL => "host=127.0.0.1 port=$port user=migrator password=$password dbname='postgres host=127.0.0.2'" },
	rc => 2, stderr => qr/^error: the source in CUTOVER_SOURCE_URL \(or --source\) is not the one the target stores: they differ in dbname$/m);
client_case(name => 'CUTOVER_SOURCE_URL with a wrong password', args => ['users'],
	env => { CUTOVER_SOURCE_URL => source_conninfo($source, "${password}x") }, rc => 2,
	stderr => qr/^error: the source in CUTOVER_SOURCE_URL \(or --source\) is not the one the target stores: they differ in password$/m);

# Names on the command line: a table (diff) and schemas (--schema) with SQL in them go nowhere.
client_case(name => q{cutover diff 'victim; DROP TABLE victim'}, args => [ 'diff', 'victim; DROP TABLE victim' ], rc => 2,
	stderr => qr/^error: .*invalid name syntax/m);
client_case(name => q{cutover plan --schema "public'); DROP TABLE victim; --"}, args => [ 'plan', '--schema', q{public'); DROP TABLE victim; --} ],
	rc => 1, stderr => qr/^error: on the target: schema "public'\); DROP TABLE victim; --" does not exist on the source$/m);
is($target->safe_psql('postgres', 'SELECT count(*) FROM public.victim'), '1', '... and victim is still there');

# ================================================================================================ the end
for my $node ($source, $target)
{
	is($node->safe_psql('postgres', 'SELECT count(*) FROM public.victim'), '1', 'at the end: victim still there on the ' . $node->name);
}
my $everything = join "\n", @client_outputs, slurp_file($emulator{stdout}), slurp_file($emulator{stderr});
ok(secret_free($everything, $key, $password), 'the key and the password appear in no output of the client or the emulator');

my @errors = grep { !/\((?:handled|works|documented)[^)]*\)$/ && !/-> exit 0/ } @cases;
note(scalar(@errors) . ' error cases, ' . scalar(@cases) . ' cases in all:');
note("  $_") for @cases;
cmp_ok(scalar(@errors), '>=', 30, 'at least 30 hostile error cases');

done_testing();
