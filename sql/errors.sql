--
-- Hostile identifiers and injection attempts; the source as a non-superuser (passwords required) and a
-- source that asks for passwords (authentication failures).
--
SELECT current_database() AS target_db \gset
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));

--
-- Table, schema and column names with quotes, semicolons, spaces, dots, newlines and non-ASCII letters are
-- quoted wherever they reach SQL, on the target and on the source.
--
CREATE TABLE victim (id integer);
INSERT INTO victim VALUES (1);
CREATE SCHEMA "odd schema.v2";
CREATE TABLE "odd schema.v2"."Tab""le; DROP TABLE victim; --" (
    "col""quote" text, "semi;colon" integer, "with space" text, "dot.ted" text, "ünï cödé" text, "🚀" text,
    "UPPER" text, "a) FROM pg_authid; --" text, "new
line" text);
INSERT INTO "odd schema.v2"."Tab""le; DROP TABLE victim; --"
    VALUES ('x"y', 1, 'a b', 'c.d', 'é', '🚀', 'UP', 'x', 'y'), (NULL, 2, '', NULL, NULL, NULL, NULL, NULL, 'z');
\c cutover_src
CREATE TABLE victim (id integer);
INSERT INTO victim VALUES (1);
CREATE SCHEMA "odd schema.v2";
CREATE TABLE "odd schema.v2"."Tab""le; DROP TABLE victim; --" (
    "new
line" text, "a) FROM pg_authid; --" text, "UPPER" text, "🚀" text, "ünï cödé" text, "dot.ted" text,
    "with space" text, "semi;colon" integer, "col""quote" text);
INSERT INTO "odd schema.v2"."Tab""le; DROP TABLE victim; --"
    VALUES ('y', 'x', 'UP', '🚀', 'é', 'c.d', 'a b', 1, 'x"y'), ('z', NULL, NULL, NULL, NULL, NULL, '', 2, NULL);
\c :target_db
SELECT * FROM migrate_checksum('"odd schema.v2"."Tab""le; DROP TABLE victim; --"');
SELECT regress.same_as_source_script('"odd schema.v2"."Tab""le; DROP TABLE victim; --"');
SELECT migrate_source_checksum_sql('"odd schema.v2"."Tab""le; DROP TABLE victim; --"') AS script \gset
\echo :script
-- pasted into psql, the script splits into its statements at the right semicolons only
:script
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('"odd schema.v2"."Tab""le; DROP TABLE victim; --"');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_all('{odd schema.v2}');
-- a column only on one side is named as it is
ALTER TABLE "odd schema.v2"."Tab""le; DROP TABLE victim; --" ADD COLUMN "x"", y; --" text;
SELECT regress.error_of($$SELECT migrate_verify('"odd schema.v2"."Tab""le; DROP TABLE victim; --"')$$, true);
ALTER TABLE "odd schema.v2"."Tab""le; DROP TABLE victim; --" DROP COLUMN "x"", y; --";
-- a table with a quote in its name missing on the source: the source is asked with parameters, not text
CREATE TABLE "x' OR '1'='1" (id integer);
SELECT regress.error_of($$SELECT migrate_verify('"x'' OR ''1''=''1"')$$);
DROP TABLE "x' OR '1'='1";

-- Column and table names equal to the aliases of the source script (t, r, m, h, l, n, sums, ...).
CREATE TABLE t (t integer, r text, m text, h integer, l integer, n integer, sum_high integer, sum_low integer,
                halves text, sums text, count integer, md5 text);
INSERT INTO t VALUES (1, 'r', 'm', 2, 3, 4, 5, 6, 'halves', 'sums', 7, 'md5'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
\c cutover_src
CREATE TABLE t (t integer, r text, m text, h integer, l integer, n integer, sum_high integer, sum_low integer,
                halves text, sums text, count integer, md5 text);
INSERT INTO t VALUES (1, 'r', 'm', 2, 3, 4, 5, 6, 'halves', 'sums', 7, 'md5'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
\c :target_db
SELECT * FROM migrate_checksum('t');
SELECT regress.same_as_source_script('t');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('t');

-- Injection attempts through the table name go nowhere: a name is a name (regclass input), or no table.
SELECT * FROM migrate_checksum('victim; DROP TABLE victim');
SELECT * FROM migrate_verify('victim"; DROP TABLE victim; --');
SELECT * FROM migrate_verify('"victim; DROP TABLE victim"');
SELECT migrate_source_checksum_sql('victim) AS t; DROP TABLE victim; --');
-- the victims are still there, on both sides
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('victim');

--
-- A non-superuser needs a user mapping of its own, with a password the source asks for.
--
CREATE ROLE regress_cutover_op LOGIN PASSWORD 'op-secret-1';
CREATE TABLE op_data (id integer, label text);
INSERT INTO op_data VALUES (1, 'one'), (2, 'two');
GRANT SELECT ON op_data TO regress_cutover_op;
GRANT EXECUTE ON FUNCTION migrate_verify(regclass) TO regress_cutover_op;
\c cutover_src
CREATE TABLE op_data (id integer, label text);
INSERT INTO op_data VALUES (1, 'one'), (2, 'two');
GRANT SELECT ON op_data TO regress_cutover_op;
\c :target_db
SET ROLE regress_cutover_op;
SELECT regress.error_of($$SELECT migrate_verify('op_data')$$, true);
RESET ROLE;
CREATE USER MAPPING FOR regress_cutover_op SERVER cutover_source OPTIONS (user 'regress_cutover_op');
SET ROLE regress_cutover_op;
SELECT regress.error_of($$SELECT migrate_verify('op_data')$$, true);
RESET ROLE;
ALTER USER MAPPING FOR regress_cutover_op SERVER cutover_source OPTIONS (ADD password 'op-secret-1');
-- this instance trusts local connections: the password was not asked for, so it proves nothing
SET ROLE regress_cutover_op;
SELECT regress.error_of($$SELECT migrate_verify('op_data')$$, true);
RESET ROLE;

--
-- From here on the source asks regress_cutover_op for its password: a rule in pg_hba.conf of this instance
-- (put back at the end of this file).
--
-- The SQLSTATE of migrate_source for a connection string ('RGUND' when it worked), all of it rolled back.
CREATE FUNCTION regress.migrate_source_sqlstate(conninfo text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
BEGIN
    PERFORM migrate_source(conninfo);
    RAISE SQLSTATE 'RGUND';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
    RETURN state;
END
$$;
SELECT regress.local_conninfo('cutover_src') || ' user=regress_cutover_op password=wrong-password' AS wrong_conninfo \gset
SELECT current_setting('hba_file') AS hba_file, rtrim(pg_read_file(current_setting('hba_file')), E'\n') AS original_hba \gset
-- (COPY would escape tabs and backslashes)
SELECT strpos(:'original_hba', E'\t') = 0 AND strpos(:'original_hba', '\') = 0 AS hba_copyable;
COPY (SELECT line FROM unnest(ARRAY['local all regress_cutover_op scram-sha-256', 'host all regress_cutover_op all scram-sha-256']
                              || string_to_array(:'original_hba', E'\n')) WITH ORDINALITY AS l(line, n) ORDER BY n) TO :'hba_file';
SELECT pg_reload_conf();
SELECT regress.wait_until(format('regress.migrate_source_sqlstate(%L) = %L', :'wrong_conninfo', '28P01'), 10) AS password_asked;

-- A wrong password: 28P01, and the password is in no text of the error.
SELECT regress.error_of(format('SELECT migrate_source(%L)', :'wrong_conninfo'));
SELECT strpos(regress.error_text(format('SELECT migrate_source(%L)', :'wrong_conninfo')), 'wrong-password') = 0 AS password_hidden;
-- The right password: the non-superuser verifies with EXECUTE on migrate_verify and SELECT on the table.
SET ROLE regress_cutover_op;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('op_data');
RESET ROLE;
-- (with EXECUTE on the internal aggregate and INSERT on cutover.verification granted as well)
DO $$ BEGIN EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO regress_cutover_op', 'cutover.migrate_checksum_agg'::regproc::regprocedure); END $$;
GRANT USAGE ON SCHEMA cutover TO regress_cutover_op;
GRANT INSERT ON cutover.verification TO regress_cutover_op;
SET ROLE regress_cutover_op;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('op_data');
RESET ROLE;
-- its user mapping with a wrong password: 28P01
ALTER USER MAPPING FOR regress_cutover_op SERVER cutover_source OPTIONS (SET password 'wrong-password');
SET ROLE regress_cutover_op;
SELECT regress.error_of($$SELECT migrate_verify('op_data')$$);
SELECT strpos(regress.error_text($$SELECT migrate_verify('op_data')$$), 'wrong-password') = 0 AS password_hidden;
RESET ROLE;

-- pg_hba.conf as it was
COPY (SELECT line FROM unnest(string_to_array(:'original_hba', E'\n')) WITH ORDINALITY AS l(line, n) ORDER BY n) TO :'hba_file';
SELECT pg_reload_conf();
SELECT regress.wait_until(format('regress.migrate_source_sqlstate(%L) = %L', :'wrong_conninfo', 'RGUND'), 10) AS trusted_again;
SELECT rtrim(pg_read_file(current_setting('hba_file')), E'\n') = :'original_hba' AS hba_restored;

-- No password of this suite reached the server log.
SELECT regress.server_log_mentions('op-secret-1') AS first_password_logged;
SELECT regress.server_log_mentions('wrong-password') AS second_password_logged;
SELECT regress.server_log_mentions('sekrit') AS third_password_logged;

DROP USER MAPPING FOR regress_cutover_op SERVER cutover_source;
DROP TABLE victim, "odd schema.v2"."Tab""le; DROP TABLE victim; --", t, op_data;
DROP SCHEMA "odd schema.v2";
DROP OWNED BY regress_cutover_op;
\c cutover_src
DROP TABLE victim, "odd schema.v2"."Tab""le; DROP TABLE victim; --", t, op_data;
DROP SCHEMA "odd schema.v2";
DROP OWNED BY regress_cutover_op;
\c :target_db
DROP ROLE regress_cutover_op;
--
-- The checksum aggregate cannot be hijacked: an aggregate of the same name planted in the extension's schema,
-- with argument types that match a table's columns exactly, is never called, because migrate_checksum calls
-- the one in schema cutover, where only the extension's owner can create objects.
--
CREATE ROLE regress_cutover_planter;
GRANT CREATE ON SCHEMA public TO regress_cutover_planter;
CREATE TABLE planted_target (id integer, email text);
INSERT INTO planted_target VALUES (1, 'a@example.com');
SET ROLE regress_cutover_planter;
CREATE FUNCTION public.planted_step(integer, text, integer) RETURNS integer LANGUAGE sql AS 'SELECT 42';
CREATE AGGREGATE public.migrate_checksum_agg(text, integer) (SFUNC = public.planted_step, STYPE = integer);
SELECT regress.error_of($$CREATE FUNCTION cutover.planted_step(integer, integer, text) RETURNS integer LANGUAGE sql AS 'SELECT 42'$$);
RESET ROLE;
SELECT rows, checksum = (SELECT checksum FROM regress.run_source_script(migrate_source_checksum_sql('planted_target'))) AS canonical
FROM migrate_checksum('planted_target');
DROP AGGREGATE public.migrate_checksum_agg(text, integer);
DROP FUNCTION public.planted_step(integer, text, integer);
REVOKE CREATE ON SCHEMA public FROM regress_cutover_planter;
DROP ROLE regress_cutover_planter;
DROP TABLE planted_target;
--
-- A view's own code never runs with the extension owner's rights: mapping user IDs back reads the ID map as
-- the owner, so a view (or a foreign table) is refused there (42809) before any of its rows is read.
--
CREATE ROLE regress_cutover_viewer;
CREATE SCHEMA regress_viewer AUTHORIZATION regress_cutover_viewer;
GRANT EXECUTE ON FUNCTION migrate_verify_checksum(regclass, bigint, text, text[]) TO regress_cutover_viewer;
SET ROLE regress_cutover_viewer;
CREATE FUNCTION regress_viewer.escalate() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'regress_cutover_viewer' THEN
        EXECUTE 'ALTER ROLE regress_cutover_viewer SUPERUSER';
    END IF;
    RETURN NULL;
END
$$;
CREATE VIEW regress_viewer.v AS SELECT regress_viewer.escalate() AS who;
SELECT regress.error_of($$SELECT * FROM migrate_verify_checksum('regress_viewer.v', 1, repeat('0', 64), ARRAY['who'])$$);
RESET ROLE;
SELECT rolsuper AS viewer_became_superuser FROM pg_roles WHERE rolname = 'regress_cutover_viewer';
DROP SCHEMA regress_viewer CASCADE;
DROP OWNED BY regress_cutover_viewer;
DROP ROLE regress_cutover_viewer;
--
-- A failing migrate_source called from PL/pgSQL: no error context quoting the statement (and its password).
--
\set VERBOSITY default
\set SHOW_CONTEXT always
DO $$ BEGIN PERFORM migrate_source('host=/nonexistent port=1 dbname=x password=Context-Secret-7'); END $$;
\set SHOW_CONTEXT errors
\set VERBOSITY default
