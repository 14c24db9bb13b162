-- pg_cutover: checksums and verification of a target database against its Supabase source.
\echo Use "CREATE EXTENSION pg_cutover" to load this file. \quit

-- The install script is this file and, in this order, pg_cutover_users.sql (the ID map, the user journal),
-- pg_cutover_plan.sql (remap marks, table state, plan, preflight) and pg_cutover_load.sql (pull, audit,
-- foreign keys, sequences, grants). Each function below is written in SQL there (sql, plpgsql, aggregate) or
-- in C++ under PGC_FUNCTION(its name) in the .cpp named.
--
-- Function table (test/lint/functions.pl checks it against the code; --write rewrites it):
--
--   cutover.migrate_checksum_agg_transfn           C          extension/checksum.cpp
--   cutover.migrate_checksum_agg_combinefn         C          extension/checksum.cpp
--   cutover.migrate_checksum_agg_serialfn          C          extension/checksum.cpp
--   cutover.migrate_checksum_agg_deserialfn        C          extension/checksum.cpp
--   cutover.migrate_checksum_agg_finalfn           C          extension/checksum.cpp
--   cutover.migrate_checksum_agg                   aggregate  extension/pg_cutover.sql
--   migrate_checksum                               C          extension/checksum.cpp
--   migrate_source_checksum_sql                    C          extension/checksum.cpp
--   migrate_source                                 C          extension/source.cpp
--   migrate_source_differs                         C          extension/source.cpp
--   migrate_verify                                 C          extension/verify.cpp
--   migrate_verify_checksum                        C          extension/verify.cpp
--   migrate_verify_all                             plpgsql    extension/pg_cutover.sql
--   cutover.migrate_bucket_agg_transfn             C          extension/bucket_agg.cpp
--   cutover.migrate_bucket_agg_finalfn             C          extension/bucket_agg.cpp
--   cutover.migrate_bucket_agg                     aggregate  extension/pg_cutover.sql
--   cutover.migrate_unmapped_checksum_agg_transfn  C          extension/checksum.cpp
--   cutover.migrate_unmapped_checksum_agg          aggregate  extension/pg_cutover.sql
--   cutover.migrate_unmapped_bucket_agg_transfn    C          extension/bucket_agg.cpp
--   cutover.migrate_unmapped_bucket_agg            aggregate  extension/pg_cutover.sql
--   cutover.migrate_unmapped_row                   C          extension/unmap.cpp
--   cutover.migrate_unmapped_values                C          extension/unmap.cpp
--   migrate_diff                                   C          extension/diff.cpp
--   migrate_map_put                                plpgsql    extension/pg_cutover_users.sql
--   migrate_remap                                  plpgsql    extension/pg_cutover_users.sql
--   migrate_unmap                                  plpgsql    extension/pg_cutover_users.sql
--   migrate_map_purge                              plpgsql    extension/pg_cutover_users.sql
--   migrate_user_sending                           plpgsql    extension/pg_cutover_users.sql
--   migrate_user_created                           plpgsql    extension/pg_cutover_users.sql
--   migrate_user_updated                           plpgsql    extension/pg_cutover_users.sql
--   migrate_user_removed                           plpgsql    extension/pg_cutover_users.sql
--   migrate_user_not_created                       plpgsql    extension/pg_cutover_users.sql
--   migrate_users                                  sql        extension/pg_cutover_users.sql
--   cutover.base_type                              sql        extension/pg_cutover_plan.sql
--   cutover.value_class                            C          extension/unmap.cpp
--   cutover.column_evidence                        C          extension/plan.cpp
--   migrate_remap_column                           plpgsql/sql extension/pg_cutover_plan.sql
--   migrate_import_started                         sql        extension/pg_cutover_plan.sql
--   migrate_import_failed                          sql        extension/pg_cutover_plan.sql
--   migrate_status                                 sql        extension/pg_cutover_plan.sql
--   migrate_reset                                  plpgsql    extension/pg_cutover_plan.sql
--   migrate_plan                                   C          extension/plan.cpp
--   migrate_preflight                              C          extension/preflight.cpp
--   migrate_pull                                   C          extension/pull.cpp
--   migrate_split                                  C          extension/verify_ranges.cpp
--   migrate_pull_split                             C          extension/pull_ranges.cpp
--   migrate_pull_range                             C          extension/pull_ranges.cpp
--   migrate_pull_finish                            C          extension/pull_ranges.cpp
--   migrate_verify_range                           C          extension/verify_ranges.cpp
--   migrate_verify_ranges                          C          extension/verify_ranges.cpp
--   cutover.migrate_audit_agg_transfn              C          extension/audit.cpp
--   cutover.migrate_audit_agg                      aggregate  extension/pg_cutover_load.sql
--   migrate_audit_ids                              C          extension/audit.cpp
--   migrate_check_fks                              plpgsql    extension/pg_cutover_load.sql
--   cutover.source_sequences                       C          extension/source.cpp
--   migrate_fix_sequences                          plpgsql    extension/pg_cutover_load.sql
-- End of the function table.

-- Tables of the extension live in schema cutover; functions live in the extension's schema (public by
-- default), so that SELECT migrate_verify('sites') works with the default search_path.
CREATE SCHEMA cutover;
REVOKE ALL ON SCHEMA cutover FROM PUBLIC;

-- Every verification ever run, newest last.
CREATE TABLE cutover.verification (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    source_rows bigint NOT NULL,
    target_rows bigint NOT NULL,
    source_checksum text NOT NULL,
    target_checksum text NOT NULL,
    ok boolean NOT NULL,
    seconds double precision NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- how the source's side was had: the source's SQL, its rows streamed by COPY and hashed on the target
    -- (pg_cutover.verify_source), or figures given by the caller (an archive's manifest)
    source_side text NOT NULL DEFAULT 'sql' CHECK (source_side IN ('sql', 'stream', 'given'))
);
REVOKE ALL ON cutover.verification FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.verification', '');

-- The canonical checksum aggregate: its arguments are a row's columns in name order (tables wider than 99
-- columns pass runs of columns as ROW(...) values). It prints values with the session's settings, so call it
-- under the settings migrate_checksum fixes. It lives in schema cutover, where only the extension's owner can
-- create objects: in a schema others can create in, an aggregate of the same name with argument types that
-- match a table's columns exactly would be chosen instead, and run as whoever verifies. Everyone may use
-- the schema and the aggregate (it only hashes its arguments); the tables of cutover stay private.
GRANT USAGE ON SCHEMA cutover TO PUBLIC;
CREATE FUNCTION cutover.migrate_checksum_agg_transfn(internal, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION cutover.migrate_checksum_agg_combinefn(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION cutover.migrate_checksum_agg_serialfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cutover.migrate_checksum_agg_deserialfn(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cutover.migrate_checksum_agg_finalfn(internal) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE cutover.migrate_checksum_agg(VARIADIC "any") (
    SFUNC = cutover.migrate_checksum_agg_transfn,
    STYPE = internal,
    -- the state: three sums and a batch of up to sixteen rows of at most 1 KB waiting to be hashed
    SSPACE = 17000,
    FINALFUNC = cutover.migrate_checksum_agg_finalfn,
    COMBINEFUNC = cutover.migrate_checksum_agg_combinefn,
    SERIALFUNC = cutover.migrate_checksum_agg_serialfn,
    DESERIALFUNC = cutover.migrate_checksum_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cutover.migrate_checksum_agg(VARIADIC "any") IS
    'canonical checksum of rows given as their columns in name order; use migrate_checksum for a whole table';

CREATE FUNCTION migrate_checksum(tbl regclass, OUT rows bigint, OUT checksum text) RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off;
COMMENT ON FUNCTION migrate_checksum(regclass) IS
    'row count and order-independent checksum of a local table, under fixed output settings';

CREATE FUNCTION migrate_source_checksum_sql(tbl regclass) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_source_checksum_sql(regclass) IS
    'the plain-SQL script stock PostgreSQL runs on the source to get the same checksum';

CREATE FUNCTION migrate_source(conninfo text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_source(text) IS
    'records the source as foreign server cutover_source and a user mapping for the current role, then connects once';

CREATE FUNCTION migrate_source_differs(conninfo text, password_sha256 text) RETURNS text[]
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_source_differs(text, text) IS
    'which of host, hostaddr, port, dbname, user and password differ between a connection string (its password given as a SHA-256 in hex, never itself) and the source the current role has (NULL: none)';

CREATE FUNCTION migrate_verify(tbl regclass,
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint,
    OUT source_checksum text, OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off
    -- The source's plain SQL is several times slower than the target's C++ and sets the pace: parallel
    -- workers on the target would only take CPU from a source sharing the machine.
    SET max_parallel_workers_per_gather = 0;
COMMENT ON FUNCTION migrate_verify(regclass) IS
    'checksums a table on the source and the target at the same time, compares and records the result';

CREATE FUNCTION migrate_verify_checksum(tbl regclass, source_rows bigint, source_checksum text,
    user_id_columns text[] DEFAULT '{}',
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint,
    OUT source_checksum text, OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off;
COMMENT ON FUNCTION migrate_verify_checksum(regclass, bigint, text, text[]) IS
    'compares a table with a row count and checksum from elsewhere (an archive''s manifest), the named user-ID columns mapped back to source IDs; records the result as migrate_verify does';

CREATE FUNCTION migrate_verify_all(schemas text[] DEFAULT ARRAY['public'],
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint,
    OUT source_checksum text, OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
    missing text;
BEGIN
    -- A schema that does not exist is a typo, not a schema with nothing to verify.
    SELECT s INTO missing FROM pg_catalog.unnest(schemas) AS s
    WHERE s IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace AS n WHERE n.nspname = s) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "%" does not exist', missing USING ERRCODE = 'invalid_schema_name',
            HINT = 'Schema names are case-sensitive and given without quotes.';
    END IF;
    -- One table after the other, in name order, so that the records in cutover.verification follow it too.
    FOR tbl IN
        SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY n.nspname, c.relname
    LOOP
        RETURN QUERY SELECT * FROM @extschema@.migrate_verify(tbl);
    END LOOP;
END
$$;
COMMENT ON FUNCTION migrate_verify_all(text[]) IS
    'migrate_verify for every table of the given schemas (default public), in name order';

-- migrate_diff's target side: one pass gives the canonical checksum of every bucket of a table. The first
-- argument is the row's bucket (an integer from 0), the others its columns in name order, as for
-- migrate_checksum_agg (at most 98 of them: wider tables pass runs of columns as ROW(...) values). The result
-- holds 40 bytes per bucket up to the last one with rows: the row count (8 bytes) and the two sums of
-- md5 halves (16 bytes each), big-endian. Not parallel: it has no combine function.
CREATE FUNCTION cutover.migrate_bucket_agg_transfn(internal, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION cutover.migrate_bucket_agg_finalfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE cutover.migrate_bucket_agg(VARIADIC "any") (
    SFUNC = cutover.migrate_bucket_agg_transfn,
    STYPE = internal,
    -- the state: a batch of up to sixteen rows of at most 1 KB waiting to be hashed, and 40 bytes per bucket
    SSPACE = 180000,
    FINALFUNC = cutover.migrate_bucket_agg_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cutover.migrate_bucket_agg(VARIADIC "any") IS
    'canonical checksum of each bucket of rows given as (bucket, columns in name order); used by migrate_diff';

-- The target's rows read back as the source had them: every user ID mapped back to its Supabase ID through
-- the ID map, by each column's remap mode, and a Supabase ID still on the target marked so that the row
-- differs. They take a whole row of the table and work only while migrate_verify, migrate_verify_checksum or
-- migrate_diff reads that table (55000 otherwise), with what those read as the extension's owner (the map, the
-- marks); the table itself is read with the caller's rights. Not parallel: the map lives in the calling backend.
CREATE FUNCTION cutover.migrate_unmapped_checksum_agg_transfn(internal, record) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE AGGREGATE cutover.migrate_unmapped_checksum_agg(record) (
    SFUNC = cutover.migrate_unmapped_checksum_agg_transfn,
    STYPE = internal,
    SSPACE = 17000,
    FINALFUNC = cutover.migrate_checksum_agg_finalfn,
    PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE cutover.migrate_unmapped_checksum_agg(record) IS
    'canonical checksum of whole rows with their user IDs mapped back; used by migrate_verify';
CREATE FUNCTION cutover.migrate_unmapped_bucket_agg_transfn(internal, integer, record) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE AGGREGATE cutover.migrate_unmapped_bucket_agg(integer, record) (
    SFUNC = cutover.migrate_unmapped_bucket_agg_transfn,
    STYPE = internal,
    SSPACE = 180000,
    FINALFUNC = cutover.migrate_bucket_agg_finalfn,
    PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE cutover.migrate_unmapped_bucket_agg(integer, record) IS
    'canonical checksum of each bucket of whole rows with their user IDs mapped back; used by migrate_diff';
CREATE FUNCTION cutover.migrate_unmapped_row(record) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION cutover.migrate_unmapped_row(record) IS
    'a whole row''s canonical text with its user IDs mapped back; used by migrate_diff';
CREATE FUNCTION cutover.migrate_unmapped_values(record) RETURNS text[]
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION cutover.migrate_unmapped_values(record) IS
    'each column''s text of a whole row, in column-name order, user IDs mapped back; used by migrate_diff';

-- A table whose last verification was made in key ranges (migrate_verify_ranges) and failed is compared in
-- the ranges that differed only, with a NOTICE naming them; whole_table compares every row.
CREATE FUNCTION migrate_diff(tbl regclass, max_rows integer DEFAULT 1000, whole_table boolean DEFAULT false)
    RETURNS TABLE (key text, status text, columns text[])
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off
    -- as migrate_verify: the source sets the pace; and the bucket expressions are not worth compiling
    SET max_parallel_workers_per_gather = 0 SET jit = off;
COMMENT ON FUNCTION migrate_diff(regclass, integer, boolean) IS
    'the rows that differ between the source and the target (missing, extra, changed with the columns), found by checksums of key ranges; at most max_rows of them; only in the key ranges that differed at a verification in ranges unless whole_table';
