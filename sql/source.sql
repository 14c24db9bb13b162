--
-- migrate_source: where the source is lives in the foreign server cutover_source (postgres_fdw) and in the
-- current role's user mapping, which alone holds the password. Bad connection strings, unreachable
-- sources, replaced options, and what other roles can see.
--
SELECT current_database() AS target_db \gset
CREATE TABLE probe (id integer);
INSERT INTO probe VALUES (1);
\c cutover_src
CREATE TABLE probe (id integer);
INSERT INTO probe VALUES (1);
\c :target_db

-- No source configured (types.sql configured one: remove it).
DROP USER MAPPING FOR CURRENT_USER SERVER cutover_source;
DROP SERVER cutover_source;
SELECT regress.error_of($$SELECT migrate_verify('probe')$$, true);
-- STRICT
SELECT migrate_source(NULL) IS NULL AS is_null;
-- nothing stored: NULL
SELECT migrate_source_differs(regress.local_conninfo('cutover_src'), NULL) IS NULL AS none_stored;

--
-- Invalid connection strings: 22023, nothing is configured, and the password is repeated nowhere.
--
SELECT regress.error_of($$SELECT migrate_source('host=localhost password=sekrit port')$$, true);
SELECT bad,
       regress.error_of(format('SELECT migrate_source(%L)', bad)) AS error,
       strpos(regress.error_text(format('SELECT migrate_source(%L)', bad)), 'sekrit') = 0 AS password_hidden
FROM (VALUES ('host=localhost password=sekrit port'),
             ('password=sekrit no_such_option=1'),
             ('password=''sekrit'),
             ('postgresql://someone:sekrit@[::1/db'),
             ('postgresql://someone:sekrit@localhost/db?no_such_option=1')) AS b(bad);
SELECT count(*) AS servers FROM pg_foreign_server WHERE srvname = 'cutover_source';

--
-- Unreachable sources: 08001 (the DETAIL is libpq's and names the socket, so it is not shown here).
--
SELECT regress.error_of(format('SELECT migrate_source(%L)', regress.local_conninfo('cutover_src', 1) || ' password=sekrit'));
SELECT strpos(regress.error_text(format('SELECT migrate_source(%L)', regress.local_conninfo('cutover_src', 1) || ' password=sekrit')), 'sekrit') = 0 AS password_hidden;
SELECT regress.error_of(format('SELECT migrate_source(%L)', regress.local_conninfo('no_such_database')));
-- a failed call leaves nothing behind
SELECT count(*) AS servers FROM pg_foreign_server WHERE srvname = 'cutover_source';

--
-- A good source: the server holds where, the user mapping holds the password.
--
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src') || ' password=sekrit application_name=cutover_test'));
SELECT s.srvname, w.fdwname FROM pg_foreign_server AS s JOIN pg_foreign_data_wrapper AS w ON w.oid = s.srvfdw;
SELECT array_agg(split_part(o, '=', 1) ORDER BY o) AS server_options FROM pg_foreign_server, unnest(srvoptions) AS o WHERE srvname = 'cutover_source';
SELECT o AS server_option FROM pg_foreign_server, unnest(srvoptions) AS o WHERE srvname = 'cutover_source' AND o !~ '^(host|port)=' ORDER BY o;
SELECT bool_or(o ~ 'password|sekrit') AS password_in_server FROM pg_foreign_server, unnest(srvoptions) AS o;
SELECT srvname, umoptions FROM pg_user_mappings WHERE umuser = (SELECT oid FROM pg_roles WHERE rolname = current_user);
SELECT table_name, source_rows, target_rows, ok FROM migrate_verify('probe');
-- What differs between a connection string and the source stored: the password only by its SHA-256.
SELECT migrate_source_differs(regress.local_conninfo('cutover_src'), encode(sha256('sekrit'), 'hex')) AS same,
       migrate_source_differs(regress.local_conninfo('cutover_src'), encode(sha256('other'), 'hex')) AS other_password,
       migrate_source_differs(regress.local_conninfo('cutover_src'), NULL) AS no_password,
       migrate_source_differs(regress.local_conninfo('postgres', 1), encode(sha256('sekrit'), 'hex')) AS other_place,
       migrate_source_differs(regress.local_conninfo('cutover_src') || ' user=someone', encode(sha256('sekrit'), 'hex')) AS other_user;
SELECT regress.error_of($$SELECT migrate_source_differs('host=x port', NULL)$$);

-- Calling it again replaces every option: application_name and the password are gone.
SELECT regress.masked(migrate_source(regress.local_conninfo('cutover_src') || ' connect_timeout=5'));
SELECT array_agg(split_part(o, '=', 1) ORDER BY o) AS server_options FROM pg_foreign_server, unnest(srvoptions) AS o WHERE srvname = 'cutover_source';
SELECT srvname, umoptions FROM pg_user_mappings WHERE umuser = (SELECT oid FROM pg_roles WHERE rolname = current_user);
-- the same in URI form: the password still goes to the user mapping only
SELECT regress.masked(migrate_source(format('postgresql://?dbname=cutover_src&host=%s&port=%s&password=sekrit',
                                            split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'))));
SELECT array_agg(split_part(o, '=', 1) ORDER BY o) AS server_options FROM pg_foreign_server, unnest(srvoptions) AS o WHERE srvname = 'cutover_source';
SELECT srvname, umoptions FROM pg_user_mappings WHERE umuser = (SELECT oid FROM pg_roles WHERE rolname = current_user);

-- A call that fails leaves the previous configuration as it was.
SELECT srvoptions::text AS previous_server_options FROM pg_foreign_server WHERE srvname = 'cutover_source' \gset
SELECT regress.error_of(format('SELECT migrate_source(%L)', regress.local_conninfo('cutover_src', 1) || ' password=other'));
SELECT srvoptions::text = :'previous_server_options' AS server_unchanged FROM pg_foreign_server WHERE srvname = 'cutover_source';
SELECT srvname, umoptions FROM pg_user_mappings WHERE umuser = (SELECT oid FROM pg_roles WHERE rolname = current_user);
SELECT regress.error_of($$SELECT migrate_source('dbname=cutover_src port')$$);
SELECT srvoptions::text = :'previous_server_options' AS server_unchanged FROM pg_foreign_server WHERE srvname = 'cutover_source';

--
-- Other roles: every function of the extension is revoked from PUBLIC, and the password in a user mapping
-- is readable only by its role (and superusers).
--
CREATE ROLE regress_cutover_other;
SELECT p.proname, has_function_privilege('regress_cutover_other', p.oid, 'EXECUTE') AS can_execute
FROM pg_depend AS d
JOIN pg_proc AS p ON p.oid = d.objid
WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_cutover')
ORDER BY p.proname;
SELECT has_schema_privilege('regress_cutover_other', 'cutover', 'USAGE') AS schema_usage;
SET ROLE regress_cutover_other;
SELECT srvname, umoptions FROM pg_user_mappings;
SELECT regress.error_of($$SELECT umoptions FROM pg_catalog.pg_user_mapping$$);
SELECT regress.error_of($$SELECT migrate_source('dbname=cutover_src')$$);
SELECT regress.error_of($$SELECT * FROM migrate_verify('probe')$$);
SELECT regress.error_of($$SELECT * FROM migrate_verify_all()$$);
SELECT regress.error_of($$SELECT * FROM cutover.verification$$);
SELECT regress.error_of($$ALTER SERVER cutover_source OPTIONS (SET dbname 'elsewhere')$$);
RESET ROLE;

--
-- Called directly, failing calls reach the server log: without their statement, so without the password.
--
\set VERBOSITY terse
SELECT migrate_source('host=localhost password=sekrit port');
SELECT migrate_source(regress.local_conninfo('cutover_src', 1) || ' password=sekrit');
\set VERBOSITY default
SELECT regress.server_log_mentions('invalid connection string for the source') AS error_logged;
SELECT regress.server_log_mentions('sekrit') AS password_logged;

DROP ROLE regress_cutover_other;
DROP TABLE probe;
\c cutover_src
DROP TABLE probe;
\c :target_db
