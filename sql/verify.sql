--
-- migrate_verify and migrate_verify_all against a source database of the same instance (cutover_src).
--
SELECT current_database() AS target_db \gset
\c cutover_src
CREATE TABLE sites (id integer PRIMARY KEY, name text, created timestamptz);
INSERT INTO sites VALUES (1, 'alpha', '2024-01-01 10:00:00+00'), (2, 'beta', '2024-02-01 11:30:00.5+00'), (3, 'gamma', NULL);
CREATE TABLE members (site_id integer, user_id uuid, role text, joined date);
INSERT INTO members VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'owner', '2024-01-01'),
                           (1, '00000000-0000-0000-0000-000000000001', 'member', '2024-01-02'),
                           (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL);
-- a plain table on the source, partitioned on the target
CREATE TABLE events (id bigint, kind text, payload jsonb);
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, jsonb_build_object('n', g) FROM generate_series(1, 200) AS g;
CREATE TABLE empty_on_both (id integer);
CREATE SCHEMA app;
CREATE TABLE app.settings (key text, value text);
INSERT INTO app.settings VALUES ('theme', 'dark'), ('lang', 'fr');
\c :target_db
CREATE TABLE sites (id integer PRIMARY KEY, name text, created timestamptz);
INSERT INTO sites VALUES (3, 'gamma', NULL), (2, 'beta', '2024-02-01 11:30:00.5+00'), (1, 'alpha', '2024-01-01 10:00:00+00');
-- the same columns declared in another order
CREATE TABLE members (role text, joined date, user_id uuid, site_id integer);
INSERT INTO members (site_id, user_id, role, joined) VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'owner', '2024-01-01'),
                                                            (1, '00000000-0000-0000-0000-000000000001', 'member', '2024-01-02'),
                                                            (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL);
CREATE TABLE events (id bigint, kind text, payload jsonb) PARTITION BY RANGE (id);
CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (100) TO (MAXVALUE);
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, jsonb_build_object('n', g) FROM generate_series(1, 200) AS g;
CREATE TABLE empty_on_both (id integer);
-- views are not listed by migrate_verify_all
CREATE VIEW site_names AS SELECT name FROM sites;
CREATE SCHEMA app;
CREATE TABLE app.settings (key text, value text);
INSERT INTO app.settings VALUES ('lang', 'fr'), ('theme', 'dark');

SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
SELECT coalesce(max(id), 0) AS last_id FROM cutover.verification \gset

--
-- Equal tables: ok.
--
SELECT table_name, source_rows, target_rows, source_checksum, target_checksum, ok FROM migrate_verify('sites');
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('members');
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('events');
SELECT table_name, source_rows, target_rows, source_checksum, ok FROM migrate_verify('empty_on_both');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('app.settings');
-- the source checksum is the one migrate_checksum computes here
SELECT (SELECT checksum FROM migrate_checksum('events')) = (SELECT source_checksum FROM migrate_verify('events')) AS same;

-- migrate_verify_all: one row per table of the schemas (partitioned tables once, no partitions, no views),
-- in schema and name order.
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok, seconds >= 0 AS timed
FROM migrate_verify_all();
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_all('{app}');
SELECT table_name, ok FROM migrate_verify_all('{public,app}');
-- a schema that does not exist (3F000)
SELECT regress.error_of($$SELECT count(*) FROM migrate_verify_all('{no_such_schema}')$$);
SELECT count(*) FROM migrate_verify_all('{}');
SELECT count(*) FROM migrate_verify_all(NULL);

-- Every run is recorded in cutover.verification, in order.
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok,
       seconds >= 0 AS timed, verified_at IS NOT NULL AS dated
FROM cutover.verification WHERE id > :last_id ORDER BY id;

--
-- Differences: ok is false, and that is recorded too.
--
\c cutover_src
UPDATE sites SET name = 'Beta' WHERE id = 2;
DELETE FROM members WHERE site_id = 3;
INSERT INTO events VALUES (201, 'odd', '{"n": 201}');
UPDATE app.settings SET value = 'light' WHERE key = 'theme';
\c :target_db
SELECT coalesce(max(id), 0) AS last_id FROM cutover.verification \gset
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('sites');
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('members');
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('events');
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify_all('{app}');
SELECT table_name, source_rows, target_rows, ok FROM cutover.verification WHERE id > :last_id ORDER BY id;
-- fixed on the target, ok again
UPDATE sites SET name = 'Beta' WHERE id = 2;
SELECT table_name, ok FROM migrate_verify('sites');

-- A verification whose transaction is rolled back is not recorded.
SELECT count(*) AS recorded FROM cutover.verification \gset
BEGIN;
SELECT table_name, ok FROM migrate_verify('empty_on_both');
ROLLBACK;
SELECT count(*) = :recorded AS nothing_recorded FROM cutover.verification;

-- Types may differ where the values print the same (a widened integer); where they print differently (a
-- numeric with another scale), the tables differ.
\c cutover_src
CREATE TABLE widened (id integer, amount numeric(10,2));
INSERT INTO widened VALUES (1, 1.5), (2, NULL);
CREATE TABLE rescaled (id integer, amount numeric(10,2));
INSERT INTO rescaled VALUES (1, 1.5), (2, NULL);
\c :target_db
CREATE TABLE widened (id bigint, amount numeric(12,2));
INSERT INTO widened VALUES (1, 1.5), (2, NULL);
CREATE TABLE rescaled (id integer, amount numeric(10,3));
INSERT INTO rescaled VALUES (1, 1.5), (2, NULL);
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('widened');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('rescaled');

-- Values whose text depends on search_path (regclass) read the same on both sides.
\c cutover_src
CREATE TABLE refs (rel regclass, typ regtype);
INSERT INTO refs VALUES ('sites', 'integer'), ('pg_class', 'text');
\c :target_db
CREATE TABLE refs (rel regclass, typ regtype);
INSERT INTO refs VALUES ('sites', 'integer'), ('pg_class', 'text');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('refs');

-- Quoted names (schema, table, columns), the source's side hashed by its SQL and streamed: the same figures.
\c cutover_src
CREATE SCHEMA "Odd ""Schema""";
CREATE TABLE "Odd ""Schema"""."t a,b" ("Sel ect" integer, "x""y" text, "Äö" text);
INSERT INTO "Odd ""Schema"""."t a,b" VALUES (1, 'a"b\c', 'ü'), (2, NULL, '(,)'), (3, '', E'tab\there');
\c :target_db
CREATE SCHEMA "Odd ""Schema""";
CREATE TABLE "Odd ""Schema"""."t a,b" ("Äö" text, "Sel ect" integer, "x""y" text);
INSERT INTO "Odd ""Schema"""."t a,b" ("Sel ect", "x""y", "Äö") VALUES (3, '', E'tab\there'), (2, NULL, '(,)'), (1, 'a"b\c', 'ü');
SET pg_cutover.verify_source = 'sql';
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('"Odd ""Schema"""."t a,b"');
SELECT source_checksum AS by_sql FROM cutover.verification ORDER BY id DESC LIMIT 1 \gset
SET pg_cutover.verify_source = 'stream';
SELECT table_name, source_rows, target_rows, ok, source_checksum = :'by_sql' AS same FROM migrate_verify('"Odd ""Schema"""."t a,b"');
SELECT source_side FROM cutover.verification ORDER BY id DESC LIMIT 1;
RESET pg_cutover.verify_source;

--
-- Errors. None of them records anything.
--
SELECT count(*) AS recorded FROM cutover.verification \gset
-- Columns only on one side: 42703, naming them all (names are case sensitive).
\c cutover_src
CREATE TABLE drift (id integer, legacy_flag boolean, note text);
\c :target_db
CREATE TABLE drift (id integer, new_flag boolean, "Note" text);
SELECT regress.error_of($$SELECT migrate_verify('drift')$$, true);
ALTER TABLE drift DROP COLUMN new_flag;
ALTER TABLE drift RENAME COLUMN "Note" TO note;
SELECT regress.error_of($$SELECT migrate_verify('drift')$$, true);
ALTER TABLE drift ADD COLUMN legacy_flag boolean;
ALTER TABLE drift ADD COLUMN extra text;
SELECT regress.error_of($$SELECT migrate_verify('drift')$$, true);
ALTER TABLE drift DROP COLUMN extra;
SELECT table_name, ok FROM migrate_verify('drift');

-- A table missing on the source: 42P01, also when the source has it in another schema.
CREATE TABLE target_only (id integer);
SELECT regress.error_of($$SELECT migrate_verify('target_only')$$);
\c cutover_src
CREATE SCHEMA elsewhere;
CREATE TABLE elsewhere.target_only (id integer);
\c :target_db
SELECT regress.error_of($$SELECT migrate_verify('target_only')$$);
-- migrate_verify_all stops at the first table that fails
SELECT regress.error_of($$SELECT count(*) FROM migrate_verify_all()$$);
DROP TABLE target_only;

-- Not a table: 42809; no such name: the regclass input error; NULL: NULL.
CREATE SEQUENCE sites_seq;
SELECT regress.error_of($$SELECT migrate_verify('sites_seq')$$);
SELECT regress.error_of($$SELECT migrate_verify('sites_pkey')$$);
SELECT * FROM migrate_verify('no_such_table');
SELECT * FROM migrate_verify(NULL);

-- A target table the caller may not read: 42501 naming the table.
CREATE ROLE regress_cutover_verifier;
GRANT EXECUTE ON FUNCTION migrate_verify(regclass) TO regress_cutover_verifier;
SET ROLE regress_cutover_verifier;
SELECT regress.error_of($$SELECT migrate_verify('sites')$$, true);
RESET ROLE;

-- Errors on the source keep the source's SQLSTATE; their message says where they happened.
\c cutover_src
CREATE VIEW broken AS SELECT 1 / (n - n) AS id FROM generate_series(1, 1) AS n;
CREATE TABLE locked (id integer);
INSERT INTO locked VALUES (1);
CREATE ROLE regress_cutover_source_login LOGIN;
\c :target_db
CREATE TABLE broken (id integer);
CREATE TABLE locked (id integer);
INSERT INTO locked VALUES (1);
SELECT regress.error_of($$SELECT migrate_verify('broken')$$);
-- connected to the source as a role without SELECT on the table
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src') || ' user=regress_cutover_source_login'));
SELECT regress.error_of($$SELECT migrate_verify('locked')$$);
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
SELECT table_name, ok FROM migrate_verify('locked');

-- A verification that runs too long is cancelled by statement_timeout, and so is its query on the source.
\c cutover_src
CREATE VIEW slow AS SELECT 1 AS id FROM pg_sleep(30);
\c :target_db
CREATE TABLE slow (id integer);
-- Both ways: the source's COPY (auto, on this Unix socket), then its SQL.
SET statement_timeout = '1s';
SELECT regress.error_of($$SELECT migrate_verify('slow')$$);
RESET statement_timeout;
SELECT regress.wait_until($$regress.server_log_mentions('canceling statement due to user request') = 'mentioned'$$, 10) AS source_query_cancelled;
SELECT regress.wait_until($$NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = 'cutover_src' AND state = 'active')$$, 10) AS source_query_gone;
SET pg_cutover.verify_source = 'sql';
SET statement_timeout = '1s';
SELECT regress.error_of($$SELECT migrate_verify('slow')$$);
RESET statement_timeout;
RESET pg_cutover.verify_source;
SELECT regress.wait_until($$NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = 'cutover_src' AND state = 'active')$$, 10) AS source_query_gone;

SELECT count(*) = :recorded + 2 AS only_the_two_good_runs_recorded FROM cutover.verification;

DROP VIEW site_names;
DROP TABLE sites, members, events, empty_on_both, app.settings, widened, rescaled, refs, drift, broken, locked, slow;
DROP SCHEMA app;
DROP SCHEMA "Odd ""Schema""" CASCADE;
DROP SEQUENCE sites_seq;
DROP OWNED BY regress_cutover_verifier;
DROP ROLE regress_cutover_verifier;
\c cutover_src
DROP VIEW broken, slow;
DROP TABLE sites, members, events, empty_on_both, app.settings, widened, rescaled, refs, drift, locked, elsewhere.target_only;
DROP SCHEMA app, elsewhere;
DROP SCHEMA "Odd ""Schema""" CASCADE;
DROP ROLE regress_cutover_source_login;
\c :target_db
