--
-- migrate_pull on the Supabase-shaped fixture: the source is database cutover_pull_src
-- (test/fixtures/supabase.sql), the target this database (test/fixtures/supabase_target.sql). Every user is
-- mapped to md5('stack-' || id). Runs after plan.sql: at the end the source is cutover_src again.
--
SELECT current_database() AS target_db \gset
SELECT count(*) AS public_tables FROM pg_tables WHERE schemaname = 'public';
SELECT count(*) AS mappings FROM cutover.id_map;
SELECT count(*) AS states FROM cutover.table_state;

CREATE DATABASE cutover_pull_src TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
\c cutover_pull_src
\set ECHO none
\o /dev/null
\i test/fixtures/supabase.sql
\o
\set ECHO all
\c :target_db
\set ECHO none
\o /dev/null
\i test/fixtures/supabase_target.sql
\o
\set ECHO all
\c :target_db
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_pull_src')));

-- The source, read through postgres_fdw, to compare with (not used by the pull).
CREATE SCHEMA pull_source;
IMPORT FOREIGN SCHEMA public FROM SERVER cutover_source INTO pull_source;
IMPORT FOREIGN SCHEMA auth LIMIT TO (users) FROM SERVER cutover_source INTO pull_source;

-- Every user mapped; the columns without foreign keys marked.
SELECT count(*) FILTER (WHERE migrate_map_put(id, md5('stack-' || id)::uuid, email)) AS mapped
FROM (SELECT id, email FROM pull_source.users ORDER BY id) AS u;
SELECT migrate_remap_column('event_logs', 'actor');
SELECT migrate_remap_column('event_logs', 'actor_ids');
SELECT migrate_remap_column('members', 'member_ids');
SELECT migrate_remap_column('legacy_accounts', 'user_ref');

--
-- Bad inputs before anything is loaded: NULL (22004), no such table (42P01), not a table (42809), a table
-- missing on the source (42P01).
--
SELECT regress.error_of($$SELECT * FROM migrate_pull(NULL)$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull(NULL, NULL)$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull('no_such_table')$$);
SELECT regress.error_of($$SELECT * FROM migrate_pull('sites_pkey')$$);
BEGIN;
CREATE VIEW site_names AS SELECT id, name FROM sites;
SELECT regress.error_of($$SELECT * FROM migrate_pull('site_names')$$);
-- a table the source does not have
CREATE TABLE only_on_target (id integer);
SELECT regress.error_of($$SELECT * FROM migrate_pull('only_on_target')$$);
ROLLBACK;
-- a bad snapshot name: the source's own error (22023), and nothing loaded, the state unchanged
SELECT regress.error_of($$SELECT * FROM migrate_pull('sites', 'no-such-snapshot')$$);
-- a well-formed name of no snapshot: the source's own error too, which PostgreSQL 16 changed (15: 22023
-- "invalid snapshot identifier", 16 and later: 42704 "snapshot ... does not exist")
SELECT regress.error_of($$SELECT * FROM migrate_pull('sites', '00000003-0000001B-1')$$)
       IN ('22023: on the source: invalid snapshot identifier: "00000003-0000001B-1"',
           '42704: on the source: snapshot "00000003-0000001B-1" does not exist') AS the_source_s_error;
SELECT count(*) AS sites_rows FROM sites;
SELECT table_name, status, rows FROM migrate_status() WHERE table_name = 'public.sites';

--
-- Every table in plan order, in one statement: each loaded with the source's row count.
--
SELECT p.level, p.table_name, r.table_name AS pulled, r.status, r.rows, r.seconds >= 0 AS timed
FROM migrate_plan() AS p, LATERAL migrate_pull(p.table_name::regclass) AS r
ORDER BY p.level, p.table_name;
SELECT table_name, status, rows, last_error FROM migrate_status();
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify_all();
SELECT table_name, status, rows FROM migrate_status();
-- a rerun skips every table (loaded or verified), and leaves the rows and states alone
SELECT p.table_name, r.status, r.rows
FROM migrate_plan() AS p, LATERAL migrate_pull(p.table_name::regclass) AS r
ORDER BY p.level, p.table_name;
SELECT count(*) AS sensor_readings FROM sensor_readings;
SELECT status, count(*) FROM migrate_status() GROUP BY status;

-- The user IDs on the target are the mapped ones, in every kind of column.
SELECT id = md5('stack-' || md5('user-1')::uuid)::uuid AS mapped FROM profiles WHERE id = md5('stack-' || md5('user-1')::uuid)::uuid;
SELECT count(*) AS supabase_ids_left FROM profiles p JOIN pull_source.users u ON u.id = p.id;
SELECT count(*) AS profiles_mapped FROM profiles p JOIN cutover.id_map m ON m.target_id = p.id;
SELECT count(*) AS user_roles_same
FROM user_roles t JOIN pull_source.user_roles s USING (id)
WHERE t.user_id = md5('stack-' || s.user_id)::uuid
  AND t.granted_by IS NOT DISTINCT FROM md5('stack-' || s.granted_by)::uuid;
SELECT id, actor, actor_ids FROM event_logs WHERE id IN (34, 35, 36, 37) ORDER BY id;
SELECT (SELECT upper(md5('stack-' || md5('user-2')::uuid)::uuid::text)) = actor AS upper_case_kept FROM event_logs WHERE id = 35;
SELECT id, member_ids FROM members WHERE id IN (1, 2) ORDER BY id;
SELECT count(*) AS legacy_mapped FROM legacy_accounts a JOIN cutover.id_map m ON m.target_id::text = a.user_ref;
SELECT count(*) AS legacy_sessions_mapped FROM legacy_sessions s JOIN legacy_accounts a USING (user_ref);
-- jsonb without marks: its user IDs rewritten by value ("owner", "notify"), everything else as it was
SELECT (SELECT array_agg(settings ORDER BY id) FROM sites) = (SELECT array_agg(settings ORDER BY id) FROM pull_source.sites) AS settings_same;
SELECT count(*) AS owners_mapped FROM sites s JOIN cutover.id_map m ON m.target_id::text = s.settings ->> 'owner';
SELECT count(*) AS notified_mapped FROM sites s, jsonb_array_elements_text(s.settings -> 'notify') AS n(id)
JOIN cutover.id_map m ON m.target_id::text = n.id;
SELECT count(*) AS notify_entries FROM pull_source.sites s, jsonb_array_elements_text(s.settings -> 'notify') AS n(id);
SELECT (SELECT array_agg(settings - 'owner' - 'notify' ORDER BY id) FROM sites) =
       (SELECT array_agg(settings - 'owner' - 'notify' ORDER BY id) FROM pull_source.sites) AS other_settings_same;

-- Generated columns are computed by the target; identity columns (GENERATED ALWAYS) keep the source's values
-- and their sequence is not consumed.
SELECT count(*) AS units, count(*) FILTER (WHERE serial_key = upper(replace(serial, '-', ''))) AS serial_key_computed FROM units;
SELECT id, serial, serial_key FROM units ORDER BY id LIMIT 2;
SELECT (SELECT array_agg(id ORDER BY id) FROM user_roles) = (SELECT array_agg(id ORDER BY id) FROM pull_source.user_roles) AS identity_kept;
SELECT attidentity FROM pg_attribute WHERE attrelid = 'user_roles'::regclass AND attname = 'id';
SELECT last_value, is_called FROM user_roles_id_seq;

--
-- An unmapped user ID: the pull fails naming table, column, the ID and the source row; nothing of the table
-- changes, its state neither.
--
SELECT * FROM migrate_reset('event_logs');
SELECT table_name, status, rows FROM migrate_status() WHERE table_name = 'public.event_logs';
DELETE FROM cutover.id_map WHERE source_id = md5('user-2')::uuid;
SELECT regress.error_of($$SELECT * FROM migrate_pull('event_logs')$$, true);
SELECT * FROM migrate_pull('event_logs');
SELECT count(*) AS event_logs FROM event_logs;
SELECT table_name, status, rows, last_error FROM migrate_status() WHERE table_name = 'public.event_logs';
-- in a uuid column and a uuid[] column, too (in a transaction: the error rolls back to before the pull)
BEGIN;
SELECT * FROM migrate_reset('user_roles');
SELECT regress.error_of($$SELECT * FROM migrate_pull('user_roles')$$);
SELECT * FROM migrate_reset('members');
SELECT regress.error_of($$SELECT * FROM migrate_pull('members')$$);
SELECT count(*) AS user_roles, (SELECT count(*) FROM members) AS members FROM user_roles;
SELECT table_name, status FROM migrate_status() WHERE table_name IN ('public.user_roles', 'public.members');
ROLLBACK;
-- mapped again: the pull goes through and verifies ok
SELECT migrate_map_put(id, md5('stack-' || id)::uuid, email) FROM pull_source.users WHERE id = md5('user-2')::uuid;
SELECT table_name, status, rows FROM migrate_pull('event_logs');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('event_logs');

--
-- A table that fails preflight (a NOT NULL column without a default that the source lacks): 55000, with the
-- problem in DETAIL; nothing changed.
--
BEGIN;
SELECT * FROM migrate_reset('legacy_sessions');
ALTER TABLE legacy_sessions ADD COLUMN region text NOT NULL DEFAULT 'kept';
ALTER TABLE legacy_sessions ALTER COLUMN region DROP DEFAULT;
SELECT regress.error_of($$SELECT * FROM migrate_pull('legacy_sessions')$$, true);
SELECT count(*) AS legacy_sessions, count(*) FILTER (WHERE region = 'kept') AS untouched FROM legacy_sessions;
SELECT table_name, status, rows FROM migrate_status() WHERE table_name = 'public.legacy_sessions';
ROLLBACK;
-- a loaded table is skipped before preflight is asked
BEGIN;
ALTER TABLE legacy_sessions ADD COLUMN region text NOT NULL DEFAULT 'x';
ALTER TABLE legacy_sessions ALTER COLUMN region DROP DEFAULT;
SELECT table_name, status, rows FROM migrate_pull('legacy_sessions');
ROLLBACK;

--
-- Triggers: a user trigger that raises on every row and a statement trigger that writes a log do not fire
-- during the pull (they do on a plain INSERT).
--
BEGIN;
CREATE TABLE pull_trigger_log (what text);
CREATE FUNCTION pull_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trigger fired on %', TG_TABLE_NAME;
END
$$;
CREATE FUNCTION pull_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pull_trigger_log VALUES (TG_OP || ' ' || TG_LEVEL || ' ' || TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER refuse_rows BEFORE INSERT ON legacy_sessions FOR EACH ROW EXECUTE FUNCTION pull_refuse();
CREATE TRIGGER log_statements AFTER INSERT OR DELETE OR TRUNCATE ON legacy_sessions FOR EACH STATEMENT EXECUTE FUNCTION pull_log();
SELECT * FROM migrate_reset('legacy_sessions');
SELECT table_name, status, rows FROM migrate_pull('legacy_sessions');
SELECT count(*) AS logged FROM pull_trigger_log;
SELECT current_setting('session_replication_role') AS role_after;
SELECT regress.error_of($$INSERT INTO legacy_sessions (user_ref, started_at) SELECT user_ref, started_at FROM legacy_sessions LIMIT 1$$);
ROLLBACK;

--
-- Privileges: a role with EXECUTE and SELECT. Without SET on session_replication_role, the function's own SET
-- refuses it (42501). With it, migrate_pull refuses (42501) unless the role has both INSERT and DELETE on the
-- table; nothing changes. (A non-superuser that passes needs a password for the source: see the TAP test.)
--
CREATE ROLE regress_puller;
GRANT EXECUTE ON FUNCTION migrate_pull(regclass, text) TO regress_puller;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO regress_puller;
BEGIN;
SELECT * FROM migrate_reset('legacy_sessions');
SET LOCAL ROLE regress_puller;
SELECT regress.error_of($$SELECT * FROM migrate_pull('legacy_sessions')$$);
ROLLBACK;
GRANT SET ON PARAMETER session_replication_role TO regress_puller;
BEGIN;
SELECT * FROM migrate_reset('legacy_sessions');
SET LOCAL ROLE regress_puller;
SELECT regress.error_of($$SELECT * FROM migrate_pull('legacy_sessions')$$);
RESET ROLE;
GRANT INSERT ON legacy_sessions TO regress_puller;
SET LOCAL ROLE regress_puller;
SELECT regress.error_of($$SELECT * FROM migrate_pull('legacy_sessions')$$);
RESET ROLE;
REVOKE INSERT ON legacy_sessions FROM regress_puller;
GRANT DELETE ON legacy_sessions TO regress_puller;
SET LOCAL ROLE regress_puller;
SELECT regress.error_of($$SELECT * FROM migrate_pull('legacy_sessions')$$);
RESET ROLE;
SELECT count(*) AS legacy_sessions FROM legacy_sessions;
SELECT table_name, status, rows FROM migrate_status() WHERE table_name = 'public.legacy_sessions';
ROLLBACK;
REVOKE SET ON PARAMETER session_replication_role FROM regress_puller;
DROP OWNED BY regress_puller;
DROP ROLE regress_puller;

--
-- Quoted mixed-case names, a column order that differs between source and target (and a dropped column on
-- the target), a marked uuid column with a mixed-case name, a text[] column marked.
--
\c cutover_pull_src
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Table" ("Id" integer PRIMARY KEY, "User Ref" uuid, "select" text, "Note" text, "Refs" text[]);
INSERT INTO "Odd Schema"."Mixed Table" VALUES
    (1, md5('user-1')::uuid, 'a', 'first', ARRAY[upper(md5('user-3')::uuid::text), 'x']),
    (2, NULL, 'b', NULL, '{}'),
    (3, md5('user-43')::uuid, NULL, 'tab	and \ backslash', NULL);
\c :target_db
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Table" ("Note" text, "gone" integer, "Refs" text[], "select" text, "User Ref" uuid, "Id" integer PRIMARY KEY);
ALTER TABLE "Odd Schema"."Mixed Table" DROP COLUMN "gone";
SELECT migrate_remap_column('"Odd Schema"."Mixed Table"', 'User Ref');
SELECT migrate_remap_column('"Odd Schema"."Mixed Table"', 'Refs');
SELECT * FROM migrate_preflight('{Odd Schema}');
SELECT * FROM migrate_pull('"Odd Schema"."Mixed Table"') \gset pulled_
SELECT :'pulled_table_name' AS table_name, :'pulled_status' AS status, :'pulled_rows' AS rows;
SELECT "Id", "User Ref" = md5('stack-' || md5('user-' || CASE "Id" WHEN 1 THEN 1 ELSE 43 END)::uuid)::uuid AS mapped,
       "select", "Note", "Refs"[1] = upper(md5('stack-' || md5('user-3')::uuid)::uuid::text) AS refs_mapped, "Refs"[2:]
FROM "Odd Schema"."Mixed Table" ORDER BY "Id";
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('"Odd Schema"."Mixed Table"');

--
-- The type fixture on both sides: every kind of value arrives so that the verification is ok. First in a
-- schema of its own, then in public (its enum, domain and composite types unqualified on both sides).
--
\c cutover_pull_src
CREATE SCHEMA typefix;
SET search_path = typefix;
\set ECHO none
\i test/fixtures/types.sql
\set ECHO all
RESET search_path;
\set ECHO none
\i test/fixtures/types.sql
\set ECHO all
\c :target_db
CREATE SCHEMA typefix;
SET search_path = typefix;
\set ECHO none
\i test/fixtures/types.sql
\set ECHO all
RESET search_path;
\set ECHO none
\i test/fixtures/types.sql
\set ECHO all
-- the target's copies are emptied first, to see the rows come
TRUNCATE typefix.type_fixture, public.type_fixture;
SELECT * FROM migrate_preflight('{typefix}');
SELECT table_name, status, rows FROM migrate_pull('typefix.type_fixture');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('typefix.type_fixture');
SELECT count(*) AS rows, count(*) FILTER (WHERE doubled IS NOT DISTINCT FROM exact * 2) AS doubled_computed FROM typefix.type_fixture;
SELECT * FROM migrate_preflight() WHERE table_name = 'public.type_fixture';
SELECT table_name, status, rows FROM migrate_pull('public.type_fixture');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('public.type_fixture');

-- The same values in a table of built-in types only travel in COPY's binary format; with pull_format = 'text'
-- in text. Both arrive so that the verification is ok.
\c cutover_pull_src
SELECT format('CREATE TABLE typefix.builtin AS SELECT %s FROM typefix.type_fixture',
              string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)) AS ddl
FROM pg_attribute AS a JOIN pg_type AS t ON t.oid = a.atttypid
WHERE a.attrelid = 'typefix.type_fixture'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND a.atttypid < 16384 AND t.typelem < 16384 \gset
:ddl;
\c :target_db
:ddl WITH NO DATA;
SELECT count(*) > 20 AS many_types FROM pg_attribute WHERE attrelid = 'typefix.builtin'::regclass AND attnum > 0;
SELECT table_name, status, rows FROM migrate_pull('typefix.builtin');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('typefix.builtin');
SELECT migrate_reset('typefix.builtin');
SET pg_cutover.pull_format = 'text';
SELECT table_name, status, rows FROM migrate_pull('typefix.builtin');
RESET pg_cutover.pull_format;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('typefix.builtin');
-- The setting is declared when the module loads: a value it does not know is refused (not taken for binary),
-- and so is a name under the prefix pg_cutover. that it does not declare.
LOAD 'pg_cutover';
SHOW pg_cutover.pull_format;
SELECT regress.error_of($$SET pg_cutover.pull_format = 'txt'$$, true);
SELECT regress.error_of($$SET pg_cutover.pullformat = 'text'$$, true);
SHOW pg_cutover.pull_format;

-- A row the target refuses inside the pull: the error names where COPY was (its line), and the table and
-- constraint in its fields, in both formats.
\c cutover_pull_src
CREATE TABLE public.ctx_check (id integer PRIMARY KEY, n integer);
INSERT INTO public.ctx_check VALUES (1, 1), (2, 2), (3, -3), (4, 4);
\c :target_db
CREATE TABLE public.ctx_check (id integer PRIMARY KEY, n integer CONSTRAINT n_positive CHECK (n > 0));
CREATE FUNCTION pg_temp.pull_error(tbl regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; context text; schema_name text; table_name text; constraint_name text;
BEGIN
    PERFORM migrate_pull(tbl);
    RETURN 'pulled';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, context = PG_EXCEPTION_CONTEXT,
        schema_name = SCHEMA_NAME, table_name = TABLE_NAME, constraint_name = CONSTRAINT_NAME;
    RETURN format(E'%s: %s\ncontext: %s\nschema %s, table %s, constraint %s', state, message,
                  split_part(context, E'\n', 1), schema_name, table_name, constraint_name);
END $$;
SELECT pg_temp.pull_error('public.ctx_check') AS binary_format;
SET pg_cutover.pull_format = 'text';
SELECT pg_temp.pull_error('public.ctx_check') AS text_format;
RESET pg_cutover.pull_format;
SELECT count(*) AS rows_left FROM public.ctx_check;
DROP TABLE public.ctx_check;
DELETE FROM cutover.table_state WHERE table_name = 'ctx_check';
\c cutover_pull_src
DROP TABLE public.ctx_check;
\c :target_db

--
-- Clean up: the source is cutover_src again.
--
SET client_min_messages = warning;
DROP SCHEMA pull_source CASCADE;
DROP SCHEMA "Odd Schema" CASCADE;
DROP SCHEMA typefix CASCADE;
DROP TABLE type_fixture;
DROP TYPE fixture_mood, fixture_address;
DROP DOMAIN fixture_percent;
DROP TABLE organizations, profiles, user_roles, sites, areas, units, devices, sensor_readings, alerts, event_logs,
    members, legacy_accounts, legacy_sessions CASCADE;
DELETE FROM cutover.table_state;
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src')));
RESET client_min_messages;
DROP DATABASE cutover_pull_src;
