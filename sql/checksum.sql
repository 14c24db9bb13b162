--
-- migrate_checksum and migrate_source_checksum_sql: the canonical checksum (DESIGN.md), computed in C++ by
-- the extension and in plain SQL by the script the source runs, pinned to each other and to the definition.
--
CREATE EXTENSION pg_cutover CASCADE;

-- Helpers shared by every file of this suite (pg_regress runs the files in order in one instance).
CREATE SCHEMA regress;
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- The error a statement raises as 'SQLSTATE: message' (plus its DETAIL when asked), or 'no error'.
CREATE FUNCTION regress.error_of(statement text, with_detail boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || message || CASE WHEN with_detail AND detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END;
END
$$;

-- The message, detail and hint of the error a statement raises, to check what they do not say.
CREATE FUNCTION regress.error_text(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    message text;
    detail text;
    hint text;
BEGIN
    EXECUTE statement;
    RETURN '';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN concat_ws(E'\n', message, detail, hint);
END
$$;

-- Runs a script of migrate_source_checksum_sql as a session on the source would: checks that it is
-- BEGIN READ ONLY; ... COMMIT; and executes what is in between (the SET LOCALs and the SELECT).
-- (the SET clause gives the function its own settings scope, so the script's SET LOCALs end with it)
CREATE FUNCTION regress.run_source_script(script text, OUT rows bigint, OUT checksum text)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF left(script, 17) <> E'BEGIN READ ONLY;\n' OR right(script, 8) <> E'COMMIT;\n' THEN
        RAISE EXCEPTION 'not a BEGIN READ ONLY; ... COMMIT; script: %', script;
    END IF;
    EXECUTE substr(script, 18, length(script) - 25) INTO rows, checksum;
END
$$;

-- Whether migrate_checksum and the source script give the same (rows, checksum) for a table.
CREATE FUNCTION regress.same_as_source_script(tbl regclass) RETURNS boolean
LANGUAGE sql AS $$
    SELECT (SELECT ROW(c.rows, c.checksum) FROM migrate_checksum(tbl) AS c) =
           (SELECT ROW(s.rows, s.checksum) FROM regress.run_source_script(migrate_source_checksum_sql(tbl)) AS s)
$$;

-- The checksum of a table after a change, which is rolled back before returning.
CREATE FUNCTION regress.checksum_after(tbl regclass, change text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE change;
    SELECT c.checksum INTO result FROM migrate_checksum(tbl) AS c;
    RAISE SQLSTATE 'RGUND';
EXCEPTION WHEN SQLSTATE 'RGUND' THEN
    RETURN result;
END
$$;

-- A connection string for a database of this instance: its socket directory (or localhost) and port.
CREATE FUNCTION regress.local_conninfo(dbname text, port integer DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
    SELECT format('host=''%s'' port=%s dbname=''%s''',
                  replace(replace(coalesce(nullif(split_part(current_setting('unix_socket_directories'), ',', 1), ''),
                                           'localhost'), '\', '\\'), '''', '\'''),
                  coalesce(port::text, current_setting('port')), dbname)
$$;

-- The message of migrate_source with the name of the superuser running the suite replaced.
-- The superuser's name masked, and the major version of this server (the source of these tests), which
-- migrate_source names: the expected output holds for every version.
CREATE FUNCTION regress.masked(message text) RETURNS text
LANGUAGE sql AS $$
    SELECT replace(replace(message, format('"%s"', session_user), '"<superuser>"'),
                   format('on PostgreSQL %s', current_setting('server_version_num')::int / 10000),
                   'on PostgreSQL <this server>')
$$;

-- Waits up to `seconds` for a boolean SQL expression to become true; returns its last value.
CREATE FUNCTION regress.wait_until(condition text, seconds integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    FOR i IN 1 .. seconds * 20 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXECUTE 'SELECT ' || condition INTO ok;
        EXIT WHEN ok;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN ok;
END
$$;

-- Whether the log of this instance mentions a text. pg_regress writes it to <outputdir>/log/postmaster.log,
-- and the data directory is <outputdir>/tmp_check/data (Makefile: --temp-instance=./tmp_check).
CREATE FUNCTION regress.server_log_mentions(needle text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN pg_stat_file('../../log/postmaster.log', true) IS NULL THEN 'no server log at ../../log/postmaster.log'
                WHEN strpos(pg_read_file('../../log/postmaster.log'), needle) > 0 THEN 'mentioned'
                ELSE 'not mentioned' END
$$;

-- The SQL surface: labels of the user-facing functions.
SELECT proname, provolatile, proisstrict, proparallel, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS fixed_path
FROM pg_proc
WHERE proname IN ('migrate_checksum', 'migrate_source_checksum_sql', 'migrate_source', 'migrate_verify', 'migrate_verify_all')
ORDER BY proname;
-- migrate_checksum fixes every setting that changes how values print
SELECT unnest(proconfig) AS setting FROM pg_proc WHERE proname = 'migrate_checksum' ORDER BY 1;

--
-- A small table: migrate_checksum, the exact script users paste on the source, and that script run here.
--
CREATE TABLE pets (id integer, name text);
INSERT INTO pets VALUES (1, 'Rex'), (2, 'Tom, the cat'), (3, NULL);
SELECT * FROM migrate_checksum('pets');
SELECT migrate_source_checksum_sql('pets') AS script \gset
\echo :script
:script
SELECT regress.same_as_source_script('pets');
-- the definition by hand: one row (1,x), columns in name order, md5 halves as 128-bit sums
CREATE TABLE one_row (b text, a integer);
INSERT INTO one_row VALUES ('x', 1);
SELECT ROW(a, b)::text AS row_text, md5(ROW(a, b)::text) FROM one_row;
SELECT checksum = '0000000000000000' || substr(md5('(1,x)'), 1, 16) || '0000000000000000' || substr(md5('(1,x)'), 17, 16) AS by_definition
FROM migrate_checksum('one_row');
-- two rows: the halves add up with carry (the script computes the sums in numeric)
INSERT INTO one_row VALUES ('y', 2);
SELECT * FROM migrate_checksum('one_row');
SELECT regress.same_as_source_script('one_row');
-- an empty table: 0 rows and 64 zeros
CREATE TABLE nothing (id integer, name text);
SELECT * FROM migrate_checksum('nothing');
SELECT * FROM regress.run_source_script(migrate_source_checksum_sql('nothing'));
SELECT checksum = repeat('0', 64) AS zeros FROM migrate_checksum('nothing');
-- a table without columns has rows all the same: "()"
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;
SELECT * FROM migrate_checksum('no_columns');
SELECT regress.same_as_source_script('no_columns');

--
-- The caller's settings do not change the result, of either computation.
--
CREATE TABLE accounts (id integer, owner text, balance numeric(12,2), fee money, rate double precision,
                       opened date, last_login timestamptz, term interval, avatar bytea);
INSERT INTO accounts VALUES
    (1, 'alice', 1234.50, 1.25, 0.1, '2024-01-31', '2024-01-31 23:30:00.123456+00', '1 year 2 days 03:04:05.5', '\x00ff'),
    (2, 'bob', -0.01, 0, 1e-7, '1999-12-31', '2000-01-01 00:00:00+14', '-3 days', ''),
    (3, 'carol', NULL, NULL, 'NaN', NULL, NULL, NULL, NULL);
SELECT * FROM migrate_checksum('accounts');
SELECT regress.same_as_source_script('accounts');
SELECT checksum AS accounts_sum FROM migrate_checksum('accounts') \gset
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'America/St_Johns';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SET bytea_output = 'escape';
SET lc_monetary = 'POSIX';
SET search_path = pg_catalog, public;
-- the same rows print differently now
SELECT opened, last_login, term, rate, avatar FROM accounts WHERE id = 1;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts');
SELECT checksum = :'accounts_sum' AS same FROM regress.run_source_script(migrate_source_checksum_sql('accounts'));
-- and the functions' own settings do not leak into the session
SHOW DateStyle;
SHOW TimeZone;
RESET DateStyle;
RESET TimeZone;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
RESET lc_monetary;
RESET search_path;

--
-- Physical order of rows and of columns does not matter.
--
CREATE TABLE accounts_reversed AS SELECT * FROM accounts ORDER BY id DESC;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts_reversed');
-- an UPDATE to the same value moves the row to the end of the heap
UPDATE accounts SET owner = owner WHERE id = 1;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts');
CREATE INDEX accounts_owner_desc ON accounts (owner DESC);
CLUSTER accounts USING accounts_owner_desc;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts');
-- the same columns declared in another order
CREATE TABLE accounts_columns_reversed AS
    SELECT avatar, term, last_login, opened, rate, fee, balance, owner, id FROM accounts;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts_columns_reversed');
-- a dropped column is not part of the row
ALTER TABLE accounts_columns_reversed ADD COLUMN scratch integer DEFAULT 1;
SELECT checksum <> :'accounts_sum' AS changed FROM migrate_checksum('accounts_columns_reversed');
ALTER TABLE accounts_columns_reversed DROP COLUMN scratch;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts_columns_reversed');
-- a view and a materialized view over the table have its checksum
CREATE VIEW accounts_view AS SELECT * FROM accounts;
CREATE MATERIALIZED VIEW accounts_matview AS SELECT * FROM accounts;
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts_view');
SELECT checksum = :'accounts_sum' AS same FROM migrate_checksum('accounts_matview');

--
-- Every change of content changes the checksum (each change is rolled back).
--
SELECT change, regress.checksum_after('accounts', change) <> :'accounts_sum' AS changed
FROM (VALUES
    ($$UPDATE accounts SET owner = 'alicf' WHERE id = 1$$),
    ($$UPDATE accounts SET balance = 1234.51 WHERE id = 1$$),
    ($$UPDATE accounts SET last_login = last_login + interval '1 microsecond' WHERE id = 1$$),
    ($$UPDATE accounts SET avatar = '\x00fe' WHERE id = 1$$),
    ($$UPDATE accounts SET rate = 0 WHERE id = 3$$),
    ($$UPDATE accounts SET owner = NULL WHERE id = 3$$),
    ($$DELETE FROM accounts WHERE id = 2$$),
    ($$INSERT INTO accounts (id, owner) VALUES (4, 'dave')$$),
    ($$INSERT INTO accounts SELECT * FROM accounts WHERE id = 2$$),
    ($$UPDATE accounts SET owner = CASE id WHEN 1 THEN 'bob' ELSE 'alice' END WHERE id IN (1, 2)$$),
    ($$UPDATE accounts SET owner = owner$$),
    ($$DELETE FROM accounts$$)
) AS c(change);
-- a duplicated row and a missing row together keep the row count: only the checksum tells
BEGIN;
INSERT INTO accounts SELECT * FROM accounts WHERE id = 2;
DELETE FROM accounts WHERE id = 3;
SELECT rows, checksum <> :'accounts_sum' AS changed FROM migrate_checksum('accounts');
ROLLBACK;

-- Renaming a column changes the checksum when it changes the name order of the columns (the values move
-- in the row text); names themselves are not hashed, so a rename that keeps the order keeps the checksum.
CREATE TABLE renamed (a integer, b text);
INSERT INTO renamed VALUES (1, 'x'), (2, 'y');
SELECT checksum AS renamed_sum FROM migrate_checksum('renamed') \gset
ALTER TABLE renamed RENAME COLUMN a TO c;
SELECT checksum <> :'renamed_sum' AS changed FROM migrate_checksum('renamed');
SELECT regress.same_as_source_script('renamed');
ALTER TABLE renamed RENAME COLUMN c TO aa;
SELECT checksum = :'renamed_sum' AS same FROM migrate_checksum('renamed');
-- a new column, even all NULL, changes every row
ALTER TABLE renamed ADD COLUMN z text;
SELECT checksum <> :'renamed_sum' AS changed FROM migrate_checksum('renamed');

-- NULL, the empty string, the word NULL, quotes and a comma that could fake a field: all different.
CREATE TABLE cell_null (a text, b text);
CREATE TABLE cell_empty (a text, b text);
CREATE TABLE cell_word_null (a text, b text);
CREATE TABLE cell_quotes (a text, b text);
CREATE TABLE cell_comma (a text, b text);
CREATE TABLE cell_split (a text, b text);
CREATE TABLE cell_swapped (a text, b text);
INSERT INTO cell_null VALUES (NULL, 'x');
INSERT INTO cell_empty VALUES ('', 'x');
INSERT INTO cell_word_null VALUES ('NULL', 'x');
INSERT INTO cell_quotes VALUES ('""', 'x');
INSERT INTO cell_comma VALUES ('y,x', NULL);
INSERT INTO cell_split VALUES ('y', 'x');
INSERT INTO cell_swapped VALUES ('x', 'y');
SELECT tbl, c.checksum
FROM unnest('{cell_null,cell_empty,cell_word_null,cell_quotes,cell_comma,cell_split,cell_swapped}'::regclass[]) AS tbl,
     migrate_checksum(tbl) AS c;
SELECT count(DISTINCT c.checksum) AS distinct_checksums
FROM unnest('{cell_null,cell_empty,cell_word_null,cell_quotes,cell_comma,cell_split,cell_swapped}'::regclass[]) AS tbl,
     migrate_checksum(tbl) AS c;
SELECT bool_and(regress.same_as_source_script(tbl)) AS all_same_as_script
FROM unnest('{cell_null,cell_empty,cell_word_null,cell_quotes,cell_comma,cell_split,cell_swapped}'::regclass[]) AS tbl;

-- Values whose text depends on search_path (regclass, regtype) read the same in both computations: the
-- source script runs under the search_path of whoever runs it, migrate_checksum under its own.
CREATE TYPE pet_kind AS ENUM ('dog', 'cat');
CREATE TABLE catalog_refs (rel regclass, typ regtype);
INSERT INTO catalog_refs VALUES ('pets', 'pet_kind'), ('pg_class', 'integer');
SELECT regress.same_as_source_script('catalog_refs');

--
-- Wide tables, up to the maximum number of columns (1600): a function call takes at most 100 arguments.
--
CREATE TYPE pair AS (x text, y integer);
DO $$
DECLARE
    width integer;
BEGIN
    FOREACH width IN ARRAY ARRAY[98, 99, 100, 101, 250] LOOP
        EXECUTE format('CREATE TABLE wide_%s (%s)', width,
            (SELECT string_agg(format('c%s %s', lpad(i::text, 4, '0'), (ARRAY['integer', 'text', 'pair'])[i % 3 + 1]), ', ')
             FROM generate_series(1, width) AS i));
        EXECUTE format('INSERT INTO wide_%s SELECT %s FROM generate_series(1, 3) AS r', width,
            (SELECT string_agg((ARRAY[format('CASE WHEN r = 2 THEN NULL ELSE r * %s END', i),
                                       $q$CASE WHEN r = 3 THEN NULL ELSE 'a, "b"' || r END$q$,
                                       $q$CASE WHEN r = 1 THEN NULL ELSE ROW('(x)', r)::pair END$q$])[i % 3 + 1], ', ')
             FROM generate_series(1, width) AS i));
    END LOOP;
    EXECUTE format('CREATE TABLE wide_1600 (%s)',
        (SELECT string_agg(format('c%s integer', lpad(i::text, 4, '0')), ', ') FROM generate_series(1, 1600) AS i));
    EXECUTE format('INSERT INTO wide_1600 SELECT %s FROM generate_series(1, 3) AS r',
        (SELECT string_agg(format('CASE WHEN (r + %s) %% 5 = 0 THEN NULL ELSE r * %s END', i, i), ', ') FROM generate_series(1, 1600) AS i));
END
$$;
SELECT width, c.rows, c.checksum, regress.same_as_source_script(format('wide_%s', width)::regclass) AS same_as_script
FROM unnest(ARRAY[98, 99, 100, 101, 250, 1600]) AS width, migrate_checksum(format('wide_%s', width)::regclass) AS c;

--
-- A table big enough for a parallel plan: partial states combine to the same checksum.
--
CREATE TABLE many AS SELECT g AS id, md5(g::text) AS txt, g % 7 = 0 AS flag FROM generate_series(1, 30000) AS g;
ANALYZE many;
SET max_parallel_workers_per_gather = 0;
SELECT * FROM migrate_checksum('many');
SELECT checksum AS many_sum FROM migrate_checksum('many') \gset
SELECT regress.same_as_source_script('many');
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- the aggregate can run in parallel (partial aggregates in the workers, combined by the leader)
SELECT a.aggcombinefn <> 0 AS combines, a.aggserialfn <> 0 AS serializes, p.proparallel
FROM pg_aggregate AS a JOIN pg_proc AS p ON p.oid = a.aggfnoid WHERE p.proname = 'migrate_checksum_agg';
EXPLAIN (COSTS OFF) SELECT cutover.migrate_checksum_agg(ROW(t.flag, t.id, t.txt)) FROM many AS t;
SELECT cutover.migrate_checksum_agg(ROW(t.flag, t.id, t.txt)) = :'many_sum' AS same FROM many AS t;
SELECT checksum = :'many_sum' AS same FROM migrate_checksum('many');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

--
-- Bad inputs.
--
CREATE SEQUENCE pets_seq;
CREATE INDEX pets_name ON pets (name);
SELECT regress.error_of($$SELECT migrate_checksum('pets_seq')$$, true);
SELECT regress.error_of($$SELECT migrate_checksum('pets_name')$$, true);
SELECT regress.error_of($$SELECT migrate_source_checksum_sql('pets_seq')$$);
SELECT regress.error_of($$SELECT migrate_source_checksum_sql('pets_name')$$);
SELECT * FROM migrate_checksum('no_such_table');
SELECT migrate_source_checksum_sql('no_such_table');
SELECT * FROM migrate_checksum('pets; DROP TABLE pets');
-- an OID that is no table (any more)
CREATE TABLE short_lived (id integer);
SELECT 'short_lived'::regclass::oid AS short_lived_oid \gset
DROP TABLE short_lived;
SELECT replace(regress.error_of(format('SELECT migrate_checksum(%s)', :short_lived_oid)), :'short_lived_oid', '<oid>');
-- STRICT: NULL in, NULL out
SELECT * FROM migrate_checksum(NULL);
SELECT migrate_source_checksum_sql(NULL) IS NULL AS is_null;
SELECT count(*) FROM pets;

--
-- Privileges: the functions are revoked from PUBLIC, and the caller needs SELECT on the table.
--
CREATE ROLE regress_cutover_reader;
CREATE TABLE private_notes (id integer, note text);
GRANT SELECT ON pets TO regress_cutover_reader;
SET ROLE regress_cutover_reader;
SELECT regress.error_of($$SELECT migrate_checksum('pets')$$);
SELECT regress.error_of($$SELECT migrate_source_checksum_sql('pets')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION migrate_checksum(regclass), migrate_source_checksum_sql(regclass) TO regress_cutover_reader;
SET ROLE regress_cutover_reader;
SELECT regress.error_of($$SELECT migrate_checksum('private_notes')$$, true);
SELECT regress.error_of($$SELECT migrate_source_checksum_sql('private_notes')$$);
-- EXECUTE on migrate_checksum and SELECT on the table are enough to checksum it
SELECT * FROM migrate_checksum('pets');
SELECT left(migrate_source_checksum_sql('pets'), 16) AS script_start;
RESET ROLE;

DROP VIEW accounts_view;
DROP MATERIALIZED VIEW accounts_matview;
DROP TABLE pets, one_row, nothing, no_columns, accounts, accounts_reversed, accounts_columns_reversed, renamed,
    cell_null, cell_empty, cell_word_null, cell_quotes, cell_comma, cell_split, cell_swapped, catalog_refs, many,
    private_notes, wide_98, wide_99, wide_100, wide_101, wide_250, wide_1600;
DROP SEQUENCE pets_seq;
DROP TYPE pet_kind, pair;
DROP OWNED BY regress_cutover_reader;
DROP ROLE regress_cutover_reader;
