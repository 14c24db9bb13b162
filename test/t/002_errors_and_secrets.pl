# 002_errors_and_secrets.pl: errors across two clusters carry the right SQLSTATE and never the password.
#
# Wrong password (28P01), source down (08001), table missing on the source (42P01), column sets that differ
# (42703), a connection string that does not parse (22023), no source configured (42704), a non-superuser
# whose connection to the source used no password (2F003). Then the logs of both clusters, the foreign
# server's options and the user mapping are searched for the passwords. The target logs every statement and
# every failing statement (log_statement = all, log_min_error_statement = error, verbose errors).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $password = new_secret('real-pw');
my $source = new_source('source', $password);
my $target = new_target('target');
my $port = $source->port;

$source->safe_psql('postgres', q{
CREATE TABLE t1 (id integer, a text);
INSERT INTO t1 SELECT i, 'row ' || i FROM generate_series(1, 100) AS i;
CREATE TABLE cols (id integer, a text, only_s integer);
CREATE TABLE rls_t (id integer);
INSERT INTO rls_t SELECT generate_series(1, 10);
ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_even ON rls_t USING (id % 2 = 0);
});
$target->safe_psql('postgres', q{
CREATE TABLE t1 (id integer, a text);
INSERT INTO t1 SELECT i, 'row ' || i FROM generate_series(1, 100) AS i;
CREATE TABLE cols (id integer, a text, only_t integer);
CREATE TABLE only_target (id integer);
CREATE TABLE rls_t (id integer);
INSERT INTO rls_t SELECT generate_series(1, 10);
});

# Statements run with log_statement = 'none' in their session: their secrets must not reach any log at all.
my $quiet = "SET log_statement = 'none';\n";
my @quiet_secrets;

# Checks an expected error: its SQLSTATE, and that none of the secrets is in what the client was told.
sub error_is
{
	my ($r, $sqlstate, $name, @secrets) = @_;
	is($r->{sqlstate}, $sqlstate, "$name: SQLSTATE $sqlstate")
	  or diag("stderr: $r->{stderr}");
	ok(secret_free($r->{stderr}, $password, @secrets), "$name: the error text holds no password");
}

is( $target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')"),
	'source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 15',
	'migrate_source with the right password');
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't', 't1: verified ok');

# ------------------------------------------------------------------------------------------ wrong password
my $wrong_loud = new_secret('wrong-loud');
my $r = sql_error($target,
	"SELECT migrate_source('" . source_conninfo($source, $wrong_loud) . "')");
error_is($r, '28P01', 'migrate_source with a wrong password', $wrong_loud);
like($r->{message}, qr/source/, 'wrong password: the message says it is about the source');

my $wrong_quiet = new_secret('wrong-quiet');
push @quiet_secrets, $wrong_quiet;
$r = sql_error($target, $quiet . "SELECT migrate_source('" . source_conninfo($source, $wrong_quiet) . "')");
error_is($r, '28P01', 'migrate_source with a wrong password (statement not logged)', $wrong_quiet);

my $mapping = q{SELECT array_to_string(umoptions, ',') FROM pg_user_mappings
WHERE srvname = 'cutover_source' AND usename = current_user};
like($target->safe_psql('postgres', $mapping), qr/(^|,)password=\Q$password\E(,|$)/,
	'a failed migrate_source leaves the working user mapping in place');
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't',
	't1: still verified ok after the failed migrate_source calls');

# The source changes the role's password: the user mapping's password is now wrong.
my $rotated = new_secret('rotated');
$source->safe_psql('postgres', $quiet . "ALTER ROLE migrator PASSWORD '$rotated'");
$r = sql_error($target, "SELECT * FROM migrate_verify('t1')");
error_is($r, '28P01', 'migrate_verify with a stale password in the user mapping', $rotated);
$source->safe_psql('postgres', $quiet . "ALTER ROLE migrator PASSWORD '$password'");

# -------------------------------------------------------------------------------------------- source down
$source->stop('fast');
$r = sql_error($target, "SELECT * FROM migrate_verify('t1')");
error_is($r, '08001', 'migrate_verify with the source stopped');
ok($r->{elapsed} < 10, 'source stopped: the error comes at once, not after a timeout');
$r = sql_error($target, $quiet . "SELECT migrate_source('" . source_conninfo($source, $password) . "')");
error_is($r, '08001', 'migrate_source with the source stopped');
$source->start;
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't', 't1: ok once the source is back');

# ------------------------------------------------------------------------------------- tables that differ
$r = sql_error($target, "SELECT * FROM migrate_verify('only_target')");
error_is($r, '42P01', 'a table missing on the source');
like($r->{message}, qr/only_target/, 'table missing on the source: the message names it');

$r = sql_error($target, "SELECT * FROM migrate_verify('cols')");
error_is($r, '42703', 'column sets that differ');
like($r->{message}, qr/cols/, 'columns differ: the message names the table');
like($r->{message} . ' ' . ($r->{detail} // ''), qr/only_s/, 'columns differ: the column only on the source is named');
like($r->{message} . ' ' . ($r->{detail} // ''), qr/only_t/, 'columns differ: the column only on the target is named');
unlike(($r->{detail} // ''), qr/\ba\b|\bid\b/, 'columns differ: the columns both sides have are not listed');

# Row-level security on the source (Supabase enables it on most tables): a checksum over the rows a policy
# lets migrator see would compare a part of the table. It must fail instead.
is($source->safe_psql('postgres', 'SELECT count(*) FROM rls_t', extra_params => [ '-U', 'migrator' ]),
	'5', 'control: the policy hides half of rls_t from migrator');
$r = sql_error($target, "SELECT * FROM migrate_verify('rls_t')");
error_is($r, '42501', 'a source table whose row-level security policy applies to migrator');
like($r->{message}, qr/rls_t/, 'row-level security: the message names the table');

# ---------------------------------------------------------------------------------- bad connection strings
my $parse_secret = new_secret('parse');
push @quiet_secrets, $parse_secret;
$r = sql_error($target, $quiet . "SELECT migrate_source('host=127.0.0.1 password=$parse_secret port')");
error_is($r, '22023', 'a connection string that does not parse', $parse_secret);

my $parse_loud = new_secret('parse-loud');
$r = sql_error($target, "SELECT migrate_source('host=127.0.0.1 password=''$parse_loud')");
error_is($r, '22023', 'a connection string with an unterminated quote', $parse_loud);

# The URI form: the password still goes to the user mapping only.
is( $target->safe_psql('postgres', "SELECT migrate_source('postgresql://migrator:$password\@127.0.0.1:$port/postgres')"),
	'source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 15',
	'migrate_source with a postgresql:// URI');
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't', 't1: ok through the URI settings');

# A password with a space, quotes, a backslash, '=', '@' and '/': it reaches the source exactly, in both forms.
my $special_tail = new_secret('special');
my $special = "p w'd\\=x\@/\"$special_tail";
(my $in_conninfo = $special) =~ s/(['\\])/\\$1/g;
(my $in_uri = $special) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
my $sql_literal = sub { my ($text) = @_; $text =~ s/'/''/g; return "'$text'" };
$source->safe_psql('postgres', $quiet . 'ALTER ROLE migrator PASSWORD ' . $sql_literal->($special));
is( $target->safe_psql('postgres',
		'SELECT migrate_source('
		  . $sql_literal->("host=127.0.0.1 port=$port dbname=postgres user=migrator password='$in_conninfo'")
		  . ')'),
	'source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 15',
	'migrate_source with a password full of special characters');
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't', 't1: ok with that password');
is( $target->safe_psql('postgres',
		'SELECT migrate_source(' . $sql_literal->("postgresql://migrator:$in_uri\@127.0.0.1:$port/postgres") . ')'),
	'source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 15',
	'migrate_source with that password percent-encoded in a URI');
is($target->safe_psql('postgres', "SELECT ok FROM migrate_verify('t1')"), 't', 't1: ok through the URI');
$source->safe_psql('postgres', $quiet . "ALTER ROLE migrator PASSWORD '$password'");
$target->safe_psql('postgres', "SELECT migrate_source('" . source_conninfo($source, $password) . "')");

# ------------------------------------------------------------------ no source; non-superusers need a password
$target->safe_psql('postgres', q{CREATE DATABASE fresh; CREATE ROLE app LOGIN; CREATE ROLE reader LOGIN;});
$target->safe_psql('fresh', q{
CREATE EXTENSION pg_cutover CASCADE;
CREATE TABLE t1 (id integer, a text);
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO app;
GRANT EXECUTE ON FUNCTION migrate_source(text), migrate_verify(regclass) TO app;
});
$r = sql_error($target, "SELECT * FROM migrate_verify('t1')", dbname => 'fresh');
error_is($r, '42704', 'migrate_verify before any migrate_source');
like(($r->{hint} // ''), qr/migrate_source/, 'no source: the hint says to run migrate_source');

# The source trusts connections of user postgres from 127.0.0.1: a non-superuser must not borrow that.
$r = sql_error($target, "SELECT migrate_source('host=127.0.0.1 port=$port dbname=postgres user=postgres')",
	dbname => 'fresh', extra_params => [ '-U', 'app' ]);
error_is($r, '2F003', 'a non-superuser without a password');
my $unused = new_secret('unused');
$r = sql_error($target,
	"SELECT migrate_source('host=127.0.0.1 port=$port dbname=postgres user=postgres password=$unused')",
	dbname => 'fresh', extra_params => [ '-U', 'app' ]);
error_is($r, '2F003', 'a non-superuser whose password the source did not ask for', $unused);

# --------------------------------------------------------------------------- where the password is kept
my $srvoptions = $target->safe_psql('postgres',
	q{SELECT array_to_string(srvoptions, ',') FROM pg_foreign_server WHERE srvname = 'cutover_source'});
like($srvoptions, qr/(^|,)host=127\.0\.0\.1(,|$)/, 'the foreign server holds the host');
like($srvoptions, qr/(^|,)port=$port(,|$)/, 'the foreign server holds the port');
like($srvoptions, qr/(^|,)dbname=postgres(,|$)/, 'the foreign server holds the database');
unlike($srvoptions, qr/password|(^|,)user=/, 'the foreign server holds no user and no password');
ok(secret_free($srvoptions, $password), 'the foreign server options do not contain the password');

my $um = $target->safe_psql('postgres', $mapping);
like($um, qr/(^|,)user=migrator(,|$)/, 'the user mapping holds the user');
like($um, qr/(^|,)password=\Q$password\E(,|$)/, 'the user mapping holds the password');

$target->safe_psql('postgres', 'GRANT USAGE ON FOREIGN SERVER cutover_source TO reader');
is( $target->safe_psql('postgres',
		q{SELECT count(*) || '|' || count(umoptions) FROM pg_user_mappings WHERE srvname = 'cutover_source'},
		extra_params => [ '-U', 'reader' ]),
	'1|0',
	'another role sees the user mapping but not its options');
$r = sql_error($target, 'SELECT umoptions FROM pg_catalog.pg_user_mapping', extra_params => [ '-U', 'reader' ]);
is($r->{sqlstate}, '42501', 'another role cannot read pg_user_mapping');

# ------------------------------------------------------------------------------------------------ the logs
# Control: a failing statement is logged with its text (so the absence below means something).
sql_error($target, 'SELECT 1/0 AS control_statement');

# Splits a server log into entries: a line starting with the log_line_prefix timestamp and its continuation lines.
sub log_entries
{
	my ($file) = @_;
	my @entries;
	for my $line (split /\n/, slurp_file($file))
	{
		if ($line =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/ || !@entries)
		{
			push @entries, $line;
		}
		else
		{
			$entries[-1] .= "\n$line";
		}
	}
	return @entries;
}

my @target_log = log_entries($target->logfile);
my @source_log = log_entries($source->logfile);
ok(scalar(grep { /STATEMENT:\s+SELECT 1\/0 AS control_statement/ } @target_log),
	'control: the target logs the text of failing statements');
ok(scalar(grep { /STATEMENT:\s+SELECT \* FROM migrate_verify\('only_target'\)/ } @target_log),
	'control: a failing migrate_verify is logged with its statement');
is_deeply([ grep { /STATEMENT:.*migrate_source/s } @target_log ],
	[], 'no failing migrate_source call is logged with its statement');

for my $secret (@quiet_secrets)
{
	is_deeply([ grep { index($_, $secret) >= 0 } @target_log ],
		[], 'a password of a failing, unlogged migrate_source call is nowhere in the target log');
}
# The password of a statement logged by log_statement = all is in that LOG line, by PostgreSQL's design:
# nowhere else (no ERROR, DETAIL, HINT, CONTEXT or STATEMENT line).
for my $secret ($password, $wrong_loud, $parse_loud, $special_tail)
{
	my @leaks = grep { index($_, $secret) >= 0 && !/^\S+ \S+ \S+ \[\d+\] \S*\s*LOG:\s+(?:00000: )?statement: SELECT migrate_source\('[^\n]*'\)$/ } @target_log;
	is_deeply(\@leaks, [], 'outside the LOG lines of log_statement, no password in the target log');
}
ok(scalar(grep { index($_, $password) >= 0 } @target_log) >= 2,
	'control: log_statement = all did log the successful migrate_source calls');

my @source_leaks = grep { !secret_free($_, $password, $wrong_loud, $wrong_quiet, $rotated, $unused, $special_tail) } @source_log;
is_deeply(\@source_leaks, [], 'no password in the source log');
ok(scalar(grep { /password authentication failed for user "migrator"/ } @source_log),
	'control: the source logged the failed authentications');

done_testing();
