# test/t/CutoverTest.pm: what the TAP tests of pg_cutover share.
#
# A source cluster stands in for Supabase: stock PostgreSQL listening on 127.0.0.1, where role migrator must
# authenticate with a SCRAM password over TCP. A target cluster has the extension. Output settings of the two
# differ from each other and from the canonical ones on purpose, so that a checksum that depended on them
# would fail.
package CutoverTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use FindBin;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(
  new_node new_source new_target new_secret source_conninfo fixture_sql
  run_sql sql_error query_row poll_until secret_free db_fingerprint
  start_emulator emulator_control run_client start_client end_client users_env
  prepend_hba setup_big reset_big slow_down normal_speed slow_down_big normal_speed_big cancel_ok
);

my $root = "$FindBin::RealBin/../..";
our $CUTOVER = $ENV{CUTOVER_BIN} // "$root/client/cutover";
our $EMULATOR = $ENV{STACK_AUTH_EMULATOR} // "$root/test/stack_auth_emulator/stack_auth_emulator";
my @emulators;    # stopped at the end of the test file

# A fresh secret per call: random, so that no log line can match it by chance.
sub new_secret
{
	my ($label) = @_;
	return join '', $label, '-', map { sprintf '%02x', int(rand(256)) } 1 .. 8;
}

# A node of the given role ('source' or 'target'), not yet initialized. CUTOVER_SOURCE_PG and CUTOVER_TARGET_PG
# name another PostgreSQL installation (bin/ and lib/, as test/pgversions.sh makes them) for the nodes of that
# role: the version matrix runs a PostgreSQL 17 or 18 target, or a 17 source. Unset: the PostgreSQL of PATH.
sub new_node
{
	my ($name, $role) = @_;
	die "new_node: role must be source or target, not $role" unless $role =~ /^(source|target)$/;
	my $install = $ENV{ $role eq 'source' ? 'CUTOVER_SOURCE_PG' : 'CUTOVER_TARGET_PG' };
	return PostgreSQL::Test::Cluster->new($name, $install ? (install_path => $install) : ());
}

# The source: password (SCRAM) authentication for role migrator over TCP on 127.0.0.1, trust otherwise.
# Returns the started node. $password is set for migrator without the statement reaching the server log.
sub new_source
{
	my ($name, $password, %params) = @_;
	my $node = new_node($name, 'source');
	$node->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
	$node->append_conf('postgresql.conf', join "\n",
		"listen_addresses = '127.0.0.1'",
		# Anything but the canonical output settings: the checksum script must fix them itself.
		"DateStyle = 'SQL, DMY'",
		"TimeZone = 'America/New_York'",
		"IntervalStyle = 'sql_standard'",
		"extra_float_digits = 3",
		"bytea_output = 'escape'",
		@{ $params{conf} // [] });

	prepend_hba($node, 'host all migrator 127.0.0.1/32 scram-sha-256');
	$node->start;
	$node->safe_psql('postgres',
		    "SET log_statement = 'none';\n"
		  . "CREATE ROLE migrator LOGIN PASSWORD '$password';\n"
		  . "GRANT pg_read_all_data TO migrator;\n");
	return $node;
}

# The target: the extension installed, every statement and every failing statement logged, verbose errors.
sub new_target
{
	my ($name, %params) = @_;
	my $node = new_node($name, 'target');
	$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
	$node->append_conf('postgresql.conf', join "\n",
		"log_statement = 'all'",
		"log_min_error_statement = error",
		"log_error_verbosity = verbose",
		"DateStyle = 'German, DMY'",
		"TimeZone = 'Asia/Kolkata'",
		"IntervalStyle = 'iso_8601'",
		"extra_float_digits = 0",
		"bytea_output = 'escape'",
		@{ $params{conf} // [] });
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_cutover CASCADE');
	return $node;
}

# Puts a rule first in the node's pg_hba.conf (reload or start the node to apply it).
sub prepend_hba
{
	my ($node, $rule) = @_;
	my $hba = $node->data_dir . '/pg_hba.conf';
	my $rules = slurp_file($hba);
	open my $fh, '>', $hba or die "could not write $hba: $!";
	print $fh "$rule\n", $rules;
	close $fh;
}

# public.big on the source: $rows rows whose user_id refers to one of $users rows of auth.users, so that every
# row goes through the ID rewriting. The target gets the same table, empty and without the foreign key, the
# source configured and every user mapped to md5('stack-' || source ID). Returns the number of users mapped.
sub setup_big
{
	my ($source, $target, $password, $users, $rows) = @_;
	$source->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text NOT NULL);
INSERT INTO auth.users SELECT md5('user-' || g)::uuid, format('user%s\@example.com', g) FROM generate_series(1, $users) AS g;
CREATE TABLE public.big (id bigint NOT NULL, user_id uuid, payload text);
INSERT INTO public.big
SELECT g, md5('user-' || (1 + g % $users))::uuid, 'payload ' || g || ' ' || md5(g::text)
FROM generate_series(1, $rows) AS g;
ALTER TABLE public.big ADD PRIMARY KEY (id), ADD FOREIGN KEY (user_id) REFERENCES auth.users (id);
VACUUM ANALYZE public.big;
});
	$target->safe_psql('postgres', q{CREATE TABLE public.big (id bigint PRIMARY KEY, user_id uuid, payload text)});
	$target->safe_psql('postgres',
		"SET log_statement = none; SELECT migrate_source('" . source_conninfo($source, $password) . "')");
	return $target->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE migrate_map_put(md5('user-' || g)::uuid, md5('stack-' || md5('user-' || g)::uuid)::uuid,
                                              format('user%s\@example.com', g)))
FROM generate_series(1, $users) AS g});
}

# While it is in place, the target takes $table's rows slowly: a trigger that fires in the pull's replica mode
# sleeps 10 ms for each row where $condition (SQL over NEW) holds, so that a pull is caught mid-stream however
# busy the machine is. A table with such a trigger keeps its indexes filled row by row. Undone by
# normal_speed($target, $table).
sub slow_down
{
	my ($target, $table, $condition) = @_;
	$target->safe_psql('postgres', qq{
CREATE FUNCTION public.slow_down() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    IF $condition THEN PERFORM pg_sleep(0.01); END IF;
    RETURN NEW;
END \$\$;
CREATE TRIGGER slow_down BEFORE INSERT ON $table FOR EACH ROW EXECUTE FUNCTION public.slow_down();
ALTER TABLE $table ENABLE ALWAYS TRIGGER slow_down;
});
}

sub normal_speed
{
	my ($target, $table) = @_;
	$target->safe_psql('postgres', "DROP TRIGGER slow_down ON $table; DROP FUNCTION public.slow_down()");
}

# big's rows slowly: 10 ms every 2,000 rows (about 1 s for each 200,000 rows)
sub slow_down_big { slow_down($_[0], 'public.big', 'NEW.id % 2000 = 0') }

sub normal_speed_big { normal_speed($_[0], 'public.big') }

# The target's big before a case: $old_rows rows of its own (ids the source does not have, user IDs that are
# mapped ones), pending again.
sub reset_big
{
	my ($target, $users, $old_rows) = @_;
	$target->safe_psql('postgres', qq{
TRUNCATE public.big;
INSERT INTO public.big
SELECT -g, md5('stack-' || md5('user-' || (1 + g % $users))::uuid)::uuid, 'old row ' || g FROM generate_series(1, $old_rows) AS g;
SELECT migrate_reset('big');
CHECKPOINT;
});
}

sub source_conninfo
{
	my ($source, $password, %opts) = @_;
	my $dbname = $opts{dbname} // 'postgres';
	my $port = $opts{port} // $source->port;
	return "host=127.0.0.1 port=$port dbname=$dbname user=migrator password=$password";
}

# The client's environment for `cutover users`: the target cluster's database (the current OS user), the source
# as migrator with $password, and the Stack Auth emulator at $api with its default project and $key.
sub users_env
{
	my ($target, $source, $password, $api, $key, %opts) = @_;
	return (
		STACK_API_URL => $api,
		STACK_PROJECT_ID => '5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35',
		STACK_SECRET_SERVER_KEY => $key,
		CUTOVER_SOURCE_URL => source_conninfo($source, $password),
		PGHOST => $target->host,
		PGPORT => $target->port,
		PGUSER => scalar(getpwuid($<)),
		PGDATABASE => $opts{dbname} // 'postgres');
}

# The text of a file in test/fixtures/.
sub fixture_sql
{
	my ($file) = @_;
	return slurp_file("$FindBin::RealBin/../fixtures/$file");
}

# Runs SQL through psql with verbose errors. Returns a hash: ret (psql's exit status), stdout, stderr, and for
# an error its sqlstate, message, detail and hint (undef when absent), and elapsed (seconds).
sub run_sql
{
	my ($node, $sql, %params) = @_;
	my $dbname = delete $params{dbname} // 'postgres';
	my ($stdout, $stderr) = ('', '');
	my $started = time;
	my $ret = $node->psql(
		$dbname, "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr,
		%params);
	my %r = (
		ret => $ret,
		stdout => $stdout,
		stderr => $stderr,
		elapsed => time - $started);
	if ($stderr =~ /^(?:psql:[^\n]*?)?ERROR:\s+([0-9A-Z]{5}): ([^\n]*)$/m)
	{
		@r{qw(sqlstate message)} = ($1, $2);
	}
	$r{detail} = $1 if $stderr =~ /^DETAIL:\s+(.*?)(?=^[A-Z]+:\s|\z)/ms;
	$r{hint} = $1 if $stderr =~ /^HINT:\s+(.*?)(?=^[A-Z]+:\s|\z)/ms;
	return \%r;
}

# Runs SQL that must fail; returns run_sql's hash.
sub sql_error
{
	my ($node, $sql, %params) = @_;
	my $r = run_sql($node, $sql, %params);
	$r->{sqlstate} //= 'none';
	$r->{message} //= '';
	return $r;
}

# The first row of a query as a list of fields.
sub query_row
{
	my ($node, $sql, %params) = @_;
	my $dbname = delete $params{dbname} // 'postgres';
	my $out = $node->safe_psql($dbname, $sql, %params);
	my ($line) = split /\n/, $out;
	return split /\|/, ($line // ''), -1;
}

# Runs $query on $node every 50 ms until it prints $expected or $seconds pass. Returns the seconds it took,
# or undef on timeout.
sub poll_until
{
	my ($node, $query, $expected, $seconds) = @_;
	my $started = time;
	while (time - $started < $seconds)
	{
		my $out = $node->safe_psql('postgres', $query);
		return time - $started if $out eq $expected;
		sleep 0.05;
	}
	return undef;
}

# Starts the Stack Auth emulator on a free port of 127.0.0.1, its server key from the environment only, its
# output in $dir/emulator.stdout and $dir/emulator.stderr. Returns {harness, api, stdout, stderr}.
sub start_emulator
{
	my ($dir, $key, @flags) = @_;
	my %emulator = (stdout => "$dir/emulator.stdout", stderr => "$dir/emulator.stderr");
	my $port_file = "$dir/emulator.port";
	unlink $port_file;
	{
		local $ENV{STACK_SECRET_SERVER_KEY} = $key;
		$emulator{harness} = IPC::Run::start([ $EMULATOR, '--port', '0', '--port-file', $port_file, @flags ],
			'<', '/dev/null', '>', $emulator{stdout}, '2>', $emulator{stderr});
	}
	my $deadline = time + 20;
	sleep 0.05 until -s $port_file || time > $deadline;
	BAIL_OUT('the emulator did not start: ' . slurp_file($emulator{stderr})) unless -s $port_file;
	chomp(my $port = slurp_file($port_file));
	$emulator{api} = "http://127.0.0.1:$port";
	push @emulators, \%emulator;
	return \%emulator;
}

END
{
	for my $emulator (@emulators)
	{
		$emulator->{harness}->kill_kill if $emulator->{harness}->pumpable;
	}
}

# A request to the emulator's control API (/__emulator/$path); returns the decoded JSON answer.
sub emulator_control
{
	my ($emulator, $method, $path, $body) = @_;
	my %request = (headers => { 'content-type' => 'application/json' });
	$request{content} = encode_json($body) if defined $body;
	my $response = HTTP::Tiny->new(timeout => 30)->request($method, "$emulator->{api}/__emulator/$path", \%request);
	die "$method /__emulator/$path: $response->{status} $response->{content}" unless $response->{success};
	return $response->{content} =~ /^\s*[\[{]/ ? decode_json($response->{content}) : $response->{content};
}

# Runs the client to its end with the variables of %$env (undef ones removed) and no stdin. Returns
# {rc, stdout, stderr, seconds}.
sub run_client
{
	my ($env, @args) = @_;
	my ($stdout, $stderr) = ('', '');
	my $started = time;
	IPC::Run::run([ $CUTOVER, @args ], '<', '/dev/null', '>', \$stdout, '2>', \$stderr,
		init => sub { client_env($env) });
	return { rc => $? >> 8, stdout => $stdout, stderr => $stderr, seconds => time - $started };
}

# Starts the client in the background, its output in $files.stdout and $files.stderr. Returns
# {harness, pid, stdout, stderr, started}.
sub start_client
{
	my ($env, $files, @args) = @_;
	my %run = (stdout => "$files.stdout", stderr => "$files.stderr", started => time);
	$run{harness} = IPC::Run::start([ $CUTOVER, @args ], '<', '/dev/null', '>', $run{stdout}, '2>', $run{stderr},
		init => sub { client_env($env) });
	$run{pid} = $run{harness}{KIDS}[0]{PID};
	return \%run;
}

# Waits for a background client, after a SIGKILL when $kill is true and it still runs. Returns its wait
# status and whether the SIGKILL was sent.
sub end_client
{
	my ($run, $kill) = @_;
	my $running = $run->{harness}->pumpable;
	$run->{harness}->signal('KILL') if $kill && $running;
	$run->{harness}->finish;
	return ($run->{harness}->full_result(0), $kill && $running);
}

sub client_env
{
	my ($env) = @_;
	for my $name (keys %$env)
	{
		if (defined $env->{$name}) { $ENV{$name} = $env->{$name} }
		else { delete $ENV{$name} }
	}
}

# pg_cancel_backend of $pid, a background session of $target running $what: 57014 within $prompt seconds,
# the session goes on, and $left (a query on $source) prints 0 within $prompt seconds.
sub cancel_ok
{
	my ($target, $source, $session, $pid, $what, $prompt, $left) = @_;
	is($target->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'pg_cancel_backend reached the backend');
	my $started = time;
	my ($out) = $session->query("SELECT 'session still usable'");
	my $took = time - $started;
	like($session->{stderr}, qr/ERROR:\s+57014: canceling statement due to user request/,
		"pg_cancel_backend: $what fails with 57014");
	ok($took < $prompt, "pg_cancel_backend: the call ended within $prompt s") or diag("took $took s");
	is($out, 'session still usable', 'pg_cancel_backend: the session goes on');
	ok(defined poll_until($source, $left, '0', $prompt),
		"pg_cancel_backend: nothing of pg_cutover left on the source after $prompt s");
}

# True when none of the secrets occurs in $text.
sub secret_free
{
	my ($text, @secrets) = @_;
	for my $secret (@secrets)
	{
		return 0 if index($text // '', $secret) >= 0;
	}
	return 1;
}

# The fingerprint of a database, to show that something changed nothing: every table's rows (a row of
# cutover.user_journal without its updated_at), the foreign servers with their owners and grants, the user
# mappings, the roles, the extensions, and the grants on the cutover schema, its tables and the extension's
# functions. %opts: journal_filter, an SQL condition on the journal's rows (those it leaves out may change).
# (Not named fingerprint: 007 has a sub of that name.)
sub db_fingerprint
{
	my ($node, $db, %opts) = @_;
	my $filter = $opts{journal_filter} // 'true';
	$filter =~ s/'/''/g;
	# relations left out, e.g. cutover.table_state when a failure is meant to be written there
	my $skip = join ', ', map { my $name = $_ =~ s/'/''/gr; "'$name'" } @{ $opts{skip} // [] };
	$skip = $skip ? "AND c.oid::regclass::text NOT IN ($skip)" : '';
	return $node->safe_psql($db, qq{
SELECT string_agg(x, E'\\n' ORDER BY x COLLATE "C") FROM (
    SELECT format('%s %s', c.oid::regclass, (xpath('/row/h/text()', query_to_xml(format(
        'SELECT count(*) || '':'' || coalesce(md5(string_agg(r, E''\\n'' ORDER BY r COLLATE "C")), '''') AS h '
        'FROM (SELECT %s AS r FROM %s AS t WHERE %s) AS rows',
        CASE WHEN c.oid = to_regclass('cutover.user_journal') THEN '(to_jsonb(t) - ''updated_at'')::text'
             ELSE 't::text' END,
        c.oid::regclass,
        CASE WHEN c.oid = to_regclass('cutover.user_journal') THEN '$filter' ELSE 'true' END),
        false, true, '')))[1]::text) AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') $skip
    UNION ALL SELECT format('server %s %s %s %s', srvname, srvowner::regrole, srvoptions, srvacl) FROM pg_foreign_server
    UNION ALL SELECT format('mapping %s %s %s', umuser, umserver, umoptions) FROM pg_user_mapping
    UNION ALL SELECT format('role %s %s %s', rolname, rolsuper, rolbypassrls) FROM pg_roles
    UNION ALL SELECT format('extension %s %s %s', extname, extowner::regrole, extversion) FROM pg_extension
    UNION ALL SELECT format('acl %s %s %s', c.oid::regclass, c.relkind, c.relacl) FROM pg_class c
              WHERE c.relnamespace = to_regnamespace('cutover')
    UNION ALL SELECT format('acl schema %s %s', nspname, nspacl) FROM pg_namespace WHERE nspname = 'cutover'
    UNION ALL SELECT format('acl %s %s %s', p.oid::regprocedure, p.proowner::regrole, p.proacl) FROM pg_proc p
              WHERE p.proname LIKE 'migrate\\_%' OR p.pronamespace = to_regnamespace('cutover')
) AS f});
}

1;
