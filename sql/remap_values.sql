--
-- User IDs found by value, wherever they are: every kind of column without a mark, pulled in both COPY formats
-- (binary: only built-in types; text: pg_cutover.pull_format = 'text', and always for a type of the database),
-- verified, diffed and audited; the plan's evidence; the errors; a Supabase ID left behind, in each kind.
-- The source is database cutover_values_src. Users A, B and C are mapped; D is a Supabase user without a
-- Stack Auth user; 'eeee…' is a device's UUID, no user's.
--
SELECT current_database() AS target_db \gset
CREATE DATABASE cutover_values_src TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
\c cutover_values_src
SET client_min_messages = warning;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY);
INSERT INTO auth.users VALUES ('aaaaaaaa-1111-4111-8111-111111111111'), ('bbbbbbbb-2222-4222-8222-222222222222'),
    ('cccccccc-3333-4333-8333-333333333333'), ('dddddddd-4444-4444-8444-444444444444');
\set ECHO none
\i test/fixtures/remap_values.sql
\set ECHO all
INSERT INTO vals VALUES
 (1, 'aaaaaaaa-1111-4111-8111-111111111111', 'BBBBBBBB-2222-4222-8222-222222222222', 'aaaaaaaa111141118111111111111111',
  '{cccccccc-3333-4333-8333-333333333333}', '{AAAAAAAA111141118111111111111111}',
  '{aaaaaaaa-1111-4111-8111-111111111111,NULL,bbbbbbbb-2222-4222-8222-222222222222}',
  '[0:1][5:6]={{aaaaaaaa-1111-4111-8111-111111111111,"a b"},{"x\"y",CCCCCCCC-3333-4333-8333-333333333333}}',
  '{bbbbbbbb-2222-4222-8222-222222222222}',
  '{"by": "aaaaaaaa-1111-4111-8111-111111111111", "to": ["bbbbbbbb-2222-4222-8222-222222222222", {"deep": ["CCCCCCCC-3333-4333-8333-333333333333"]}], "cccccccc-3333-4333-8333-333333333333": {"role": "admin"}, "aaaaaaaa-1111-4111-8111-111111111111": 1, "3zzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz": 3, "note": "say \"hi\"\n", "n": 1.50, "ok": true, "none": null}',
  E'{ "assignee" :   "bbbbbbbb-2222-4222-8222-222222222222",\n\t"list":["{AAAAAAAA-1111-4111-8111-111111111111}"] , "z": 1, "a": "\\u00e9" }',
  ARRAY['{"who": "aaaaaaaa-1111-4111-8111-111111111111", "bbbbbbbb-2222-4222-8222-222222222222": 1, "3zzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz": 2}', '["bbbbbbbb-2222-4222-8222-222222222222"]']::jsonb[],
  'eeeeeeee-5555-4555-8555-555555555555', 'https://cdn.example/avatars/aaaaaaaa-1111-4111-8111-111111111111/a.png',
  'user:bbbbbbbb-2222-4222-8222-222222222222', 'cccccccc-3333-4333-8333-333333333333'),
 (2, NULL, 'system', 'eeeeeeee-5555-4555-8555-555555555555', 'short', NULL, '{}', '{}', NULL, '{}', '[]', '{}',
  'eeeeeeee-5555-4555-8555-555555555556', NULL, NULL, NULL),
 (3, 'bbbbbbbb-2222-4222-8222-222222222222', '', 'x', NULL, 'y', NULL, NULL, '{}', '"cccccccc-3333-4333-8333-333333333333"',
  'null', NULL, 'eeeeeeee-5555-4555-8555-555555555557', 'no id here', 'user:', '');
-- a type of the database (pair): never binary; its IDs only embedded, rewritten once opted in
INSERT INTO vals_pair VALUES (1, ROW('owner', 'aaaaaaaa-1111-4111-8111-111111111111')), (2, ROW('none', NULL));
-- the errors: one table per refusal
INSERT INTO bad_unmapped VALUES (1, '{"a": "aaaaaaaa-1111-4111-8111-111111111111"}'), (2, '{"x": [{"by": "dddddddd-4444-4444-8444-444444444444"}]}');
INSERT INTO bad_mixed VALUES (1, '{"by": "aaaaaaaa-1111-4111-8111-11111111111A"}'), (2, '{"by": "Bbbbbbbb-2222-4222-8222-222222222222"}');
INSERT INTO bad_escaped VALUES (1, '{"by": "\u0061aaaaaaa-1111-4111-8111-111111111111"}');
INSERT INTO bad_hyphens VALUES (1, 'aaaa-aaaa-1111-4111-8111-111111111111');
\c :target_db
SET client_min_messages = warning;
\set ECHO none
\i test/fixtures/remap_values.sql
\set ECHO all
RESET client_min_messages;
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_values_src')));
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
SELECT migrate_map_put('aaaaaaaa-1111-4111-8111-111111111111', '1aaaaaaa-0000-4000-8000-00000000000a'),
       migrate_map_put('bbbbbbbb-2222-4222-8222-222222222222', '2bbbbbbb-0000-4000-8000-00000000000b'),
       migrate_map_put('cccccccc-3333-4333-8333-333333333333', '3ccccccc-0000-4000-8000-00000000000c');
SELECT migrate_remap_column('vals', 'kept', false);

-- The plan, from a sample of the source: where the user IDs are, and the places that only embed them.
SELECT unnest(user_id_values) AS found FROM migrate_plan() WHERE table_name = 'public.vals';
SELECT cardinality(user_id_values) AS found FROM migrate_plan('{public}', 0) WHERE table_name = 'public.vals';
SELECT regress.error_of($$SELECT * FROM migrate_plan('{public}', -1)$$);

-- Binary first (every column has a built-in type), then text: the same rows.
SELECT table_name, status, rows FROM migrate_pull('vals');
\x
SELECT * FROM vals ORDER BY id;
\x
SELECT md5(string_agg(v::text, E'\n' ORDER BY id)) AS binary_rows FROM vals AS v \gset
SELECT count(*) FROM migrate_reset('vals');
SET pg_cutover.pull_format = 'text';
SELECT table_name, status, rows FROM migrate_pull('vals');
RESET pg_cutover.pull_format;
SELECT md5(string_agg(v::text, E'\n' ORDER BY id)) = :'binary_rows' AS text_same_as_binary FROM vals AS v;
-- json kept exactly, whitespace, key order and escapes included; jsonb keys sorted by the target: the Stack
-- Auth IDs sort before 3zzz… where the Supabase IDs sorted after it, and the verification sorts them back
SELECT js::text FROM vals WHERE id = 1;
SELECT jsonb_object_keys(j) FROM vals WHERE id = 1;
SELECT jsonb_object_keys(ja[1]) FROM vals WHERE id = 1;

-- Verified by value: the checksums equal, nothing left, no row differs.
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('vals');
-- the source's side hashed by the source's SQL and streamed here: the same figures for a mapped table
SELECT source_checksum AS auto_checksum FROM cutover.verification ORDER BY id DESC LIMIT 1 \gset
SET pg_cutover.verify_source = 'sql';
SELECT table_name, source_rows, target_rows, ok, source_checksum = :'auto_checksum' AS same FROM migrate_verify('vals');
SET pg_cutover.verify_source = 'stream';
SELECT table_name, source_rows, target_rows, ok, source_checksum = :'auto_checksum' AS same FROM migrate_verify('vals');
RESET pg_cutover.verify_source;
SELECT array_agg(DISTINCT source_side ORDER BY source_side) AS ways FROM cutover.verification WHERE table_name = 'public.vals';
SELECT * FROM migrate_diff('vals');
SELECT table_name, column_name, json_path, kind, ids, example_key, example_id, remap FROM migrate_audit_ids();
-- the archive's verification, from the same figures, maps back the same way
SELECT source_rows AS src_rows, source_checksum AS src_checksum
FROM cutover.verification WHERE table_name = 'public.vals' ORDER BY id DESC LIMIT 1 \gset
SELECT ok FROM migrate_verify_checksum('vals', :src_rows, :'src_checksum');

-- A type of the database: pulled in text; its IDs embedded, rewritten once the column opts in.
SELECT table_name, status, rows FROM migrate_pull('vals_pair');
SELECT p FROM vals_pair ORDER BY id;
SELECT migrate_remap_column('vals_pair', 'p', 'embedded');
SELECT count(*) FROM migrate_reset('vals_pair');
SELECT table_name, status, rows FROM migrate_pull('vals_pair');
SELECT p FROM vals_pair ORDER BY id;
SELECT table_name, ok FROM migrate_verify('vals_pair');
-- Guard rails: a column whose values sampled on the source hold no user ID is not marked as holding them
-- (the devices' UUIDs, for user_ids or embedded), unless forced; a column that holds some is.
SELECT regress.error_of($$SELECT migrate_remap_column('vals', 'device', true)$$, true);
SELECT regress.error_of($$SELECT migrate_remap_column('vals', 'device', 'embedded')$$);
SELECT count(*) AS marks FROM cutover.remap_column WHERE table_name = 'vals' AND column_name = 'device';
SELECT migrate_remap_column('vals', 'device', 'user_ids', force => true);
SELECT migrate_remap_column('vals', 'device', 'value');
SELECT migrate_remap_column('vals', 't', true);
SELECT migrate_remap_column('vals', 't', 'value');
-- the same in text and json: url opted in, tag kept as it is
SELECT migrate_remap_column('vals', 'url', 'embedded');
SELECT migrate_remap_column('vals', 'tag', false);
SELECT count(*) FROM migrate_reset('vals');
SELECT table_name, status, rows FROM migrate_pull('vals');
SELECT url, tag FROM vals ORDER BY id;
SELECT table_name, ok FROM migrate_verify('vals');
SELECT column_name, kind, ids, remap FROM migrate_audit_ids() ORDER BY 1;

--
-- A Supabase ID put back, one kind at a time (each rolled back): the table is not ok, the state names the
-- column (and the path inside json), the audit finds it, migrate_diff names the row and the column.
--
BEGIN;
UPDATE vals SET u = 'aaaaaaaa-1111-4111-8111-111111111111' WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT last_error FROM migrate_status() WHERE table_name = 'public.vals';
SELECT * FROM migrate_diff('vals');
ROLLBACK;
BEGIN;
UPDATE vals SET v = 'AAAAAAAA111141118111111111111111' WHERE id = 3;
SELECT ok FROM migrate_verify('vals');
SELECT column_name, kind, ids, example_key FROM migrate_audit_ids() WHERE column_name = 'v';
ROLLBACK;
BEGIN;
UPDATE vals SET ta[1][5] = 'aaaaaaaa-1111-4111-8111-111111111111' WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT last_error FROM migrate_status() WHERE table_name = 'public.vals';
ROLLBACK;
BEGIN;
UPDATE vals SET j = jsonb_set(j, '{to,1,deep,0}', '"cccccccc-3333-4333-8333-333333333333"') WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT last_error FROM migrate_status() WHERE table_name = 'public.vals';
SELECT json_path, kind, ids, example_key FROM migrate_audit_ids() WHERE column_name = 'j';
SELECT * FROM migrate_diff('vals');
ROLLBACK;
BEGIN;
-- as an object key
UPDATE vals SET j = j || '{"bbbbbbbb-2222-4222-8222-222222222222": 2}' WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT json_path, kind, ids FROM migrate_audit_ids() WHERE column_name = 'j';
ROLLBACK;
BEGIN;
UPDATE vals SET js = regexp_replace(js::text, '1AAAAAAA-0000-4000-8000-00000000000A', 'AAAAAAAA-1111-4111-8111-111111111111')::json WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT json_path, kind, ids, example_id FROM migrate_audit_ids() WHERE column_name = 'js';
ROLLBACK;
BEGIN;
UPDATE vals SET ja[2] = '["cccccccc-3333-4333-8333-333333333333"]' WHERE id = 1;
SELECT ok FROM migrate_verify('vals');
SELECT column_name, json_path, kind, ids FROM migrate_audit_ids() WHERE column_name = 'ja';
ROLLBACK;
-- all rolled back: ok again
SELECT table_name, ok FROM migrate_verify('vals');

--
-- Refused, nothing loaded, in both formats: a Supabase user without a Stack Auth user (P0002, the path and the
-- row named), mixed letter case, an escape, hyphens in other places (22P02).
--
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_unmapped')$$, true);
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_mixed')$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_escaped')$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_hyphens')$$);
SET pg_cutover.pull_format = 'text';
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_unmapped')$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull('bad_mixed')$$);
RESET pg_cutover.pull_format;
SELECT (SELECT count(*) FROM bad_unmapped) + (SELECT count(*) FROM bad_mixed) + (SELECT count(*) FROM bad_escaped)
       + (SELECT count(*) FROM bad_hyphens) AS rows_loaded;
-- kept out, the same table loads as it is
SELECT migrate_remap_column('bad_unmapped', 'j', false);
SELECT table_name, status, rows FROM migrate_pull('bad_unmapped');
SELECT table_name, column_name, json_path, kind, ids, remap FROM migrate_audit_ids() WHERE table_name = 'public.bad_unmapped';

-- Two places in one value of a table with a key: the second is counted too after the first named its row.
CREATE TABLE audit_two (id integer PRIMARY KEY, j jsonb);
INSERT INTO audit_two VALUES (7, '{"a": "aaaaaaaa-1111-4111-8111-111111111111", "b": ["bbbbbbbb-2222-4222-8222-222222222222"]}'),
    (8, '{"a": "aaaaaaaa-1111-4111-8111-111111111111", "b": ["BBBBBBBB-2222-4222-8222-222222222222", "cccccccc-3333-4333-8333-333333333333"]}');
SELECT json_path, kind, ids, example_key, example_id FROM migrate_audit_ids() WHERE table_name = 'public.audit_two';
DROP TABLE audit_two;
-- migrate_audit_ids: schemas that do not exist (3F000), NULL (22004); nothing in the map, nothing found.
SELECT regress.error_of($$SELECT * FROM migrate_audit_ids('{nope}')$$);
SELECT regress.error_of($$SELECT * FROM migrate_audit_ids('{NULL}')$$);
-- the aggregates and functions that read rows back work only inside pg_cutover's own calls (55000)
SELECT regress.error_of($$SELECT cutover.migrate_unmapped_checksum_agg(v.*) FROM vals AS v$$);
SELECT regress.error_of($$SELECT cutover.migrate_unmapped_row(v.*) FROM vals AS v$$);
SELECT regress.error_of($$SELECT cutover.migrate_audit_agg(v.ctid, v.*) FROM vals AS v$$);

DROP TABLE vals, vals_pair, bad_unmapped, bad_mixed, bad_escaped, bad_hyphens;
DROP TYPE pair;
DROP DOMAIN user_ref, user_refs;
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
DELETE FROM cutover.table_state;
DROP DATABASE cutover_values_src WITH (FORCE);
