--
-- What cutover import calls: migrate_verify_checksum (a table against a manifest's rows and checksum, user IDs
-- mapped back), migrate_import_started and migrate_import_failed (the table's state).
--
SELECT proname, provolatile, proisstrict, proparallel, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS fixed_path
FROM pg_proc WHERE proname IN ('migrate_verify_checksum', 'migrate_import_started', 'migrate_import_failed')
ORDER BY proname;

CREATE SCHEMA ar;
-- the table as the source had it, and as the import loaded it (user IDs rewritten)
CREATE TABLE ar.src (id integer, who uuid, note text);
CREATE TABLE ar.t (id integer, who uuid, note text);
INSERT INTO ar.src VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'tab	here'), (2, NULL, NULL),
    (3, 'aaaaaaaa-0000-4000-8000-000000000002', 'x');
SELECT migrate_map_put('aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000001'),
       migrate_map_put('aaaaaaaa-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000002');
INSERT INTO ar.t SELECT id, migrate_remap(who), note FROM ar.src;
SELECT rows AS src_rows, checksum AS src_checksum FROM migrate_checksum('ar.src') \gset

SELECT migrate_import_started('ar.t');
SELECT status, rows, started_at IS NOT NULL AS started FROM cutover.table_state WHERE table_schema = 'ar' AND table_name = 't';
-- user IDs mapped back: equal to the source's checksum
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_checksum('ar.t', :src_rows, :'src_checksum', ARRAY['who']);
SELECT status, rows, last_error FROM cutover.table_state WHERE table_schema = 'ar' AND table_name = 't';
SELECT table_name, ok FROM cutover.verification WHERE table_name = 'ar.t' ORDER BY id DESC LIMIT 1;
-- a failed import after it leaves the verified state alone
SELECT migrate_import_failed('ar.t', 'archive file x, line 1, table ar.t: refused');
SELECT status FROM cutover.table_state WHERE table_schema = 'ar' AND table_name = 't';
-- without naming the user-ID column: it is mapped back by value all the same; another row count: not ok, and
-- the state says why
SELECT ok FROM migrate_verify_checksum('ar.t', :src_rows, :'src_checksum');
SELECT ok, target_rows FROM migrate_verify_checksum('ar.t', 4, :'src_checksum', ARRAY['who']);
SELECT status, last_error FROM cutover.table_state WHERE table_schema = 'ar' AND table_name = 't';
-- a refused import of a table not loaded
SELECT migrate_import_started('ar.src');
SELECT migrate_import_failed('ar.src', 'archive file y, line 2, table ar.src: refused');
SELECT status, last_error FROM cutover.table_state WHERE table_schema = 'ar' AND table_name = 'src';
-- errors
SELECT * FROM migrate_verify_checksum('ar.t', 3, :'src_checksum', ARRAY['nope']);
SELECT * FROM migrate_verify_checksum('ar.t', 3, :'src_checksum', ARRAY[NULL]);
SELECT * FROM migrate_verify_checksum('ar.t', NULL, :'src_checksum');
-- figures that are not figures are refused before anything is recorded (22023); a name is only a name
SELECT count(*) AS verifications_before FROM cutover.verification WHERE table_name = 'ar.t' \gset
SELECT * FROM migrate_verify_checksum('ar.t', 3, 'x''; DROP TABLE ar.src; --');
SELECT * FROM migrate_verify_checksum('ar.t', 3, upper(:'src_checksum'));
SELECT * FROM migrate_verify_checksum('ar.t', -1, :'src_checksum');
SELECT * FROM migrate_verify_checksum('ar.t', 3, :'src_checksum', ARRAY['who; DROP TABLE ar.src']);
SELECT count(*) = :verifications_before AS nothing_recorded, to_regclass('ar.src') IS NOT NULL AS src_kept
FROM cutover.verification WHERE table_name = 'ar.t';

DROP SCHEMA ar CASCADE;
DELETE FROM cutover.table_state WHERE table_schema = 'ar';
DELETE FROM cutover.id_map WHERE source_id::text LIKE 'aaaaaaaa-%';
