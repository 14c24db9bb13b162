--
-- migrate_diff: which rows differ, against a source database of the same instance (cutover_diff_src). Every
-- difference once, in key order; nothing for equal rows; user IDs compared after mapping back.
--
SELECT current_database() AS target_db \gset
CREATE DATABASE cutover_diff_src TEMPLATE template0 ENCODING 'UTF8';
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_diff_src')));
SELECT count(*) AS recorded FROM cutover.verification \gset
SELECT count(*) AS states FROM cutover.table_state \gset

-- Labels: reads the source, so volatile and not parallel safe; strict; search_path fixed; not for PUBLIC.
SELECT proname, provolatile, proisstrict, proparallel, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS fixed_path,
       pg_get_function_arguments(oid) AS arguments, pg_get_function_result(oid) AS result
FROM pg_proc WHERE proname = 'migrate_diff';
SELECT has_function_privilege('public', 'migrate_diff(regclass, integer, boolean)', 'EXECUTE') AS public_may_run;

--
-- An integer key: equal tables give nothing; then one changed, one missing and one extra row.
--
\c cutover_diff_src
CREATE TABLE sites (id integer PRIMARY KEY, name text, note text, created timestamptz);
INSERT INTO sites SELECT i, 'site ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END,
                         timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(1, 50) AS i;
\c :target_db
CREATE TABLE sites (note text, created timestamptz, name text, id integer PRIMARY KEY);
INSERT INTO sites (id, name, note, created)
SELECT i, 'site ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(50, 1, -1) AS i;
SELECT * FROM migrate_diff('sites');
UPDATE sites SET name = 'Site 7' WHERE id = 7;
DELETE FROM sites WHERE id = 20;
INSERT INTO sites VALUES ('new', NULL, 'site 51', 51);
SELECT * FROM migrate_diff('sites');
-- NULL and an empty string are different values; two columns changed in one row are both named
UPDATE sites SET note = '' WHERE id = 3;
UPDATE sites SET note = NULL, created = created + interval '1 microsecond' WHERE id = 4;
SELECT * FROM migrate_diff('sites');
-- max_rows: the first differences in key order, and a NOTICE that there are more
SELECT * FROM migrate_diff('sites', 2);
SELECT * FROM migrate_diff('sites', 5);
SELECT * FROM migrate_diff('sites', max_rows => 6);
-- bad max_rows: 22023; NULLs: no rows (STRICT)
SELECT regress.error_of($$SELECT * FROM migrate_diff('sites', 0)$$);
SELECT regress.error_of($$SELECT * FROM migrate_diff('sites', -5)$$);
SELECT count(*) FROM migrate_diff('sites', NULL);
SELECT count(*) FROM migrate_diff(NULL);
-- repaired: nothing
UPDATE sites SET name = 'site 7' WHERE id = 7;
INSERT INTO sites VALUES ('n20', '2024-01-01 20:00:00+00', 'site 20', 20);
DELETE FROM sites WHERE id = 51;
UPDATE sites SET note = NULL WHERE id = 3;
UPDATE sites SET note = 'n4', created = created - interval '1 microsecond' WHERE id = 4;
SELECT * FROM migrate_diff('sites');
SELECT ok FROM migrate_verify('sites');

--
-- Text keys with quotes, backslashes, commas, spaces and non-ASCII letters, compared byte by byte.
--
-- The source's key column sorts by ICU's rules (apple before Zebra), the target's bytewise: no matter.
\c cutover_diff_src
CREATE TABLE words (w text COLLATE "und-x-icu" PRIMARY KEY, n integer);
INSERT INTO words VALUES ('plain', 1), ('O''Brien', 2), ('back\slash', 3), ('comma, space', 4), ('ünïcode', 5),
                         ('Zebra', 6), ('apple', 7), ('"quoted"', 8), ('', 9), ('日本', 10), ('(paren)', 11);
\c :target_db
CREATE TABLE words (w text PRIMARY KEY, n integer);
INSERT INTO words VALUES ('plain', 1), ('O''Brien', 2), ('back\slash', 3), ('comma, space', 4), ('ünïcode', 5),
                         ('Zebra', 6), ('apple', 7), ('"quoted"', 8), ('', 9), ('日本', 10), ('(paren)', 11);
SELECT * FROM migrate_diff('words');
SELECT string_agg(w, ' < ' ORDER BY w COLLATE "und-x-icu") AS icu, string_agg(w, ' < ' ORDER BY w COLLATE "C") AS bytes
FROM words WHERE w IN ('apple', 'Zebra');
UPDATE words SET n = 20 WHERE w = 'O''Brien';
UPDATE words SET n = 30 WHERE w = 'back\slash';
DELETE FROM words WHERE w = 'ünïcode';
INSERT INTO words VALUES ('ünïcodé', 5), ('it''s \ "all"', 12);
UPDATE words SET n = 90 WHERE w = '';
UPDATE words SET n = 70 WHERE w = 'apple';
UPDATE words SET n = 60 WHERE w = 'Zebra';
SELECT * FROM migrate_diff('words');

-- The same with thousands of keys in upper and lower case: the buckets' bounds must cut both sides alike.
\c cutover_diff_src
CREATE TABLE names (w text COLLATE "und-x-icu" PRIMARY KEY, v integer);
INSERT INTO names SELECT CASE WHEN i % 2 = 0 THEN upper(md5(i::text)) ELSE md5(i::text) END || ' ' || i, i
FROM generate_series(1, 12000) AS i;
\c :target_db
CREATE TABLE names (w text PRIMARY KEY, v integer);
INSERT INTO names SELECT CASE WHEN i % 2 = 0 THEN upper(md5(i::text)) ELSE md5(i::text) END || ' ' || i, i
FROM generate_series(1, 12000) AS i;
ANALYZE names;
SELECT * FROM migrate_diff('names');
UPDATE names SET v = -v WHERE v IN (10, 5001, 11999);
DELETE FROM names WHERE v = 7000;
SELECT split_part(key, ' ', 2) AS i, status, columns FROM migrate_diff('names');

-- Key columns in C on both sides: compared in their own collation (an index serves the ranges), same result.
\c cutover_diff_src
CREATE TABLE cnames (w text COLLATE "C" PRIMARY KEY, v integer);
INSERT INTO cnames SELECT w, v FROM names;
\c :target_db
CREATE TABLE cnames (w text COLLATE "C" PRIMARY KEY, v integer);
INSERT INTO cnames SELECT w, v FROM names;
ANALYZE cnames;
SELECT coalesce(nullif(split_part(key, ' ', 2), ''), key) AS i, status, columns FROM migrate_diff('cnames');
UPDATE cnames SET v = 0 WHERE v = 3;
INSERT INTO cnames VALUES ('a', 1), ('Z', 2);
SELECT coalesce(nullif(split_part(key, ' ', 2), ''), key) AS i, status, columns FROM migrate_diff('cnames');

--
-- A uuid key, and a composite key (integer, text) with NULLs in other columns.
--
\c cutover_diff_src
CREATE TABLE tokens (id uuid PRIMARY KEY, label text);
INSERT INTO tokens SELECT md5('token' || i)::uuid, 'token ' || i FROM generate_series(1, 30) AS i;
CREATE TABLE readings (site integer, sensor text, value numeric, taken date, PRIMARY KEY (site, sensor));
INSERT INTO readings SELECT s, 'sensor ' || c, CASE WHEN c = 'b' THEN NULL ELSE s * 1.5 END, date '2024-01-01' + s
FROM generate_series(1, 20) AS s, unnest(ARRAY['a', 'b', 'c,d', 'É']) AS c;
\c :target_db
CREATE TABLE tokens (id uuid PRIMARY KEY, label text);
INSERT INTO tokens SELECT md5('token' || i)::uuid, 'token ' || i FROM generate_series(1, 30) AS i;
CREATE TABLE readings (site integer, sensor text, value numeric, taken date, PRIMARY KEY (site, sensor));
INSERT INTO readings SELECT s, 'sensor ' || c, CASE WHEN c = 'b' THEN NULL ELSE s * 1.5 END, date '2024-01-01' + s
FROM generate_series(1, 20) AS s, unnest(ARRAY['a', 'b', 'c,d', 'É']) AS c;
SELECT * FROM migrate_diff('tokens');
SELECT * FROM migrate_diff('readings');
UPDATE tokens SET label = 'TOKEN 5' WHERE id = md5('token5')::uuid;
DELETE FROM tokens WHERE id = md5('token9')::uuid;
INSERT INTO tokens VALUES ('00000000-0000-0000-0000-000000000000', 'zero');
SELECT key, status, columns, key = md5('token5')::uuid::text AS is_token5, key = md5('token9')::uuid::text AS is_token9
FROM migrate_diff('tokens');
UPDATE readings SET value = 0 WHERE site = 3 AND sensor = 'sensor b';
UPDATE readings SET taken = NULL WHERE site = 4 AND sensor = 'sensor c,d';
DELETE FROM readings WHERE site = 20 AND sensor = 'sensor É';
INSERT INTO readings VALUES (0, 'sensor a', NULL, NULL), (7, 'sensor "x"', 1, NULL);
SELECT * FROM migrate_diff('readings');

--
-- A larger table: boundaries from a sample, ranges cut again where one side has many more rows than a bucket
-- holds (6,000 rows missing in a row), differences found across the whole key space.
--
\c cutover_diff_src
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, 30000) AS i;
\c :target_db
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, 30000) AS i;
ANALYZE big;
SELECT * FROM migrate_diff('big');
DELETE FROM big WHERE id BETWEEN 10001 AND 16000;
UPDATE big SET payload = 'changed' WHERE id IN (1, 9999, 16001, 29999, 30000);
INSERT INTO big VALUES (0, 'below'), (-5, 'far below'), (40000, 'above');
SELECT status, count(*), min(key::bigint), max(key::bigint) FROM migrate_diff('big', 10000) GROUP BY status ORDER BY status;
SELECT * FROM migrate_diff('big', 10000) WHERE status <> 'missing';
-- the same rows whether the source hashes its buckets (sql) or sends its rows to be hashed here (stream)
SET pg_cutover.verify_source = 'sql';
CREATE TEMP TABLE by_sql AS SELECT * FROM migrate_diff('big', 10000);
SET pg_cutover.verify_source = 'stream';
CREATE TEMP TABLE by_stream AS SELECT * FROM migrate_diff('big', 10000);
RESET pg_cutover.verify_source;
SELECT count(*) AS differences, count(*) FILTER (WHERE status = 'missing') AS missing FROM by_sql;
SELECT count(*) AS only_one_way FROM ((TABLE by_sql EXCEPT TABLE by_stream) UNION ALL (TABLE by_stream EXCEPT TABLE by_sql)) AS d;
DROP TABLE by_sql, by_stream;
-- stopped after max_rows, in key order
SELECT * FROM migrate_diff('big', 4);
-- the target empty: every source row missing, the first max_rows of them
TRUNCATE big;
SELECT * FROM migrate_diff('big', 3);
SELECT count(*) FROM migrate_diff('big', 100000);

--
-- User IDs: columns that hold them (a foreign key to auth.users on the source, or marked by hand) are compared
-- after mapping the target's Stack Auth IDs back to Supabase IDs; so is a key that holds them.
--
\c cutover_diff_src
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY);
INSERT INTO auth.users VALUES ('dddddddd-0000-4000-8000-000000000001'), ('dddddddd-0000-4000-8000-000000000002'),
                              ('dddddddd-0000-4000-8000-000000000003');
CREATE TABLE profiles (id uuid PRIMARY KEY REFERENCES auth.users, name text);
INSERT INTO profiles VALUES ('dddddddd-0000-4000-8000-000000000001', 'one'), ('dddddddd-0000-4000-8000-000000000002', 'two'),
                            ('dddddddd-0000-4000-8000-000000000003', 'three');
CREATE TABLE docs (id integer PRIMARY KEY, owner uuid REFERENCES auth.users, editor text, title text);
INSERT INTO docs VALUES (1, 'dddddddd-0000-4000-8000-000000000001', 'dddddddd-0000-4000-8000-000000000002', 'a'),
                        (2, 'dddddddd-0000-4000-8000-000000000002', NULL, 'b'),
                        (3, 'dddddddd-0000-4000-8000-000000000003', 'system', 'c');
\c :target_db
SELECT migrate_map_put('dddddddd-0000-4000-8000-000000000001', 'eeeeeeee-0000-4000-8000-000000000001'),
       migrate_map_put('dddddddd-0000-4000-8000-000000000002', 'eeeeeeee-0000-4000-8000-000000000002'),
       migrate_map_put('dddddddd-0000-4000-8000-000000000003', 'eeeeeeee-0000-4000-8000-000000000003');
CREATE TABLE profiles (id uuid PRIMARY KEY, name text);
INSERT INTO profiles VALUES ('eeeeeeee-0000-4000-8000-000000000003', 'three'), ('eeeeeeee-0000-4000-8000-000000000001', 'one'),
                            ('eeeeeeee-0000-4000-8000-000000000002', 'two');
CREATE TABLE docs (id integer PRIMARY KEY, owner uuid, editor text, title text);
INSERT INTO docs VALUES (1, 'eeeeeeee-0000-4000-8000-000000000001', 'eeeeeeee-0000-4000-8000-000000000002', 'a'),
                        (2, 'eeeeeeee-0000-4000-8000-000000000002', NULL, 'b'),
                        (3, 'eeeeeeee-0000-4000-8000-000000000003', 'system', 'c');
-- editor has no foreign key: marked by hand
SELECT migrate_remap_column('docs', 'editor');
SELECT ok FROM migrate_verify('docs');
SELECT * FROM migrate_diff('docs');
SELECT * FROM migrate_diff('profiles');
-- a row pointing at another user; a user whose mapping changed: the user-ID columns are named
UPDATE docs SET owner = 'eeeeeeee-0000-4000-8000-000000000003' WHERE id = 1;
UPDATE cutover.id_map SET target_id = 'eeeeeeee-0000-4000-8000-000000000009' WHERE source_id = 'dddddddd-0000-4000-8000-000000000002';
SELECT * FROM migrate_diff('docs');
-- the key itself maps back: profile two's Stack Auth ID is no longer mapped, so the source's profile two is
-- missing and the target's row (an unmapped ID, compared as it is) is extra
SELECT * FROM migrate_diff('profiles');
UPDATE cutover.id_map SET target_id = 'eeeeeeee-0000-4000-8000-000000000002' WHERE source_id = 'dddddddd-0000-4000-8000-000000000002';
UPDATE docs SET owner = 'eeeeeeee-0000-4000-8000-000000000001' WHERE id = 1;
UPDATE profiles SET name = 'ONE' WHERE id = 'eeeeeeee-0000-4000-8000-000000000001';
SELECT * FROM migrate_diff('docs');
SELECT * FROM migrate_diff('profiles');

--
-- A source without the key's constraint may hold a key twice, or a NULL key: reported, never lost.
--
\c cutover_diff_src
CREATE TABLE loose (id integer, v text);
INSERT INTO loose VALUES (1, 'a'), (2, 'b'), (2, 'b'), (3, 'c'), (NULL, 'no key');
\c :target_db
CREATE TABLE loose (id integer PRIMARY KEY, v text);
INSERT INTO loose VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT * FROM migrate_diff('loose');

--
-- Errors: no key (55000, with a hint), a key of another type on the source (42804), other columns (42703),
-- no table on the source (42P01), not a table (42809). None records anything.
--
\c cutover_diff_src
CREATE TABLE nokey (id integer, v text);
CREATE TABLE typed (id text PRIMARY KEY);
CREATE TABLE drift (id integer PRIMARY KEY, old_name text);
\c :target_db
CREATE TABLE nokey (id integer, v text);
SELECT regress.error_of($$SELECT * FROM migrate_diff('nokey')$$);
SELECT regress.error_text($$SELECT * FROM migrate_diff('nokey')$$);
-- a unique index on NULLable columns is no key; on NOT NULL columns it is
CREATE UNIQUE INDEX ON nokey (id);
SELECT regress.error_of($$SELECT * FROM migrate_diff('nokey')$$);
ALTER TABLE nokey ALTER COLUMN id SET NOT NULL;
SELECT * FROM migrate_diff('nokey');
CREATE TABLE typed (id integer PRIMARY KEY);
SELECT regress.error_of($$SELECT * FROM migrate_diff('typed')$$, true);
CREATE TABLE drift (id integer PRIMARY KEY, new_name text);
SELECT regress.error_of($$SELECT * FROM migrate_diff('drift')$$, true);
CREATE TABLE target_only (id integer PRIMARY KEY);
SELECT regress.error_of($$SELECT * FROM migrate_diff('target_only')$$);
-- an integer key narrower on the target than on the source (42804); wider is fine: 40000 is missing
\c cutover_diff_src
CREATE TABLE narrowed (id integer PRIMARY KEY);
CREATE TABLE widened (id integer PRIMARY KEY);
INSERT INTO widened VALUES (1), (40000);
\c :target_db
CREATE TABLE narrowed (id smallint PRIMARY KEY);
SELECT regress.error_of($$SELECT * FROM migrate_diff('narrowed')$$, true);
CREATE TABLE widened (id bigint PRIMARY KEY);
INSERT INTO widened VALUES (1), (2);
SELECT * FROM migrate_diff('widened');

--
-- A key of a domain type: its CHECK (anyone's function) never runs, as the differences are sorted in the
-- base type. Keys NULL on a source without the constraint, and a target too small for buckets: every row is
-- reported once, none twice.
--
\c cutover_diff_src
CREATE TABLE dom_key (id integer PRIMARY KEY, v text);
INSERT INTO dom_key VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd');
CREATE TABLE null_keys (id integer, v text);
INSERT INTO null_keys SELECT g, 'v' || g FROM generate_series(1, 10000) AS g;
INSERT INTO null_keys SELECT NULL, 'no key ' || g FROM generate_series(1, 1500) AS g;
\c :target_db
CREATE FUNCTION regress.check_forbidden(integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('regress.forbid_check', true) = 'on' THEN
        RAISE EXCEPTION 'the domain check ran for %', $1;
    END IF;
    RETURN true;
END $$;
CREATE DOMAIN regress.checked_id AS integer CHECK (regress.check_forbidden(VALUE));
CREATE TABLE dom_key (id regress.checked_id PRIMARY KEY, v text);
INSERT INTO dom_key VALUES (1, 'a'), (2, 'B'), (5, 'e');
SET regress.forbid_check = on;
SELECT * FROM migrate_diff('dom_key');
RESET regress.forbid_check;
CREATE TABLE null_keys (id integer PRIMARY KEY, v text);
SELECT status, count(*), count(DISTINCT key) AS keys FROM migrate_diff('null_keys', 20000) GROUP BY status;
CREATE VIEW site_names AS SELECT id, name FROM sites;
SELECT regress.error_of($$SELECT * FROM migrate_diff('site_names')$$);
SELECT regress.error_of($$SELECT * FROM migrate_diff('sites_pkey')$$);

--
-- A table verified in key ranges that failed: only the ranges that differed are compared, and a NOTICE says
-- so; a change since in a range that matched is seen by whole_table, or once a whole verification records
-- other figures.
--
\c cutover_diff_src
CREATE TABLE ranged (id integer PRIMARY KEY, v text);
INSERT INTO ranged SELECT i, 'v' || i FROM generate_series(1, 3000) AS i;
\c :target_db
CREATE TABLE ranged (id integer PRIMARY KEY, v text);
INSERT INTO ranged SELECT i, 'v' || i FROM generate_series(1, 3000) AS i;
UPDATE ranged SET v = 'changed' WHERE id = 100;
-- the ranges made and verified in one statement: each call sees what the ones before it wrote
SELECT s.range_no, s.lower, s.upper, v.ok
FROM migrate_split('ranged', 3) AS s, LATERAL migrate_verify_range('ranged', s.range_no) AS v ORDER BY 1;
SELECT ok FROM migrate_verify_ranges('ranged');
\set VERBOSITY terse
SELECT * FROM migrate_diff('ranged');
UPDATE ranged SET v = 'since' WHERE id = 2900;
SELECT * FROM migrate_diff('ranged');
SELECT * FROM migrate_diff('ranged', 10, whole_table => true);
SELECT ok FROM migrate_verify('ranged');
SELECT * FROM migrate_diff('ranged');
\set VERBOSITY default

--
-- Cancelled by statement_timeout, and so is its query on the source.
--
\c cutover_diff_src
CREATE VIEW slow AS SELECT 1 AS id FROM pg_sleep(30);
\c :target_db
CREATE TABLE slow (id integer PRIMARY KEY);
SET statement_timeout = '1s';
SELECT regress.error_of($$SELECT * FROM migrate_diff('slow')$$);
RESET statement_timeout;
SELECT regress.wait_until($$NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = 'cutover_diff_src' AND state = 'active')$$, 10) AS source_query_gone;

-- migrate_diff recorded nothing: only the verifications above are recorded.
SELECT count(*) = :recorded + 4 AS only_the_four_verifications FROM cutover.verification;
SELECT count(*) = :states + 3 AS only_their_states FROM cutover.table_state;

DROP VIEW site_names;
DROP TABLE sites, words, names, cnames, tokens, readings, big, profiles, docs, loose, nokey, typed, drift, target_only, slow, ranged;
DELETE FROM cutover.table_ranges WHERE table_name = 'ranged';
DELETE FROM cutover.id_map WHERE source_id::text LIKE 'dddddddd-%';
DELETE FROM cutover.remap_column;
DELETE FROM cutover.table_state WHERE table_name IN ('sites', 'docs', 'ranged');
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
DROP DATABASE cutover_diff_src;
