--
-- The per-table state: cutover.table_state, migrate_status, migrate_reset, and the state migrate_verify
-- records, in the same transaction as the verification.
--
SELECT current_database() AS target_db \gset
SELECT proname, provolatile, proisstrict, proparallel, proretset, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS fixed_path
FROM pg_proc WHERE proname IN ('migrate_status', 'migrate_reset') ORDER BY proname;
-- the columns of migrate_status
SELECT unnest(proargnames) AS name, unnest(proallargtypes)::regtype AS type FROM pg_proc WHERE proname = 'migrate_status';

-- Earlier files verified tables of their own: this file looks at schema rs only.
-- A foreign-key chain a <- b <- c (b refers to a twice), an unrelated d, a self-referencing e. On the source
-- only, d also refers to a: migrate_reset follows the target's foreign keys, not the source's.
\c cutover_src
CREATE SCHEMA rs;
CREATE TABLE rs.a (id integer PRIMARY KEY, name text);
CREATE TABLE rs.b (id integer PRIMARY KEY, a_id integer REFERENCES rs.a, reviewer_a_id integer REFERENCES rs.a);
CREATE TABLE rs.c (id integer PRIMARY KEY, b_id integer REFERENCES rs.b);
CREATE TABLE rs.d (id integer PRIMARY KEY, a_id integer REFERENCES rs.a, note text);
CREATE TABLE rs.e (id integer PRIMARY KEY, parent_id integer REFERENCES rs.e);
INSERT INTO rs.a VALUES (1, 'one'), (2, 'two');
INSERT INTO rs.b VALUES (10, 1, 2), (20, 2, NULL);
INSERT INTO rs.c VALUES (100, 10), (200, 20), (300, NULL);
INSERT INTO rs.d VALUES (1, 1, 'x'), (2, NULL, 'y');
INSERT INTO rs.e VALUES (1, NULL), (2, 1), (3, 2);
\c :target_db
CREATE SCHEMA rs;
CREATE TABLE rs.a (id integer PRIMARY KEY, name text);
CREATE TABLE rs.b (id integer PRIMARY KEY, a_id integer REFERENCES rs.a, reviewer_a_id integer REFERENCES rs.a);
CREATE TABLE rs.c (id integer PRIMARY KEY, b_id integer REFERENCES rs.b);
CREATE TABLE rs.d (id integer PRIMARY KEY, a_id integer, note text);
CREATE TABLE rs.e (id integer PRIMARY KEY, parent_id integer REFERENCES rs.e);
INSERT INTO rs.a VALUES (1, 'one'), (2, 'two');
INSERT INTO rs.b VALUES (10, 1, 2), (20, 2, NULL);
INSERT INTO rs.c VALUES (100, 10), (200, 20), (300, NULL);
INSERT INTO rs.d VALUES (1, 1, 'x'), (2, NULL, 'y');
INSERT INTO rs.e VALUES (1, NULL), (2, 1), (3, 2);
CREATE VIEW rs.a_names AS SELECT name FROM rs.a;
CREATE SEQUENCE rs.a_seq;
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));

-- Nothing known about these tables yet.
SELECT count(*) AS known FROM migrate_status() WHERE table_name LIKE 'rs.%';

--
-- migrate_verify records the state: verified when ok, with the rows and both checksums.
--
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.a');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.b');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.c');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.d');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.e');
SELECT table_name, status, rows, source_checksum = target_checksum AS same_checksum,
       started_at IS NULL AS no_start, finished_at IS NULL AS no_finish, seconds IS NULL AS no_seconds, last_error
FROM migrate_status() WHERE table_name LIKE 'rs.%';
-- the checksums are the table's
SELECT s.target_checksum = (SELECT checksum FROM migrate_checksum('rs.a')) AS table_checksum
FROM migrate_status() AS s WHERE s.table_name = 'rs.a';
-- one row per table in cutover.table_state, however often it is verified
SELECT table_name, ok FROM migrate_verify('rs.a');
SELECT table_schema, table_name, status, rows FROM cutover.table_state WHERE table_schema = 'rs' ORDER BY table_name;

--
-- A verification that finds a difference: failed, and last_error says what.
--
-- the same rows, one value changed
UPDATE rs.d SET note = 'changed' WHERE id = 2;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.d');
-- a row more on the target
INSERT INTO rs.e VALUES (4, 3);
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.e');
-- a row fewer on the target
DELETE FROM rs.c WHERE id = 300;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rs.c');
SELECT table_name, status, rows, source_checksum = target_checksum AS same_checksum, last_error
FROM migrate_status() WHERE table_name LIKE 'rs.%';
-- fixed: verified again, and the error is gone
INSERT INTO rs.c VALUES (300, NULL);
SELECT table_name, ok FROM migrate_verify('rs.c');
SELECT table_name, status, rows, source_checksum = target_checksum AS same_checksum, last_error
FROM migrate_status() WHERE table_name = 'rs.c';

--
-- State changes are transactional: a verification rolled back leaves the state as it was.
--
-- a failed table fixed and verified, then rolled back: still failed, with its error
BEGIN;
UPDATE rs.d SET note = 'y' WHERE id = 2;
SELECT table_name, ok FROM migrate_verify('rs.d');
SELECT table_name, status, last_error FROM migrate_status() WHERE table_name = 'rs.d';
ROLLBACK;
SELECT table_name, status, last_error FROM migrate_status() WHERE table_name = 'rs.d';
-- a verified table broken and verified, then rolled back: still verified
BEGIN;
UPDATE rs.a SET name = 'uno' WHERE id = 1;
SELECT table_name, ok FROM migrate_verify('rs.a');
ROLLBACK;
SELECT table_name, status, last_error FROM migrate_status() WHERE table_name = 'rs.a';
-- the same in a savepoint rolled back
BEGIN;
SAVEPOINT before_verify;
UPDATE rs.a SET name = 'uno' WHERE id = 1;
SELECT table_name, ok FROM migrate_verify('rs.a');
ROLLBACK TO SAVEPOINT before_verify;
SELECT table_name, status, last_error FROM migrate_status() WHERE table_name = 'rs.a';
COMMIT;
-- a verification that fails with an error records nothing
ALTER TABLE rs.a ADD COLUMN extra text;
SELECT regress.error_of($$SELECT migrate_verify('rs.a')$$);
ALTER TABLE rs.a DROP COLUMN extra;
SELECT table_name, status, last_error FROM migrate_status() WHERE table_name = 'rs.a';

--
-- migrate_reset: the table and every table whose foreign keys lead to it go back to pending (rows,
-- checksums, times and error cleared); their names come back sorted.
--
SELECT * FROM migrate_reset('rs.a');
SELECT table_name, status, rows, source_checksum IS NULL AND target_checksum IS NULL AS no_checksums,
       started_at IS NULL AND finished_at IS NULL AND seconds IS NULL AS no_times, last_error
FROM migrate_status() WHERE table_name LIKE 'rs.%';
-- a self-reference: only itself
SELECT * FROM migrate_reset('rs.e');
-- the middle of the chain: itself and what refers to it
SELECT table_name, ok FROM migrate_verify('rs.b');
SELECT table_name, ok FROM migrate_verify('rs.c');
SELECT * FROM migrate_reset('rs.b');
-- the end of the chain: only itself
SELECT * FROM migrate_reset('rs.c');
SELECT table_name, status, rows, last_error FROM migrate_status() WHERE table_name LIKE 'rs.%';
-- an unrelated table: only itself, and its error is cleared
SELECT * FROM migrate_reset('rs.d');
SELECT table_name, status, rows, last_error FROM migrate_status() WHERE table_name = 'rs.d';
-- a table the state does not know yet gets a row, pending
CREATE TABLE rs."z ""quoted""" (id integer);
SELECT * FROM migrate_reset('rs."z ""quoted"""');
SELECT table_name, status FROM migrate_status() WHERE table_name LIKE 'rs.%';
SELECT table_schema, table_name, status FROM cutover.table_state WHERE table_schema = 'rs' ORDER BY table_name;
-- a cycle through two tables: both, from either end
CREATE TABLE rs.f (id integer PRIMARY KEY, g_id integer);
CREATE TABLE rs.g (id integer PRIMARY KEY, f_id integer REFERENCES rs.f);
ALTER TABLE rs.f ADD FOREIGN KEY (g_id) REFERENCES rs.g;
SELECT * FROM migrate_reset('rs.f');
SELECT * FROM migrate_reset('rs.g');
-- a partitioned table referring to rs.a: the table, not its partitions
CREATE TABLE rs.h (id integer, a_id integer REFERENCES rs.a) PARTITION BY RANGE (id);
CREATE TABLE rs.h_low PARTITION OF rs.h FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE rs.h_high PARTITION OF rs.h FOR VALUES FROM (100) TO (MAXVALUE);
SELECT * FROM migrate_reset('rs.a');
SELECT * FROM migrate_reset('rs.h');
-- a reset rolled back changes nothing
SELECT table_name, ok FROM migrate_verify('rs.a');
BEGIN;
SELECT * FROM migrate_reset('rs.a');
ROLLBACK;
SELECT table_name, status FROM migrate_status() WHERE table_name = 'rs.a';
-- Not a table: 42809; no such table: regclass's 42P01; NULL: no rows.
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.a_names')$$);
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.a_seq')$$);
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.a_pkey')$$);
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.no_such_table')$$);
SELECT count(*) AS reset FROM migrate_reset(NULL);
SELECT table_name, status FROM migrate_status() WHERE table_name LIKE 'rs.%';

--
-- Only the extension's owner sees or changes the state: another role gets 42501 from every function and
-- from cutover.table_state (no USAGE on schema cutover).
--
CREATE ROLE regress_cutover_state;
GRANT USAGE ON SCHEMA rs TO regress_cutover_state;
GRANT SELECT ON ALL TABLES IN SCHEMA rs TO regress_cutover_state;
SET ROLE regress_cutover_state;
SELECT regress.error_of($$SELECT * FROM migrate_status()$$);
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.a')$$);
SELECT regress.error_of($$SELECT * FROM migrate_verify('rs.a')$$);
SELECT regress.error_of($$SELECT * FROM cutover.table_state$$);
SELECT regress.error_of($$UPDATE cutover.table_state SET status = 'verified'$$);
SELECT regress.error_of($$DELETE FROM cutover.table_state$$);
SELECT regress.error_of($$INSERT INTO cutover.table_state (table_schema, table_name) VALUES ('rs', 'x')$$);
RESET ROLE;
-- EXECUTE alone does not open the state either
GRANT EXECUTE ON FUNCTION migrate_status(), migrate_reset(regclass) TO regress_cutover_state;
SET ROLE regress_cutover_state;
SELECT regress.error_of($$SELECT * FROM migrate_status()$$);
SELECT regress.error_of($$SELECT * FROM migrate_reset('rs.a')$$);
RESET ROLE;
SELECT table_name, status FROM migrate_status() WHERE table_name LIKE 'rs.%';

DROP OWNED BY regress_cutover_state;
DROP ROLE regress_cutover_state;
DROP TABLE rs.a, rs.b, rs.c, rs.d, rs.e, rs.f, rs.g, rs.h, rs."z ""quoted""" CASCADE;
DROP SEQUENCE rs.a_seq;
DROP SCHEMA rs;
DELETE FROM cutover.table_state WHERE table_schema = 'rs';
\c cutover_src
DROP TABLE rs.a, rs.b, rs.c, rs.d, rs.e;
DROP SCHEMA rs;
\c :target_db
