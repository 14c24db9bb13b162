--
-- The ID map (migrate_map_put, migrate_remap, migrate_unmap, migrate_map_purge) and the columns marked as
-- holding user IDs (migrate_remap_column). Source (Supabase) IDs here start with aaaaaaaa, target (Stack
-- Auth) IDs with bbbbbbbb, and their last digits pair them.
--
-- Labels: migrate_map_put is not STRICT (a NULL ID is an error, not a silent NULL); the others are.
SELECT proname, provolatile, proisstrict, proparallel, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS fixed_path
FROM pg_proc
WHERE proname IN ('migrate_map_put', 'migrate_remap', 'migrate_unmap', 'migrate_map_purge', 'migrate_remap_column')
ORDER BY proname;
SELECT count(*) AS mappings FROM cutover.id_map;

--
-- migrate_map_put: true for a new pair, false for the same pair again.
--
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', 'one@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', 'one@example.com');
-- the same pair with another email, or none, is still the same pair: the first email stays
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001', 'other@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001');
-- the email is optional; arguments by name
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000002', 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT migrate_map_put(source_id => 'aaaaaaaa-0000-0000-0000-000000000003', target_id => 'bbbbbbbb-0000-0000-0000-000000000003',
                       email => 'three@example.com');
-- other spellings of the same UUIDs are the same pair
SELECT migrate_map_put('{AAAAAAAA-0000-0000-0000-000000000003}', 'bbbbbbbb000000000000000000000003', 'three@example.com');
SELECT source_id, target_id, email, created_at > now() - interval '1 hour' AS recent FROM cutover.id_map ORDER BY source_id;

-- A conflicting pair: 23505 naming both IDs (and the one already there), and the map is unchanged.
-- the same source to another target
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000009')$$);
-- the same target from another source
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000009', 'bbbbbbbb-0000-0000-0000-000000000001')$$);
-- both taken, by different pairs: the source's pair is named
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000002')$$);
-- the message says what to do
SELECT regress.error_text($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000009')$$);
SELECT regress.error_text($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000009', 'bbbbbbbb-0000-0000-0000-000000000001')$$);
-- NULL IDs: 23502
SELECT regress.error_of($$SELECT migrate_map_put(NULL, 'bbbbbbbb-0000-0000-0000-000000000009')$$);
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000009', NULL)$$);
SELECT regress.error_of($$SELECT migrate_map_put(NULL, NULL, 'nobody@example.com')$$);
-- not a UUID: 22P02
SELECT regress.error_of($$SELECT migrate_map_put('user-9', 'bbbbbbbb-0000-0000-0000-000000000009')$$);
-- several pairs in one statement: one conflict and none of them is recorded
SELECT regress.error_of($$SELECT migrate_map_put(s, t) FROM (VALUES
    ('aaaaaaaa-0000-0000-0000-000000000008'::uuid, 'bbbbbbbb-0000-0000-0000-000000000008'::uuid),
    ('aaaaaaaa-0000-0000-0000-000000000002', 'bbbbbbbb-0000-0000-0000-000000000009')) AS p(s, t)$$);
SELECT source_id, target_id, email FROM cutover.id_map ORDER BY source_id;

--
-- migrate_remap: source ID to target ID; NULL for NULL; P0002 naming an unmapped ID.
--
SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000001');
SELECT migrate_remap('AAAAAAAA-0000-0000-0000-000000000002');
SELECT migrate_remap(NULL) IS NULL AS null_for_null;
SELECT regress.error_of($$SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000009')$$);
-- a target ID is not a source ID
SELECT regress.error_of($$SELECT migrate_remap('bbbbbbbb-0000-0000-0000-000000000001')$$);
SELECT regress.error_text($$SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000009')$$);
SELECT regress.error_of($$SELECT migrate_remap('user-9')$$);
-- over a column: one unmapped ID stops the whole statement
SELECT s, migrate_remap(s) FROM (VALUES ('aaaaaaaa-0000-0000-0000-000000000003'::uuid), (NULL), ('aaaaaaaa-0000-0000-0000-000000000001')) AS v(s);
SELECT regress.error_of($$SELECT migrate_remap(s) FROM (VALUES ('aaaaaaaa-0000-0000-0000-000000000001'::uuid), ('aaaaaaaa-0000-0000-0000-000000000009')) AS v(s)$$);

--
-- migrate_unmap: target ID back to source ID (support's lookup); P0002 for an unmapped one.
--
SELECT migrate_unmap('bbbbbbbb-0000-0000-0000-000000000001');
SELECT migrate_unmap(NULL) IS NULL AS null_for_null;
SELECT regress.error_of($$SELECT migrate_unmap('bbbbbbbb-0000-0000-0000-000000000009')$$);
-- a source ID is not a target ID
SELECT regress.error_of($$SELECT migrate_unmap('aaaaaaaa-0000-0000-0000-000000000001')$$);
-- the round trip gives every source ID back
SELECT source_id, migrate_unmap(migrate_remap(source_id)) = source_id AS round_trip FROM cutover.id_map ORDER BY source_id;

--
-- migrate_map_purge: deletes exactly the pairs created longer ago than older_than (default 90 days).
--
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000011', 'bbbbbbbb-0000-0000-0000-000000000011', 'now@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000012', 'bbbbbbbb-0000-0000-0000-000000000012', 'd89@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000013', 'bbbbbbbb-0000-0000-0000-000000000013', 'd91@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000014', 'bbbbbbbb-0000-0000-0000-000000000014', 'd400@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000015', 'bbbbbbbb-0000-0000-0000-000000000015', 'd90@example.com');
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000016', 'bbbbbbbb-0000-0000-0000-000000000016', 'd31@example.com');
UPDATE cutover.id_map SET created_at = now() WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000011';
UPDATE cutover.id_map SET created_at = now() - interval '89 days' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000012';
UPDATE cutover.id_map SET created_at = now() - interval '91 days' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000013';
UPDATE cutover.id_map SET created_at = now() - interval '400 days' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000014';
UPDATE cutover.id_map SET created_at = now() - interval '90 days' + interval '1 minute' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000015';
UPDATE cutover.id_map SET created_at = now() - interval '31 days' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000016';
SELECT count(*) AS mappings FROM cutover.id_map;
-- a negative retention: 22023, nothing deleted
SELECT regress.error_of($$SELECT migrate_map_purge('-1 day')$$);
SELECT regress.error_of($$SELECT migrate_map_purge('1 day -25 hours')$$);
SELECT regress.error_text($$SELECT migrate_map_purge('-90 days')$$);
SELECT count(*) AS mappings FROM cutover.id_map;
-- NULL: NULL, nothing deleted
SELECT migrate_map_purge(NULL) IS NULL AS null_for_null;
-- exactly at the limit is kept, a microsecond older is not (now() is fixed within a transaction)
BEGIN;
UPDATE cutover.id_map SET created_at = now() - interval '90 days' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000015';
SELECT migrate_map_purge();
UPDATE cutover.id_map SET created_at = now() - interval '90 days 0.000001 seconds' WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000015';
SELECT migrate_map_purge('90 days');
SELECT email FROM cutover.id_map WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000015';
ROLLBACK;
-- the default: the 91- and 400-day-old pairs go, the 89-day-old one, the one just inside 90 days and
-- the new ones stay
SELECT migrate_map_purge();
SELECT source_id, email FROM cutover.id_map ORDER BY source_id;
SELECT regress.error_of($$SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000013')$$);
SELECT regress.error_of($$SELECT migrate_unmap('bbbbbbbb-0000-0000-0000-000000000014')$$);
-- again: nothing more
SELECT migrate_map_purge();
-- a shorter retention: the 89-day-old pair, the one near 90 days, and the 31-day-old one
SELECT migrate_map_purge('30 days');
SELECT email FROM cutover.id_map ORDER BY source_id;
-- a purge that is rolled back deletes nothing; '0' deletes everything created before this transaction
BEGIN;
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000017', 'bbbbbbbb-0000-0000-0000-000000000017', 'this-transaction@example.com');
SELECT migrate_map_purge('0');
SELECT email FROM cutover.id_map ORDER BY source_id;
ROLLBACK;
SELECT email FROM cutover.id_map ORDER BY source_id;
-- a purged pair can be recorded again
SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000013', 'bbbbbbbb-0000-0000-0000-000000000013', 'd91@example.com');
SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000013');

--
-- migrate_remap_column: marks a column with no foreign key as holding user IDs (or, with false, as not).
--
CREATE DOMAIN regress_user_id AS uuid;
CREATE DOMAIN regress_user_ids AS uuid[];
CREATE DOMAIN regress_user_name AS text CHECK (VALUE <> '');
CREATE DOMAIN regress_strict_user_id AS regress_user_id NOT NULL;
CREATE TABLE event_logs (
    id bigint, actor uuid, actor_text text, actor_varchar varchar(36), actors uuid[], actor_names text[],
    actor_varchars varchar[], actor_domain regress_user_id, actors_domain regress_user_ids,
    actor_name_domain regress_user_name, actor_domain_domain regress_strict_user_id,
    "Actor Quoted" uuid, gone uuid, n integer, payload jsonb, ids integer[], at timestamptz, raw bytea);
ALTER TABLE event_logs DROP COLUMN gone;
CREATE VIEW event_log_view AS SELECT * FROM event_logs;
CREATE MATERIALIZED VIEW event_log_snapshot AS SELECT * FROM event_logs;
CREATE SEQUENCE event_log_seq;
CREATE TABLE partitioned_logs (id bigint, actor uuid) PARTITION BY RANGE (id);
CREATE SCHEMA "Audit Schema";
CREATE TABLE "Audit Schema"."Audit ""Log""" (actor uuid);

-- Accepted: uuid, text, varchar, their arrays, and domains over them.
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_text');
SELECT migrate_remap_column('event_logs', 'actor_varchar');
SELECT migrate_remap_column('event_logs', 'actors');
SELECT migrate_remap_column('event_logs', 'actor_names');
SELECT migrate_remap_column('event_logs', 'actor_varchars');
SELECT migrate_remap_column('event_logs', 'actor_domain');
SELECT migrate_remap_column('event_logs', 'actors_domain');
SELECT migrate_remap_column('event_logs', 'actor_name_domain');
SELECT migrate_remap_column('event_logs', 'actor_domain_domain');
SELECT migrate_remap_column('event_logs', 'Actor Quoted');
SELECT migrate_remap_column('public.partitioned_logs', 'actor');
SELECT migrate_remap_column('"Audit Schema"."Audit ""Log"""', 'actor');
SELECT table_schema, table_name, column_name, mode FROM cutover.remap_column
ORDER BY table_schema COLLATE "C", table_name COLLATE "C", column_name COLLATE "C";

-- Not a table: 42809 (a view, a materialized view, a sequence, an index); no such table: regclass's 42P01.
SELECT regress.error_of($$SELECT migrate_remap_column('event_log_view', 'actor')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_log_snapshot', 'actor')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_log_seq', 'last_value')$$);
CREATE INDEX event_logs_actor ON event_logs (actor);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs_actor', 'actor')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('no_such_table', 'actor')$$);
-- No such column: 42703, also for another case, a dropped column and a system column.
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'no_such_column')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'Actor')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'actor quoted')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', '"Actor Quoted"')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'gone')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'ctid')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', '')$$);
-- A type that cannot hold user IDs: 42804 naming the type.
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'n')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'payload')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'ids')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'at')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'raw', false)$$);
SELECT regress.error_text($$SELECT migrate_remap_column('event_logs', 'payload')$$);
-- NULL arguments: NULL, nothing recorded.
SELECT migrate_remap_column(NULL, 'actor') IS NULL AS null_table,
       migrate_remap_column('event_logs', NULL) IS NULL AS null_column,
       migrate_remap_column('event_logs', 'actor', NULL) IS NULL AS null_remap;
-- None of the errors recorded anything.
SELECT count(*) AS marked FROM cutover.remap_column;

-- Marking again with false updates the row (and its time); with true again, back.
SELECT changed_at AS first_changed_at FROM cutover.remap_column WHERE table_name = 'event_logs' AND column_name = 'actor' \gset
SELECT migrate_remap_column('event_logs', 'actor', false);
SELECT migrate_remap_column('event_logs', 'actor', remap => false);
SELECT table_name, column_name, mode, changed_at > :'first_changed_at' AS changed FROM cutover.remap_column
WHERE table_name = 'event_logs' AND column_name = 'actor';
SELECT migrate_remap_column('event_logs', 'actor', true);
SELECT table_name, column_name, mode FROM cutover.remap_column WHERE column_name = 'actor' ORDER BY table_name COLLATE "C";
-- a column never marked can be marked false (a foreign key says user ID, but it is not one)
SELECT migrate_remap_column('event_logs', 'actor_text', false);
SELECT count(*) AS marked, count(*) FILTER (WHERE mode = 'off') AS kept_out FROM cutover.remap_column;
-- marks in a transaction that is rolled back are gone
BEGIN;
SELECT migrate_remap_column('event_logs', 'actors', false);
ROLLBACK;
SELECT mode FROM cutover.remap_column WHERE table_name = 'event_logs' AND column_name = 'actors';

-- The modes by name: embedded (also IDs inside longer text: strings, json, jsonb, types printed as text), off
-- (kept out, any type), user_ids, and value, which takes the mark away (every column is remapped by value).
SELECT migrate_remap_column('event_logs', 'actor_names', 'embedded');
SELECT migrate_remap_column('event_logs', 'payload', 'embedded');
SELECT migrate_remap_column('event_logs', 'raw', 'off');
SELECT migrate_remap_column('event_logs', 'actor_text', 'user_ids');
SELECT table_name, column_name, mode FROM cutover.remap_column
WHERE column_name IN ('actor_names', 'payload', 'raw', 'actor_text') ORDER BY column_name;
SELECT migrate_remap_column('event_logs', 'payload', 'value');
SELECT count(*) AS payload_marks FROM cutover.remap_column WHERE column_name = 'payload';
-- a mode that does not exist (22023, the modes in the hint); embedded in a type that holds no text (42804)
SELECT regress.error_text($$SELECT migrate_remap_column('event_logs', 'actor', 'strict')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'actor', '')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'n', 'embedded')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'raw', 'embedded')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'ids', 'user_ids')$$);
SELECT migrate_remap_column('event_logs', 'raw', 'value');
-- a table already loaded keeps what the pull wrote: a NOTICE says so and names migrate_reset
INSERT INTO cutover.table_state (table_schema, table_name, status) VALUES ('public', 'event_logs', 'loaded');
SELECT migrate_remap_column('event_logs', 'actor_names', 'off');
DELETE FROM cutover.table_state WHERE table_name = 'event_logs';
SELECT migrate_remap_column('event_logs', 'actor_names', true);
SELECT migrate_remap_column('event_logs', 'actor_text', false);

--
-- Only the extension's owner reads or changes the map and the marks: another role gets 42501 from every
-- function, and from the tables (no USAGE on schema cutover).
--
CREATE ROLE regress_cutover_idmap;
GRANT SELECT ON event_logs TO regress_cutover_idmap;
SELECT count(*) AS mappings_before FROM cutover.id_map \gset
SET ROLE regress_cutover_idmap;
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000021', 'bbbbbbbb-0000-0000-0000-000000000021')$$);
SELECT regress.error_of($$SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000001')$$);
SELECT regress.error_of($$SELECT migrate_unmap('bbbbbbbb-0000-0000-0000-000000000001')$$);
SELECT regress.error_of($$SELECT migrate_map_purge()$$);
SELECT regress.error_of($$SELECT migrate_map_purge('0')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'actor', false)$$);
SELECT regress.error_of($$SELECT * FROM cutover.id_map$$);
SELECT regress.error_of($$SELECT * FROM cutover.remap_column$$);
SELECT regress.error_of($$INSERT INTO cutover.id_map (source_id, target_id) VALUES ('aaaaaaaa-0000-0000-0000-000000000021', 'bbbbbbbb-0000-0000-0000-000000000021')$$);
SELECT regress.error_of($$UPDATE cutover.id_map SET target_id = 'bbbbbbbb-0000-0000-0000-000000000021'$$);
SELECT regress.error_of($$DELETE FROM cutover.id_map$$);
SELECT regress.error_of($$TRUNCATE cutover.id_map$$);
RESET ROLE;
-- EXECUTE alone does not open the map: the functions run as their caller, who still has no rights on it
GRANT EXECUTE ON FUNCTION migrate_remap(uuid), migrate_map_put(uuid, uuid, text) TO regress_cutover_idmap;
SET ROLE regress_cutover_idmap;
SELECT regress.error_of($$SELECT migrate_remap('aaaaaaaa-0000-0000-0000-000000000001')$$);
SELECT regress.error_of($$SELECT migrate_map_put('aaaaaaaa-0000-0000-0000-000000000021', 'bbbbbbbb-0000-0000-0000-000000000021')$$);
RESET ROLE;
SELECT count(*) = :mappings_before AS map_unchanged,
       NOT EXISTS (SELECT FROM cutover.id_map WHERE source_id = 'aaaaaaaa-0000-0000-0000-000000000021') AS not_added
FROM cutover.id_map;
SELECT table_name, column_name, mode FROM cutover.remap_column WHERE column_name = 'actor' ORDER BY table_name COLLATE "C";

DROP OWNED BY regress_cutover_idmap;
DROP ROLE regress_cutover_idmap;
DROP VIEW event_log_view;
DROP MATERIALIZED VIEW event_log_snapshot;
DROP SEQUENCE event_log_seq;
DROP TABLE event_logs, partitioned_logs, "Audit Schema"."Audit ""Log""";
DROP SCHEMA "Audit Schema";
DROP DOMAIN regress_strict_user_id, regress_user_id, regress_user_ids, regress_user_name;
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
