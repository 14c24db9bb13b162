--
-- migrate_plan, migrate_preflight and mapping-aware migrate_verify on the Supabase-shaped fixture: the source
-- is database cutover_supabase (test/fixtures/supabase.sql), the target this database
-- (test/fixtures/supabase_target.sql). Runs last: at the end the source is cutover_src again.
--
SELECT current_database() AS target_db \gset
-- Earlier files left no table in public, no mapping and no mark; the states of their (dropped) tables go.
SELECT count(*) AS public_tables FROM pg_tables WHERE schemaname = 'public';
SELECT count(*) AS mappings FROM cutover.id_map;
SELECT count(*) AS marks FROM cutover.remap_column;
DELETE FROM cutover.table_state;

CREATE DATABASE cutover_supabase TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
\c cutover_supabase
-- (the fixtures' statements and command tags are not echoed; an error would be)
\set ECHO none
\o /dev/null
\i test/fixtures/supabase.sql
\o
\set ECHO all
SELECT count(*) AS users FROM auth.users;
\c :target_db
\set ECHO none
\o /dev/null
\i test/fixtures/supabase_target.sql
\o
\set ECHO all
-- (a new session: without the fixture's settings)
\c :target_db
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_supabase')));

--
-- migrate_plan: levels from the foreign keys (the cycle organizations/profiles shares level 0, areas refers
-- to itself), user-ID columns with their foreign keys to auth.users or through profiles.id, row estimates.
--
SELECT table_name, level, row_estimate, user_id_columns, cycle, problem FROM migrate_plan();
SELECT table_name, load FROM migrate_plan() WHERE cardinality(cycle) > 0;
-- every planned table has a state now, pending
SELECT table_name, status FROM migrate_status();
-- public and auth: auth.users.id holds the user IDs, auth.identities.user_id refers to it
SELECT table_name, level, user_id_columns, cycle FROM migrate_plan('{auth,public}') WHERE level <= 1;
-- Bad inputs: a NULL schema name (22004); a schema the source does not have (3F000); no schema: no rows.
SELECT regress.error_of($$SELECT * FROM migrate_plan(ARRAY['public', NULL])$$);
SELECT regress.error_of($$SELECT count(*) FROM migrate_plan('{no_such_schema}')$$);
SELECT count(*) FROM migrate_plan('{}');
SELECT count(*) FROM migrate_plan(NULL);

--
-- Marks (on the target): columns without foreign keys join; legacy_sessions.user_ref follows the marked
-- legacy_accounts.user_ref; profiles.id marked false takes out the columns reached only through it.
--
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT table_name, user_id_columns FROM migrate_plan() WHERE table_name IN ('public.event_logs', 'public.members', 'public.legacy_sessions');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');
SELECT table_name, user_id_columns FROM migrate_plan() WHERE table_name LIKE 'public.legacy%';
BEGIN;
SELECT migrate_remap_column('profiles', 'id', false);
SELECT table_name, user_id_columns FROM migrate_plan() WHERE cardinality(user_id_columns) > 0;
ROLLBACK;
-- a column marked on the target that the source does not have: a problem
BEGIN;
ALTER TABLE event_logs ADD COLUMN reviewer uuid;
SELECT migrate_remap_column('event_logs', 'reviewer');
SELECT table_name, user_id_columns, problem FROM migrate_plan() WHERE problem IS NOT NULL;
ROLLBACK;
-- Bad marks beside the good ones: a type that cannot hold user IDs (42804), no such column (42703), no such
-- table (42P01), not a table (42809). Nothing recorded.
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'payload')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('members', 'org_id')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs', 'actors')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_log', 'actor')$$);
SELECT regress.error_of($$SELECT migrate_remap_column('event_logs_pkey', 'actor')$$);
SELECT table_name, column_name, mode FROM cutover.remap_column ORDER BY table_name, column_name;

--
-- migrate_preflight: nothing on matching schemas; then one difference at a time, each rolled back.
--
SELECT * FROM migrate_preflight();
BEGIN;
DROP TABLE legacy_sessions;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
CREATE TABLE public.audit_extra (id integer);
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE profiles DROP COLUMN website;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE sites ADD COLUMN region text NOT NULL;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE sites ADD COLUMN region text;
SELECT * FROM migrate_preflight();
ROLLBACK;
-- (with a default, or an identity, rows of the source load: a warning)
BEGIN;
ALTER TABLE sites ADD COLUMN region text NOT NULL DEFAULT 'eu';
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE legacy_accounts ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
SELECT * FROM migrate_preflight();
ROLLBACK;
-- (units.serial cannot change its type: the generated column serial_key uses it)
BEGIN;
SELECT regress.error_of($$ALTER TABLE units ALTER COLUMN serial TYPE varchar(20)$$);
ALTER TABLE units ALTER COLUMN name TYPE varchar(20);
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE profiles ALTER COLUMN username SET NOT NULL;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE alerts ALTER COLUMN message DROP NOT NULL;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE units ALTER COLUMN serial_key DROP EXPRESSION;
SELECT * FROM migrate_preflight();
ROLLBACK;
BEGIN;
ALTER TABLE profiles DROP COLUMN website;
ALTER TABLE profiles ADD COLUMN website text GENERATED ALWAYS AS ('https://example.com/' || username) STORED;
SELECT * FROM migrate_preflight();
ROLLBACK;
-- bad inputs: a NULL schema name (22004); a schema the source does not have (3F000)
SELECT regress.error_of($$SELECT * FROM migrate_preflight(ARRAY[NULL])$$);
SELECT regress.error_of($$SELECT count(*) FROM migrate_preflight('{no_such_schema}')$$);

--
-- Mapping-aware verification. No migrate_pull yet: the rows come through postgres_fdw from the source
-- (foreign keys unchecked), every user is mapped to md5('stack-' || id), every user-ID column is rewritten.
--
CREATE SCHEMA supabase_staging;
IMPORT FOREIGN SCHEMA public FROM SERVER cutover_source INTO supabase_staging;
IMPORT FOREIGN SCHEMA auth LIMIT TO (users) FROM SERVER cutover_source INTO supabase_staging;
SET session_replication_role = replica;
DO $$
DECLARE
    tbl record;
    columns text;
BEGIN
    FOR tbl IN SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO columns
        FROM pg_attribute a WHERE a.attrelid = tbl.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        EXECUTE format('INSERT INTO public.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM supabase_staging.%I',
                       tbl.relname, columns, columns, tbl.relname);
    END LOOP;
END
$$;
SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) AS mapped
FROM (SELECT id, email FROM supabase_staging.users ORDER BY id) AS u;
-- the user IDs rewritten as the pull would (test/fixtures/supabase_remap.sql)
\set ECHO none
\i test/fixtures/supabase_remap.sql
\set ECHO all
SELECT id, actor, actor_ids FROM event_logs WHERE id IN (34, 35, 36, 37) ORDER BY id;
SELECT id, member_ids FROM members WHERE id IN (2, 7, 8) ORDER BY id;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_all();
SELECT table_name, status, rows, last_error FROM migrate_status();

-- One wrong mapping per kind of column, in a transaction rolled back: that table is not ok.
BEGIN;
UPDATE user_roles SET user_id = (SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-57')::uuid)
WHERE id = 1;
UPDATE sites SET created_by = (SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-57')::uuid)
WHERE id = 1;
UPDATE event_logs SET actor = upper((SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-3')::uuid)::text)
WHERE id = 35;
UPDATE members SET member_ids[1] = (SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-57')::uuid)
WHERE id = 1;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_all();
ROLLBACK;
BEGIN;
UPDATE event_logs SET actor_ids[1] = (SELECT target_id FROM cutover.id_map WHERE source_id = md5('user-57')::uuid)::text
WHERE id = 34;
SELECT table_name, ok FROM migrate_verify('event_logs');
ROLLBACK;
BEGIN;
UPDATE event_logs SET actor = lower(actor) WHERE id = 35;
SELECT table_name, ok FROM migrate_verify('event_logs');
ROLLBACK;
-- a value that is not in the map
BEGIN;
UPDATE devices SET installed_by = '00000000-0000-4000-8000-0000000c0ffe' WHERE id = 1;
SELECT table_name, ok FROM migrate_verify('devices');
ROLLBACK;
-- a column kept out: its Stack Auth IDs are hashed as they are
BEGIN;
SELECT migrate_remap_column('members', 'member_ids', false);
SELECT table_name, ok FROM migrate_verify('members');
ROLLBACK;
-- profiles.id kept out: the columns its foreign keys reach are no user-ID columns any more, and are still
-- mapped back by value, so only profiles differs
BEGIN;
SELECT migrate_remap_column('profiles', 'id', false);
SELECT table_name, ok FROM migrate_verify_all() WHERE NOT ok;
ROLLBACK;
-- a Supabase ID left inside json: the table is not ok, and its state names the column and the path
BEGIN;
UPDATE sites SET settings = jsonb_set(settings, '{notify,0}', to_jsonb(md5('user-1')::uuid::text)) WHERE id = 1;
SELECT table_name, ok FROM migrate_verify('sites');
SELECT last_error FROM migrate_status() WHERE table_name = 'public.sites';
SELECT json_path, kind, ids, example_key, example_id, remap FROM migrate_audit_ids() WHERE table_name = 'public.sites';
ROLLBACK;
-- all rolled back: ok again
SELECT table_name, ok FROM migrate_verify_all() WHERE NOT ok;

--
-- User-ID columns of domain types: a domain over a domain over uuid with a foreign key to auth.users, an array
-- of a domain over uuid marked by hand (migrate_remap_column accepts both: their base type is uuid). Beside
-- them a column that a foreign key makes a user-ID column in character(36), which is remapped as text is
-- (the blanks that pad it kept): no problem.
--
\c cutover_supabase
CREATE SCHEMA extra;
CREATE DOMAIN extra.user_id AS uuid;
CREATE DOMAIN extra.strict_user_id AS extra.user_id NOT NULL;
CREATE TABLE extra.audit_by (id integer PRIMARY KEY, by_user extra.strict_user_id REFERENCES auth.users (id));
CREATE TABLE extra.audit_reviewers (id integer PRIMARY KEY, reviewers extra.user_id[]);
CREATE TABLE extra.audit_legacy (id integer PRIMARY KEY, legacy_ref character(36) REFERENCES public.legacy_accounts (user_ref));
INSERT INTO extra.audit_by VALUES (1, md5('user-1')::uuid), (2, md5('user-5')::uuid);
INSERT INTO extra.audit_reviewers VALUES (1, ARRAY[md5('user-2')::uuid, md5('user-3')::uuid]::extra.user_id[]), (2, '{}'), (3, NULL);
\c :target_db
CREATE SCHEMA extra;
CREATE DOMAIN extra.user_id AS uuid;
CREATE DOMAIN extra.strict_user_id AS extra.user_id NOT NULL;
CREATE TABLE extra.audit_by (id integer PRIMARY KEY, by_user extra.strict_user_id);
CREATE TABLE extra.audit_reviewers (id integer PRIMARY KEY, reviewers extra.user_id[]);
CREATE TABLE extra.audit_legacy (id integer PRIMARY KEY, legacy_ref character(36));
SELECT migrate_remap_column('extra.audit_reviewers', 'reviewers');
SELECT table_name, user_id_columns, problem FROM migrate_plan('{extra}');
-- remapped: both verify ok
INSERT INTO extra.audit_by VALUES (1, migrate_remap(md5('user-1')::uuid)), (2, migrate_remap(md5('user-5')::uuid));
INSERT INTO extra.audit_reviewers VALUES
    (1, ARRAY[migrate_remap(md5('user-2')::uuid), migrate_remap(md5('user-3')::uuid)]::extra.user_id[]), (2, '{}'), (3, NULL);
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('extra.audit_by');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('extra.audit_reviewers');
-- and one wrong mapping is seen
BEGIN;
UPDATE extra.audit_by SET by_user = migrate_remap(md5('user-57')::uuid) WHERE id = 1;
UPDATE extra.audit_reviewers SET reviewers[2] = migrate_remap(md5('user-57')::uuid) WHERE id = 1;
SELECT table_name, ok FROM migrate_verify_all('{extra}');
ROLLBACK;

--
-- Clean up: the source is cutover_src again.
--
SET session_replication_role = origin;
SET client_min_messages = warning;
DROP SCHEMA supabase_staging CASCADE;
DROP SCHEMA extra CASCADE;
DROP TABLE organizations, profiles, user_roles, sites, areas, units, devices, sensor_readings, alerts, event_logs,
    members, legacy_accounts, legacy_sessions CASCADE;
DELETE FROM cutover.table_state;
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
RESET client_min_messages;
DROP DATABASE cutover_supabase;
