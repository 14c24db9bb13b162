--
-- migrate_pull edge cases, with the source in database cutover_src: inheritance children stay out of their
-- parent's pull and checksum; the caller's client_encoding does not change the text loaded; a target table
-- with row-level security for the caller is refused; a column only the target has takes its default; a
-- user ID written in mixed letter case is refused.
--
SELECT current_database() AS target_db \gset
\c cutover_src
CREATE TABLE inh_parent (id integer PRIMARY KEY, name text);
CREATE TABLE inh_child (extra integer) INHERITS (inh_parent);
INSERT INTO inh_parent VALUES (1, 'parent row');
INSERT INTO inh_child VALUES (2, 'child row', 9);
CREATE TABLE enc_names (id integer PRIMARY KEY, name text);
INSERT INTO enc_names VALUES (1, 'Zoë Ünicode');
CREATE TABLE extra_col (id integer PRIMARY KEY, note text);
INSERT INTO extra_col VALUES (1, 'a'), (2, 'b');
CREATE TABLE rls_target (id integer PRIMARY KEY, owner text);
INSERT INTO rls_target VALUES (1, 'alice');
CREATE TABLE mixed_case (id integer PRIMARY KEY, actor text);
INSERT INTO mixed_case VALUES (1, '6f1C1a7e-2b9a-4f3e-9a51-3c1e2d4b5a60');
\c :target_db
CREATE TABLE inh_parent (id integer PRIMARY KEY, name text);
CREATE TABLE inh_child (extra integer) INHERITS (inh_parent);
CREATE TABLE enc_names (id integer PRIMARY KEY, name text);
CREATE TABLE extra_col (id integer PRIMARY KEY, note text, region text NOT NULL DEFAULT 'eu');
CREATE TABLE rls_target (id integer PRIMARY KEY, owner text);
CREATE TABLE mixed_case (id integer PRIMARY KEY, actor text);

-- Inheritance: the parent's pull reads and empties the parent alone (ONLY), the child's its own rows.
SELECT table_name, status, rows FROM migrate_pull('inh_child');
SELECT table_name, status, rows FROM migrate_pull('inh_parent');
SELECT * FROM ONLY inh_parent ORDER BY id;
SELECT * FROM inh_child ORDER BY id;
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('inh_parent');
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('inh_child');
SELECT migrate_source_checksum_sql('inh_parent') ~ 'FROM ONLY public.inh_parent AS t' AS parent_alone;

-- The caller's client_encoding: the text arrives as the source has it.
SET client_encoding = 'LATIN1';
SELECT table_name, status, rows FROM migrate_pull('enc_names');
RESET client_encoding;
SELECT name = 'Zoë Ünicode' AS same_text, octet_length(name) FROM enc_names;
SELECT ok FROM migrate_verify('enc_names');

-- A column only the target has (preflight: a warning) takes its default.
SELECT table_name, column_name, severity FROM migrate_preflight() WHERE table_name = 'public.extra_col';
SELECT table_name, status, rows FROM migrate_pull('extra_col');
SELECT * FROM extra_col ORDER BY id;

-- Row-level security that applies to the caller: refused, as COPY FROM refuses it.
CREATE ROLE regress_pull_rls;
GRANT SELECT, INSERT, DELETE ON rls_target TO regress_pull_rls;
GRANT EXECUTE ON FUNCTION migrate_pull(regclass, text) TO regress_pull_rls;
GRANT SET ON PARAMETER session_replication_role TO regress_pull_rls;
INSERT INTO rls_target VALUES (7, 'kept');
ALTER TABLE rls_target ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_alice ON rls_target USING (owner = 'alice') WITH CHECK (owner = 'alice');
SET ROLE regress_pull_rls;
SELECT regress.error_of($$SELECT * FROM migrate_pull('rls_target')$$);
RESET ROLE;
SELECT count(*) AS rows_left FROM rls_target;

-- A user ID in mixed letter case cannot keep its case in the target ID: refused, naming it.
SELECT migrate_map_put('6f1c1a7e-2b9a-4f3e-9a51-3c1e2d4b5a60', 'c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f');
SELECT migrate_remap_column('mixed_case', 'actor');
SELECT regress.error_of($$SELECT * FROM migrate_pull('mixed_case')$$);
SELECT count(*) AS rows_loaded FROM mixed_case;

-- cleanup
REVOKE SET ON PARAMETER session_replication_role FROM regress_pull_rls;
DROP OWNED BY regress_pull_rls;
DROP ROLE regress_pull_rls;
DROP TABLE inh_child, inh_parent, enc_names, extra_col, rls_target, mixed_case;
DELETE FROM cutover.table_state;
DELETE FROM cutover.id_map;
DELETE FROM cutover.remap_column;
\c cutover_src
DROP TABLE inh_child, inh_parent, enc_names, extra_col, rls_target, mixed_case;
