# 001_verify_two_clusters.pl: migrate_verify between two real clusters.
#
# The source is stock PostgreSQL reached over TCP with a SCRAM password; the target has pg_cutover. Both hold
# the type fixture, a 10,000-row table, tables of 99, 100 and 150 columns (the aggregate takes at most 99
# arguments), a table whose columns are declared in another order on each side, and an empty table. The
# target's migrate_checksum must equal what migrate_source_checksum_sql's script prints on the source, and
# migrate_verify must say ok exactly when the data is the same, whatever the physical order of the rows.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use CutoverTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $password = new_secret('verify-pw');
my $source = new_source('source', $password);
my $target = new_target('target',
	conf => [
		# Parallel plans wherever possible: partial states are serialized, combined and flushed.
		"max_worker_processes = 8",
		"max_parallel_workers = 8",
		"max_parallel_workers_per_gather = 4",
	]);

# ------------------------------------------------------------------------------------------- the same data
# Wide tables: integers, text, and every 7th column a composite value, every 11th an array (inside the
# ROW(...) runs the aggregate takes for tables of more than 99 columns, these print quoted, as on the source).
my $wide_type = sub {
	my ($i) = @_;
	return $i % 7 == 0 ? 'fixture_address' : $i % 11 == 0 ? 'text[]' : $i % 3 == 0 ? 'text' : 'integer';
};
my $wide_columns = sub {
	my ($n) = @_;
	return join ', ', map { sprintf('c%03d %s', $_, $wide_type->($_)) } 1 .. $n;
};
my $wide_values = sub {
	my ($n, $row) = @_;
	return join ', ', map {
		my $type = $wide_type->($_);
		  $row == 2 && $_ % 5 == 0 ? 'NULL'
		: $type eq 'fixture_address' ? "ROW('$row Main St, \"A\"', 'c(i)ty', NULL)::fixture_address"
		: $type eq 'text[]' ? "ARRAY['a b', NULL, '$row\\\\']"
		: $type eq 'text' ? ($row == 3 ? "''" : "'v $row,$_ \"(x)\"'")
		: $row * 1000 + $_
	} 1 .. $n;
};
my $data = fixture_sql('types.sql') . q{
CREATE TABLE big (id integer NOT NULL, h text, x numeric, ts timestamptz, f double precision, d date);
INSERT INTO big
SELECT i, md5(i::text), i * 1.5, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute 1.5 seconds',
       i / 7.0::float8, date '2000-01-01' + i
FROM generate_series(1, 10000) AS i;
CREATE TABLE empty_t (id integer, note text);
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES;
INSERT INTO nocols DEFAULT VALUES;

-- Row texts of every length from 6 to about 1,100 bytes (around the 1,024-byte lanes of the batched md5), and
-- values stored compressed inline, compressed out of line and uncompressed out of line (TOAST).
CREATE TABLE long_text (id integer, body text, ext text);
ALTER TABLE long_text ALTER COLUMN ext SET STORAGE EXTERNAL;
INSERT INTO long_text SELECT i, repeat('y', i), NULL FROM generate_series(0, 1100) AS i;
INSERT INTO long_text SELECT 2000 + i, repeat('compressible ' || i, 20000),
       (SELECT string_agg(md5(i::text || '/' || j), ' "\' ORDER BY j) FROM generate_series(1, 200) AS j)
FROM generate_series(1, 5) AS i;
INSERT INTO long_text VALUES (3000, repeat('inline compressed ', 1000), repeat('e', 3000));

-- Domains over the types the aggregate prints itself (int, text, bool, uuid) print as their base types.
CREATE DOMAIN dom_int AS integer CHECK (VALUE > -100);
CREATE DOMAIN dom_text AS varchar(20);
CREATE DOMAIN dom_flag AS boolean;
CREATE DOMAIN dom_uid AS uuid;
CREATE TABLE doms (i dom_int, t dom_text, f dom_flag, u dom_uid, c char(4), v varchar(5));
INSERT INTO doms VALUES (-99, 'a "b"', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'x', 'y z'),
                        (NULL, '', false, NULL, '', ''), (2147483647, NULL, NULL, '00000000-0000-0000-0000-000000000000', NULL, NULL);

-- A schema and a table whose names need quoting.
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Order Items" ("Qty" integer, "we""ird" text, "ünïcode" text, "A" text, a text);
INSERT INTO "Sales Data"."Order Items" VALUES (1, 'q"uote', 'ü', 'upper', 'lower'), (2, NULL, '', NULL, ' ');
};
for my $n (99, 100, 150)
{
	$data .= "CREATE TABLE wide$n (" . $wide_columns->($n) . ");\n";
	$data .= "INSERT INTO wide$n VALUES (" . $wide_values->($n, $_) . ");\n" for 1 .. 3;
}
$source->safe_psql('postgres', $data);
$target->safe_psql('postgres', $data);

# The table of the unit tests (test/unit/checksum_test.cpp, ChecksumPinned.MixedTableMatchesSourceSql),
# declared in another column order on each side: the canonical order is by name, not by position.
my $mixed_rows = q{(true, '', 'x', 1), (false, 'a b', NULL, 2), (NULL, 'q"r', 'é', 3), (NULL, 'q"r', 'é', 3)};
$source->safe_psql('postgres', qq{
CREATE TABLE "Mixed t" ("select" bool, b text, a text, "A" int);
INSERT INTO "Mixed t" ("select", b, a, "A") VALUES $mixed_rows;
});
$target->safe_psql('postgres', qq{
CREATE TABLE "Mixed t" ("A" int, a text, dropped_later int, b text, "select" bool);
ALTER TABLE "Mixed t" DROP COLUMN dropped_later;
INSERT INTO "Mixed t" ("select", b, a, "A") VALUES $mixed_rows;
});

# A plain table on the source, a partitioned one on the target.
my $events = q{INSERT INTO events SELECT i, date '2024-01-01' + i % 60 FROM generate_series(1, 500) AS i;};
$source->safe_psql('postgres', "CREATE TABLE events (id integer, at date);\n$events");
$target->safe_psql('postgres', qq{
CREATE TABLE events (id integer, at date) PARTITION BY RANGE (at);
CREATE TABLE events_jan PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE events_later PARTITION OF events FOR VALUES FROM ('2024-02-01') TO (MAXVALUE);
$events
});

my %rows = (
	type_fixture => $source->safe_psql('postgres', 'SELECT count(*) FROM type_fixture'),
	big => 10000,
	empty_t => 0,
	nocols => 2,
	long_text => 1107,
	doms => 3,
	events => 500,
	'"Sales Data"."Order Items"' => 2,
	wide99 => 3,
	wide100 => 3,
	wide150 => 3,
	'"Mixed t"' => 4);
my @tables = sort keys %rows;

# ------------------------------------------------------------------------------------------ migrate_source
my $configured = $target->safe_psql('postgres',
	"SELECT migrate_source('" . source_conninfo($source, $password) . "')");
like(
	$configured,
	qr/^source "cutover_source" configured: database "postgres" as role "migrator" on PostgreSQL 1\d+$/,
	'migrate_source connects to the source as migrator over TCP');

# -------------------------------------------------------------------- one checksum, computed two ways
# migrate_source_checksum_sql's script run by psql on the source prints the same (rows, checksum) as the
# extension's aggregate on the target.
my %source_checksum;
for my $table (@tables)
{
	my $script = $target->safe_psql('postgres', "SELECT migrate_source_checksum_sql('$table')");
	my $on_source = $source->safe_psql('postgres', $script);
	my ($target_rows, $target_sum) = query_row($target, "SELECT rows, checksum FROM migrate_checksum('$table')");
	is($on_source, "$target_rows|$target_sum",
		"$table: migrate_checksum on the target equals the source script's result on the source");
	is($target_rows, $rows{$table}, "$table: $rows{$table} rows counted");
	$source_checksum{$table} = $on_source;
}
like($source_checksum{big}, qr/^10000\|[0-9a-f]{64}$/, 'the checksum is 64 lowercase hex digits');
is($source_checksum{empty_t}, '0|' . ('0' x 64), 'an empty table checksums to zeros');
is($source_checksum{'"Mixed t"'}, '4|0000000000000002a066e125ba3903230000000000000001aa667de9ccd0f48b',
	'"Mixed t": the value pinned in the unit tests, on both sides');

# The same whatever the session's settings (migrate_checksum fixes them).
is( $target->safe_psql('postgres', q{
SET DateStyle = 'Postgres, YMD'; SET TimeZone = 'Pacific/Chatham'; SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = -15; SET bytea_output = 'escape';
SELECT rows || '|' || checksum FROM migrate_checksum('type_fixture');
}),
	$source_checksum{type_fixture},
	'type_fixture: the checksum does not depend on the session settings');

# Parallel aggregation (partial states serialized by workers, combined by the leader) gives the same sum.
my $parallel = q{
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 4; SET parallel_leader_participation = off;
SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC';
SET extra_float_digits = 1; SET bytea_output = 'hex';
};
my $agg = 'SELECT count(*), cutover.migrate_checksum_agg(t.d, t.f, t.h, t.id, t.ts, t.x) FROM big AS t';
like($target->safe_psql('postgres', "$parallel EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $agg"),
	qr/Workers Launched: [1-9].*Partial Aggregate/s, 'big: the aggregate runs in parallel workers');
is($target->safe_psql('postgres', "$parallel $agg"),
	$source_checksum{big}, 'big: parallel aggregation gives the source checksum');

# ----------------------------------------------------------------------------------- verify: all equal
# verify(TABLE[, WAY]): migrate_verify with the source's side computed WAY (pg_cutover.verify_source: sql,
# stream, or auto by default: a stream from this source on 127.0.0.1)
sub verify
{
	my ($table, $way) = @_;
	$way //= 'auto';
	my ($name, $source_rows, $target_rows, $source_sum, $target_sum, $ok, $seconds) = query_row($target,
		"SET pg_cutover.verify_source = '$way'; "
		  . "SELECT table_name, source_rows, target_rows, source_checksum, target_checksum, ok, seconds "
		  . "FROM migrate_verify('$table')");
	return {
		table_name => $name,
		source_rows => $source_rows,
		target_rows => $target_rows,
		source_checksum => $source_sum,
		target_checksum => $target_sum,
		ok => $ok,
		seconds => $seconds
	};
}

# Both ways of computing the source's side give the source script's figures: its SQL, and its rows streamed
# by COPY and hashed on the target.
for my $table (@tables)
{
	for my $way (qw(sql stream))
	{
		my $v = verify($table, $way);
		is($v->{ok}, 't', "$table: migrate_verify says ok ($way)");
		is("$v->{source_rows}|$v->{source_checksum}",
			$source_checksum{$table}, "$table: the source side of migrate_verify is the source script's result ($way)");
		is("$v->{target_rows}|$v->{target_checksum}",
			$source_checksum{$table}, "$table: the target side of migrate_verify matches ($way)");
	}
}
is( $target->safe_psql('postgres', q{
SELECT string_agg(DISTINCT source_side, ',' ORDER BY source_side) FROM cutover.verification}),
	'sql,stream', 'cutover.verification records which way each source side was computed');
verify('empty_t');
is($target->safe_psql('postgres', q{SELECT source_side FROM cutover.verification ORDER BY id DESC LIMIT 1}),
	'stream', 'auto streams from a source on a loopback address');
my $v = verify('big');
is($v->{table_name}, 'public.big', 'migrate_verify names the table schema-qualified');
ok($v->{seconds} >= 0 && $v->{seconds} < 60, 'migrate_verify reports its duration in seconds');

my @all = split /\n/, $target->safe_psql('postgres',
	'SELECT table_name, ok FROM migrate_verify_all() ORDER BY table_name');
is_deeply(
	\@all,
	[
		map { "$_|t" } 'public."Mixed t"',
		map { "public.$_" } qw(big doms empty_t events long_text nocols type_fixture wide100 wide150 wide99)
	],
	'migrate_verify_all verifies every table of public (partitions through their parent), all ok');
is($target->safe_psql('postgres', q{SELECT table_name FROM migrate_verify_all(ARRAY['Sales Data'])}),
	'"Sales Data"."Order Items"', 'migrate_verify_all of another schema');

# ------------------------------------------------------------------------------ differences are caught
# One byte changed on the source.
$source->safe_psql('postgres', q{UPDATE big SET h = 'X' || substr(h, 2) WHERE id = 4242});
$v = verify('big');
is($v->{ok}, 'f', 'big: one byte changed on the source: not ok');
is("$v->{source_rows}|$v->{target_rows}", '10000|10000', 'big: same row counts on both sides');
isnt($v->{source_checksum}, $v->{target_checksum}, 'big: the checksums differ');
is("$v->{target_rows}|$v->{target_checksum}", $source_checksum{big}, 'big: the target checksum is unchanged');
my $by_sql = verify('big', 'sql');
is($by_sql->{ok}, 'f', 'big: one byte changed on the source: not ok, the source hashing it too');
is($by_sql->{source_checksum}, $v->{source_checksum}, 'big: the changed source checksums the same both ways');
$source->safe_psql('postgres', q{UPDATE big SET h = md5(id::text) WHERE id = 4242});
is(verify('big')->{ok}, 't', 'big: the byte restored: ok again');

# A NULL that becomes an empty string (the row text tells them apart: "(,)" and "(\"\")").
$target->safe_psql('postgres', q{UPDATE doms SET t = '' WHERE i = 2147483647});
is(verify('doms')->{ok}, 'f', 'doms: NULL changed to an empty string on the target: not ok');
$target->safe_psql('postgres', q{UPDATE doms SET t = NULL WHERE i = 2147483647});
is(verify('doms')->{ok}, 't', 'doms: restored: ok');

# A row deleted on the target.
$target->safe_psql('postgres', q{DELETE FROM big WHERE id = 1});
$v = verify('big');
is($v->{ok}, 'f', 'big: a row deleted on the target: not ok');
is("$v->{source_rows}|$v->{target_rows}", '10000|9999', 'big: the row counts show the missing row');

# A duplicate row inserted on the target.
$target->safe_psql('postgres',
	q{INSERT INTO big SELECT i, md5(i::text), i * 1.5, timestamptz '2024-01-01 00:00:00+00'
	    + i * interval '1 minute 1.5 seconds', i / 7.0::float8, date '2000-01-01' + i FROM generate_series(1, 1) AS i});
is(verify('big')->{ok}, 't', 'big: the deleted row put back: ok');
$target->safe_psql('postgres', q{INSERT INTO big SELECT * FROM big WHERE id = 7});
$v = verify('big');
is($v->{ok}, 'f', 'big: a duplicate row on the target: not ok');
is($v->{target_rows}, '10001', 'big: the target counts the duplicate');

# A duplicate in place of a deleted row: the counts agree, only the checksum can tell.
$target->safe_psql('postgres', q{DELETE FROM big WHERE id = 8});
$v = verify('big');
is("$v->{source_rows}|$v->{target_rows}", '10000|10000', 'big: duplicate for a deleted row: counts agree');
is($v->{ok}, 'f', 'big: duplicate for a deleted row: not ok');
$target->safe_psql('postgres', q{
DELETE FROM big WHERE ctid = (SELECT max(ctid) FROM big WHERE id = 7);
INSERT INTO big SELECT i, md5(i::text), i * 1.5, timestamptz '2024-01-01 00:00:00+00'
    + i * interval '1 minute 1.5 seconds', i / 7.0::float8, date '2000-01-01' + i FROM generate_series(8, 8) AS i;
});
is(verify('big')->{ok}, 't', 'big: repaired: ok');

# ------------------------------------------------------------------------- physical order does not matter
my $first_ids = q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM big LIMIT 20) AS s};
$target->safe_psql('postgres', q{
CREATE TABLE big_shuffled AS SELECT * FROM big ORDER BY random();
TRUNCATE big;
INSERT INTO big SELECT * FROM big_shuffled ORDER BY random();
DROP TABLE big_shuffled;
});
isnt($target->safe_psql('postgres', $first_ids),
	$source->safe_psql('postgres', $first_ids), 'big: the target now stores the rows in another order');
is(verify('big')->{ok}, 't', 'big: rows in another physical order: still ok');

my $insertable = $target->safe_psql('postgres', q{
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'type_fixture'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''});
$target->safe_psql('postgres', qq{
CREATE TABLE tf_copy AS SELECT $insertable FROM type_fixture;
TRUNCATE type_fixture;
INSERT INTO type_fixture ($insertable) SELECT $insertable FROM tf_copy ORDER BY id DESC NULLS FIRST;
DROP TABLE tf_copy;
});
my $fixture_order = q{SELECT string_agg(coalesce(id::text, 'null'), ',') FROM type_fixture};
isnt($target->safe_psql('postgres', $fixture_order),
	$source->safe_psql('postgres', $fixture_order), 'type_fixture: the target now stores the rows in reverse order');
is(verify('type_fixture')->{ok}, 't', 'type_fixture: rows in reverse order: still ok');

# ------------------------------------------------------------------------------------- recorded results
my $recorded = $target->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE ok) || '|' || count(*) FILTER (WHERE NOT ok)
FROM cutover.verification WHERE table_name = 'public.big'});
is($recorded, '8|5', 'cutover.verification holds one row per migrate_verify of big, with its outcome');

# ------------------------------------------------------------------------------- a hostile search_path
# Functions of another schema ahead of pg_catalog in migrator's search_path must not change the source side.
$source->safe_psql('postgres', q{
CREATE SCHEMA evil;
CREATE FUNCTION evil.md5(bytea) RETURNS text LANGUAGE sql AS $$ SELECT repeat('0', 32) $$;
CREATE FUNCTION evil.convert_to(text, name) RETURNS bytea LANGUAGE sql AS $$ SELECT '\x00'::bytea $$;
GRANT USAGE ON SCHEMA evil TO migrator;
ALTER ROLE migrator SET search_path = evil, pg_catalog, public;
});
is($source->safe_psql('postgres', q{SELECT md5('\x01'::bytea)}, extra_params => [ '-U', 'migrator' ]),
	'0' x 32, 'control: migrator\'s search_path finds evil.md5 first');
for my $way (qw(sql stream))
{
	is(verify('big', $way)->{ok}, 't', "big: ok although migrator's search_path puts other functions first ($way)");
	is(verify('type_fixture', $way)->{ok}, 't', "type_fixture: ok with the hostile search_path ($way)");
}
$source->safe_psql('postgres', 'ALTER ROLE migrator RESET search_path');

# ---------------------------------------------------------------------- a LATIN1 target, a UTF8 source
# The target converts its row text to UTF-8 before hashing, as convert_to(..., 'UTF8') does on the source.
my $latin_data = q{
CREATE TABLE words (id integer, w text);
INSERT INTO words VALUES (1, 'café'), (2, 'Zürich straße'), (3, E'no\u00a0break'), (4, 'ÿ « » ½'), (5, NULL);
};
$source->safe_psql('postgres', "CREATE DATABASE words_src");
$source->safe_psql('words_src', $latin_data);
$target->safe_psql('postgres',
	"CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$target->safe_psql('latin', "CREATE EXTENSION pg_cutover CASCADE;\nSET client_encoding = 'UTF8';\n$latin_data");
$target->safe_psql('latin',
	"SELECT migrate_source('" . source_conninfo($source, $password, dbname => 'words_src') . "')");
my $latin_script = $target->safe_psql('latin', "SELECT migrate_source_checksum_sql('words')");
is( $target->safe_psql('latin', q{SELECT rows || '|' || checksum FROM migrate_checksum('words')}),
	$source->safe_psql('words_src', $latin_script),
	'words: a LATIN1 target checksums like the UTF8 source');
for my $way (qw(sql stream))
{
	is($target->safe_psql('latin', "SET pg_cutover.verify_source = '$way'; SELECT ok FROM migrate_verify('words')"),
		't', "words: migrate_verify from a LATIN1 target: ok ($way)");
}

done_testing();
