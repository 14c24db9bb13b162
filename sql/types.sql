--
-- The type fixture (test/fixtures/types.sql): values of every kind, checksummed the same way by
-- migrate_checksum and by the source script under any caller settings, and verified against a source
-- database holding the same fixture.
--
-- the fixture has non-ASCII text and JSON \u escapes: it needs a UTF8 database
SELECT getdatabaseencoding();
\i test/fixtures/types.sql
SELECT count(*) AS rows, count(*) FILTER (WHERE type_fixture IS NULL) AS all_null_rows FROM type_fixture;
-- every column holds a NULL in some row and a value in another
ANALYZE type_fixture;
SELECT count(*) AS columns, count(*) FILTER (WHERE null_frac > 0 AND null_frac < 1) AS columns_with_nulls_and_values
FROM pg_stats WHERE schemaname = 'public' AND tablename = 'type_fixture';

--
-- Both computations agree, and the value is pinned.
--
SELECT * FROM migrate_checksum('type_fixture');
SELECT * FROM regress.run_source_script(migrate_source_checksum_sql('type_fixture'));
SELECT regress.same_as_source_script('type_fixture');
SELECT checksum AS fixture_sum FROM migrate_checksum('type_fixture') \gset
-- the columns in name order (byte order: upper case first, then lower case)
SELECT substring(migrate_source_checksum_sql('type_fixture') FROM 'ROW\(([^)]*)\)') AS canonical_columns;

--
-- The caller's settings do not change either computation.
--
SET DateStyle = 'German, DMY';
SET TimeZone = 'Asia/Kathmandu';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
SET bytea_output = 'escape';
SET lc_monetary = 'POSIX';
SET client_encoding = 'LATIN1';
SELECT at_tz, span, f8, blob FROM type_fixture WHERE id = 1;
SELECT checksum = :'fixture_sum' AS same FROM migrate_checksum('type_fixture');
SELECT checksum = :'fixture_sum' AS same FROM regress.run_source_script(migrate_source_checksum_sql('type_fixture'));
SET extra_float_digits = -15;
SET IntervalStyle = 'sql_standard';
SELECT checksum = :'fixture_sum' AS same FROM migrate_checksum('type_fixture');
SELECT checksum = :'fixture_sum' AS same FROM regress.run_source_script(migrate_source_checksum_sql('type_fixture'));
RESET DateStyle;
RESET TimeZone;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
RESET lc_monetary;
RESET client_encoding;

--
-- Physical order: rows in another order, columns declared in another order.
--
CREATE TABLE type_fixture_reordered AS
    SELECT "with space", "user", "MixedCase", "Select", doubled, addr, pct, mood, ip, uids, texts, ints, blob, pad,
           code, body, raw_json, doc, uid, span, clock_tz, clock, day, at, at_tz, flag, cash, f8, f4, huge, exact,
           big, small, id
    FROM type_fixture
    ORDER BY id DESC NULLS FIRST;
SELECT checksum = :'fixture_sum' AS same FROM migrate_checksum('type_fixture_reordered');
SELECT regress.same_as_source_script('type_fixture_reordered');
UPDATE type_fixture SET body = body WHERE id IN (1, 3);
SELECT checksum = :'fixture_sum' AS same FROM migrate_checksum('type_fixture');

--
-- Each change to a single value, row or column changes the checksum (each change is rolled back).
--
SELECT change, regress.checksum_after('type_fixture', change) <> :'fixture_sum' AS changed
FROM (VALUES
    ($$UPDATE type_fixture SET body = replace(body, 'tab', 'tAb') WHERE id = 1$$),
    ($$UPDATE type_fixture SET body = replace(body, E'\t', ' ') WHERE id = 1$$),
    ($$UPDATE type_fixture SET body = replace(body, '🚀', '🚁') WHERE id = 1$$),
    ($$UPDATE type_fixture SET exact = exact + 0.000000000000000001 WHERE id = 1$$),
    ($$UPDATE type_fixture SET huge = 1e101 WHERE id = 2$$),
    ($$UPDATE type_fixture SET f8 = 0 WHERE id = 2$$),
    ($$UPDATE type_fixture SET f4 = 0 WHERE id = 5$$),
    ($$UPDATE type_fixture SET f4 = 'NaN' WHERE id = 3$$),
    ($$UPDATE type_fixture SET at_tz = at_tz + interval '1 microsecond' WHERE id = 1$$),
    ($$UPDATE type_fixture SET at = 'infinity' WHERE id = 2$$),
    ($$UPDATE type_fixture SET span = '-1 days +02:03:04.6' WHERE id = 2$$),
    ($$UPDATE type_fixture SET doc = jsonb_set(doc, '{nested,deep,2}', '"è"') WHERE id = 1$$),
    ($$UPDATE type_fixture SET raw_json = '{"b": 1, "a": [1.0, 2e2], "dup": 1, "dup": 2}' WHERE id = 1$$),
    ($$UPDATE type_fixture SET blob = '\x00ff11' WHERE id = 1$$),
    ($$UPDATE type_fixture SET texts = '{"a b","c,d","e\"f","g\\h",NULL,NULL,""}' WHERE id = 1$$),
    ($$UPDATE type_fixture SET uids = '{}' WHERE id = 3$$),
    ($$UPDATE type_fixture SET mood = 'happy' WHERE id = 1$$),
    ($$UPDATE type_fixture SET addr = ROW('1 Main St, Apt "4"', 'São Paulo', '') WHERE id = 1$$),
    ($$UPDATE type_fixture SET addr = NULL WHERE id = 2$$),
    ($$UPDATE type_fixture SET exact = 1 WHERE id = 4$$),
    ($$UPDATE type_fixture SET "with space" = 'with  space' WHERE id = 1$$),
    ($$UPDATE type_fixture SET "user" = NULL WHERE id = 2$$),
    ($$DELETE FROM type_fixture WHERE id IS NULL$$),
    ($$INSERT INTO type_fixture (id) VALUES (NULL)$$),
    ($$INSERT INTO type_fixture (id) VALUES (6)$$),
    ($$INSERT INTO type_fixture (id, small, big, exact, huge, f4, f8, cash, flag, at_tz, at, day, clock, clock_tz, span, uid,
                              doc, raw_json, body, code, pad, blob, ints, texts, uids, ip, mood, pct, addr, "Select",
                              "user", "MixedCase", "with space")
       SELECT id, small, big, exact, huge, f4, f8, cash, flag, at_tz, at, day, clock, clock_tz, span, uid, doc, raw_json,
              body, code, pad, blob, ints, texts, uids, ip, mood, pct, addr, "Select", "user", "MixedCase", "with space"
       FROM type_fixture WHERE id = 1$$),
    ($$UPDATE type_fixture SET body = body$$)
) AS c(change);

--
-- The same fixture in a source database: migrate_verify says ok.
--
CREATE DATABASE cutover_src TEMPLATE template0;
SELECT current_database() AS target_db \gset
\c cutover_src
\i test/fixtures/types.sql
\c :target_db
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
SELECT table_name, source_rows, target_rows, source_checksum, target_checksum, ok FROM migrate_verify('type_fixture');
SELECT source_checksum = :'fixture_sum' AS pinned FROM migrate_verify('type_fixture');
-- The source's side both ways (pg_cutover.verify_source): hashed by the source's SQL, or its rows streamed by
-- COPY and hashed here, whatever the caller's settings; the same figures, pinned. auto streams from a source
-- on a Unix socket. Each verification records the way it took.
SELECT source_side FROM cutover.verification ORDER BY id DESC LIMIT 1;
SET DateStyle = 'German, DMY';
SET TimeZone = 'Asia/Kathmandu';
SET extra_float_digits = -3;
SET pg_cutover.verify_source = 'sql';
SELECT source_rows, source_checksum = :'fixture_sum' AS pinned, ok FROM migrate_verify('type_fixture');
SELECT source_side FROM cutover.verification ORDER BY id DESC LIMIT 1;
SET pg_cutover.verify_source = 'stream';
SELECT source_rows, source_checksum = :'fixture_sum' AS pinned, ok FROM migrate_verify('type_fixture');
SELECT source_side FROM cutover.verification ORDER BY id DESC LIMIT 1;
SELECT regress.error_of($$SET pg_cutover.verify_source = 'fast'$$);
RESET ALL;
-- a one-byte change on the target side is seen by the verification, both ways
BEGIN;
UPDATE type_fixture SET f8 = 0 WHERE id = 2;
SET LOCAL pg_cutover.verify_source = 'sql';
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('type_fixture');
SET LOCAL pg_cutover.verify_source = 'stream';
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('type_fixture');
ROLLBACK;
-- and a one-byte change on the source side, both ways
\c cutover_src
UPDATE type_fixture SET "MixedCase" = 'MiXed' WHERE id = 4;
\c :target_db
SET pg_cutover.verify_source = 'sql';
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('type_fixture');
SELECT source_checksum AS changed_by_sql FROM cutover.verification ORDER BY id DESC LIMIT 1 \gset
SET pg_cutover.verify_source = 'stream';
SELECT table_name, source_rows, target_rows, source_checksum = target_checksum AS same_checksum, ok FROM migrate_verify('type_fixture');
SELECT source_checksum = :'changed_by_sql' AS same_as_sql, source_side FROM cutover.verification ORDER BY id DESC LIMIT 1;
RESET pg_cutover.verify_source;

\c cutover_src
DROP TABLE type_fixture;
DROP TYPE fixture_mood, fixture_address;
DROP DOMAIN fixture_percent;
\c :target_db
DROP TABLE type_fixture, type_fixture_reordered;
DROP TYPE fixture_mood, fixture_address;
DROP DOMAIN fixture_percent;
