-- pg_cutover: checksums and verification of a target database against its Supabase source.
\echo Use "CREATE EXTENSION pg_cutover" to load this file. \quit

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
    verified_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON cutover.verification FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.verification', '');

-- The canonical checksum aggregate: its arguments are a row's columns in name order (tables wider than 99
-- columns pass runs of columns as ROW(...) values). It prints values with the session's settings, so call it
-- under the settings migrate_checksum fixes.
CREATE FUNCTION migrate_checksum_agg_transfn(internal, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION migrate_checksum_agg_combinefn(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION migrate_checksum_agg_serialfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migrate_checksum_agg_deserialfn(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migrate_checksum_agg_finalfn(internal) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE migrate_checksum_agg(VARIADIC "any") (
    SFUNC = migrate_checksum_agg_transfn,
    STYPE = internal,
    FINALFUNC = migrate_checksum_agg_finalfn,
    COMBINEFUNC = migrate_checksum_agg_combinefn,
    SERIALFUNC = migrate_checksum_agg_serialfn,
    DESERIALFUNC = migrate_checksum_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE migrate_checksum_agg(VARIADIC "any") IS
    'canonical checksum of rows given as their columns in name order; use migrate_checksum for a whole table';

CREATE FUNCTION migrate_checksum(tbl regclass, OUT rows bigint, OUT checksum text) RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off;
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

CREATE FUNCTION migrate_verify(tbl regclass,
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint,
    OUT source_checksum text, OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    -- The source's plain SQL is several times slower than the target's C++ and sets the pace: parallel
    -- workers on the target would only take CPU from a source sharing the machine.
    SET max_parallel_workers_per_gather = 0;
COMMENT ON FUNCTION migrate_verify(regclass) IS
    'checksums a table on the source and the target at the same time, compares and records the result';

CREATE FUNCTION migrate_verify_all(schemas text[] DEFAULT ARRAY['public'],
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint,
    OUT source_checksum text, OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS SETOF record
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.*
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL @extschema@.migrate_verify(c.oid::pg_catalog.regclass) v
    WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY n.nspname, c.relname
$$;
COMMENT ON FUNCTION migrate_verify_all(text[]) IS
    'migrate_verify for every table of the given schemas (default public), in name order';

-- Only the extension's owner may call the migrate_* functions until it grants EXECUTE on them. A role
-- granted migrate_checksum or migrate_verify also needs SELECT on the tables it checks. The aggregate and its
-- support functions stay callable by everyone: they only hash the values they are given, and
-- migrate_checksum runs them as its caller.
REVOKE ALL ON FUNCTION
    migrate_checksum(regclass), migrate_source_checksum_sql(regclass), migrate_source(text),
    migrate_verify(regclass), migrate_verify_all(text[])
    FROM PUBLIC;
