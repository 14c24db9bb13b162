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

CREATE FUNCTION migrate_diff(tbl regclass, max_rows integer DEFAULT 1000)
    RETURNS TABLE (key text, status text, columns text[])
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off
    -- as migrate_verify: the source sets the pace; and the bucket expressions are not worth compiling
    SET max_parallel_workers_per_gather = 0 SET jit = off;
COMMENT ON FUNCTION migrate_diff(regclass, integer) IS
    'the rows that differ between the source and the target (missing, extra, changed with the columns), found by checksums of key ranges; at most max_rows of them';

-- ---------------------------------------------------------------------------------------------------------
-- The ID map: Supabase user ID (source) to Stack Auth user ID (target), kept for support after the cutover.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE cutover.id_map (
    source_id uuid PRIMARY KEY,
    target_id uuid NOT NULL UNIQUE,
    email text,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX id_map_created_at ON cutover.id_map (created_at);
REVOKE ALL ON cutover.id_map FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.id_map', '');

CREATE FUNCTION migrate_map_put(source_id uuid, target_id uuid, email text DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mapped_target uuid;
    mapped_source uuid;
BEGIN
    IF source_id IS NULL OR target_id IS NULL THEN
        RAISE EXCEPTION 'source and target ID must not be NULL (source %, target %)',
            coalesce(source_id::text, 'NULL'), coalesce(target_id::text, 'NULL')
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO cutover.id_map AS m (source_id, target_id, email)
    VALUES (migrate_map_put.source_id, migrate_map_put.target_id, migrate_map_put.email)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN true;
    END IF;
    SELECT m.target_id INTO mapped_target FROM cutover.id_map AS m WHERE m.source_id = migrate_map_put.source_id;
    IF mapped_target = migrate_map_put.target_id THEN
        RETURN false;   -- the same pair again: nothing to do
    END IF;
    IF mapped_target IS NOT NULL THEN
        RAISE EXCEPTION 'source ID % is already mapped to target ID %, not to %',
            migrate_map_put.source_id, mapped_target, migrate_map_put.target_id
            USING ERRCODE = 'unique_violation',
                  HINT = 'A Supabase user has exactly one Stack Auth user. Remove the wrong pair from cutover.id_map first if it is wrong.';
    END IF;
    SELECT m.source_id INTO mapped_source FROM cutover.id_map AS m WHERE m.target_id = migrate_map_put.target_id;
    RAISE EXCEPTION 'target ID % is already mapped from source ID %, not from %',
        migrate_map_put.target_id, mapped_source, migrate_map_put.source_id
        USING ERRCODE = 'unique_violation',
              HINT = 'Two Supabase users cannot share one Stack Auth user.';
END
$$;
COMMENT ON FUNCTION migrate_map_put(uuid, uuid, text) IS
    'records source ID -> target ID; true if new, false if the same pair was there; an error for a conflicting pair';

CREATE FUNCTION migrate_remap(source_id uuid) RETURNS uuid
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mapped uuid;
BEGIN
    SELECT m.target_id INTO mapped FROM cutover.id_map AS m WHERE m.source_id = migrate_remap.source_id;
    IF mapped IS NULL THEN
        RAISE EXCEPTION 'source ID % has no target ID', source_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Create the user in Stack Auth first (cutover users), or record the pair with migrate_map_put.';
    END IF;
    RETURN mapped;
END
$$;
COMMENT ON FUNCTION migrate_remap(uuid) IS 'the target ID of a source ID; NULL for NULL; an error if unmapped';

CREATE FUNCTION migrate_unmap(target_id uuid) RETURNS uuid
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mapped uuid;
BEGIN
    SELECT m.source_id INTO mapped FROM cutover.id_map AS m WHERE m.target_id = migrate_unmap.target_id;
    IF mapped IS NULL THEN
        RAISE EXCEPTION 'target ID % is not mapped from any source ID', target_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Mappings older than the retention period are purged by migrate_map_purge.';
    END IF;
    RETURN mapped;
END
$$;
COMMENT ON FUNCTION migrate_unmap(uuid) IS 'the source ID a target ID came from (support''s lookup); an error if unmapped';

CREATE FUNCTION migrate_map_purge(older_than interval DEFAULT '90 days') RETURNS bigint
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    purged bigint;
BEGIN
    IF older_than < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative: %', older_than
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'migrate_map_purge(''90 days'') deletes mappings created more than 90 days ago.';
    END IF;
    DELETE FROM cutover.id_map AS m WHERE m.created_at < pg_catalog.now() - older_than;
    GET DIAGNOSTICS purged = ROW_COUNT;
    -- the journal holds the same pairs and emails: it goes with them
    DELETE FROM cutover.user_journal AS j
    WHERE j.updated_at < pg_catalog.now() - older_than
       OR (j.status IN ('created', 'adopted')
           AND NOT EXISTS (SELECT FROM cutover.id_map AS m WHERE m.source_id = j.source_id));
    RETURN purged;
END
$$;
COMMENT ON FUNCTION migrate_map_purge(interval) IS
    'deletes mappings created longer ago than older_than (default 90 days); returns how many';

-- ---------------------------------------------------------------------------------------------------------
-- The user journal of the cutover client: a Supabase user is marked 'sending' (in a committed transaction)
-- before its create request goes out, and 'created' together with its pair in the ID map as soon as the answer
-- arrives. After a crash, a user left 'sending' may exist in Stack Auth or not: the client looks it up there
-- and adopts it ('adopted') before it would send it again, so no user is created twice.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE cutover.user_journal (
    source_id uuid PRIMARY KEY,
    email text,
    kind text NOT NULL,
    status text NOT NULL CHECK (status IN ('sending', 'created', 'adopted', 'skipped', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    target_id uuid,
    notes text,
    last_error text,
    first_sent_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((status IN ('created', 'adopted')) = (target_id IS NOT NULL))
);
REVOKE ALL ON cutover.user_journal FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.user_journal', '');

CREATE FUNCTION migrate_user_sending(source_ids uuid[], emails text[], kinds text[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    marked integer;
BEGIN
    IF cardinality(source_ids) IS DISTINCT FROM cardinality(emails)
       OR cardinality(source_ids) IS DISTINCT FROM cardinality(kinds) THEN
        RAISE EXCEPTION 'source_ids, emails and kinds must have the same length (% , %, %)',
            cardinality(source_ids), cardinality(emails), cardinality(kinds)
            USING ERRCODE = 'array_subscript_error';
    END IF;
    IF EXISTS (SELECT FROM unnest(source_ids) AS u(id) WHERE u.id IS NULL) THEN
        RAISE EXCEPTION 'a source ID to send must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO cutover.user_journal AS j (source_id, email, kind, status, attempts, first_sent_at)
    SELECT u.id, u.email, u.kind, 'sending', 1, pg_catalog.now()
    FROM unnest(source_ids, emails, kinds) AS u(id, email, kind)
    ON CONFLICT (source_id) DO UPDATE
        SET status = 'sending', attempts = j.attempts + 1, email = EXCLUDED.email, kind = EXCLUDED.kind,
            first_sent_at = coalesce(j.first_sent_at, EXCLUDED.first_sent_at), updated_at = pg_catalog.now()
        WHERE j.status NOT IN ('created', 'adopted');
    GET DIAGNOSTICS marked = ROW_COUNT;
    RETURN marked;
END
$$;
COMMENT ON FUNCTION migrate_user_sending(uuid[], text[], text[]) IS
    'journals users as being sent to Stack Auth, before the requests go out; users already created are left alone; returns how many were marked';

CREATE FUNCTION migrate_user_created(source_id uuid, target_id uuid, email text DEFAULT NULL,
                                     adopted boolean DEFAULT false, notes text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.migrate_map_put(migrate_user_created.source_id, migrate_user_created.target_id,
                                        migrate_user_created.email);
    INSERT INTO cutover.user_journal AS j (source_id, email, kind, status, target_id, notes)
    VALUES (migrate_user_created.source_id, migrate_user_created.email, 'unknown',
            CASE WHEN adopted THEN 'adopted' ELSE 'created' END, migrate_user_created.target_id,
            migrate_user_created.notes)
    ON CONFLICT ON CONSTRAINT user_journal_pkey DO UPDATE
        SET status = EXCLUDED.status, target_id = EXCLUDED.target_id, email = EXCLUDED.email,
            notes = coalesce(EXCLUDED.notes, j.notes), last_error = NULL, updated_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION migrate_user_created(uuid, uuid, text, boolean, text) IS
    'records a user created (or found and adopted) in Stack Auth: its pair in the ID map and its journal row, in one transaction';

CREATE FUNCTION migrate_user_not_created(source_id uuid, status text, reason text, email text DEFAULT NULL,
                                         kind text DEFAULT 'unknown') RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('skipped', 'failed') THEN
        RAISE EXCEPTION 'status must be skipped or failed, not %', coalesce(status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM cutover.user_journal AS j
               WHERE j.source_id = migrate_user_not_created.source_id AND j.status IN ('created', 'adopted')) THEN
        RAISE EXCEPTION 'user % was already created in Stack Auth', migrate_user_not_created.source_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- a user sent before may exist in Stack Auth: skipping it now would lose track of it
    IF migrate_user_not_created.status = 'skipped' AND EXISTS (
           SELECT FROM cutover.user_journal AS j
           WHERE j.source_id = migrate_user_not_created.source_id AND j.status IN ('sending', 'failed')) THEN
        RAISE EXCEPTION 'user % was sent to Stack Auth before and may exist there: it cannot be skipped now',
            migrate_user_not_created.source_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Look it up in Stack Auth by its server_metadata.supabase_user_id and record it with migrate_user_created, or delete it there first.';
    END IF;
    INSERT INTO cutover.user_journal AS j (source_id, email, kind, status, last_error)
    VALUES (migrate_user_not_created.source_id, migrate_user_not_created.email, migrate_user_not_created.kind,
            migrate_user_not_created.status, reason)
    ON CONFLICT ON CONSTRAINT user_journal_pkey DO UPDATE
        SET status = EXCLUDED.status, last_error = EXCLUDED.last_error, updated_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION migrate_user_not_created(uuid, text, text, text, text) IS
    'records a user the client skipped (by decision) or failed to create (with the reason)';

CREATE FUNCTION migrate_users(
    OUT source_id uuid, OUT email text, OUT kind text, OUT status text, OUT target_id uuid, OUT attempts integer,
    OUT notes text, OUT last_error text, OUT updated_at timestamptz)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.source_id, j.email, j.kind, j.status, j.target_id, j.attempts, j.notes, j.last_error, j.updated_at
    FROM cutover.user_journal AS j ORDER BY j.source_id
$$;
COMMENT ON FUNCTION migrate_users() IS 'the user journal: every Supabase user the client sent, created, adopted, skipped or failed';

-- ---------------------------------------------------------------------------------------------------------
-- Exceptions to remapping by value. Every column that can hold a user ID is rewritten by value without a mark;
-- a mark makes a column a user-ID column (a UUID there that is no user is an error, as for a foreign key to the
-- users), opts it in for IDs embedded in longer text, or keeps it out entirely.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE cutover.remap_column (
    table_schema text NOT NULL,
    table_name text NOT NULL,
    column_name text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('user_ids', 'embedded', 'off')),
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (table_schema, table_name, column_name)
);
REVOKE ALL ON cutover.remap_column FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.remap_column', '');

-- The base type of a type: itself, or what its domain (over domains) is built on.
CREATE FUNCTION cutover.base_type(type_oid oid) RETURNS oid
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE chain(oid, typtype, typbasetype) AS (
        SELECT t.oid, t.typtype, t.typbasetype FROM pg_type t WHERE t.oid = type_oid
        UNION ALL
        SELECT t.oid, t.typtype, t.typbasetype FROM pg_type t JOIN chain c ON t.oid = c.typbasetype
        WHERE c.typtype = 'd'
    )
    SELECT oid FROM chain WHERE typtype <> 'd'
$$;
REVOKE ALL ON FUNCTION cutover.base_type(oid) FROM PUBLIC;

-- What a type can hold as far as user IDs go (none, uuid, string, json, jsonb, other), from the name of a base
-- type that is no array: the same rule the pull, the verification and the audit follow.
CREATE FUNCTION cutover.value_class(base_type text) RETURNS text
    AS 'MODULE_PATHNAME', 'migrate_value_class' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION cutover.value_class(text) FROM PUBLIC;

-- Why a column is no column of user IDs, from a sample of its rows on the source (NULL: the sample holds
-- some, or nothing can be told).
CREATE FUNCTION cutover.column_evidence(tbl regclass, column_name text, sample_rows integer) RETURNS text
    AS 'MODULE_PATHNAME', 'migrate_column_evidence' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION cutover.column_evidence(regclass, text, integer) FROM PUBLIC;

CREATE FUNCTION migrate_remap_column(tbl regclass, column_name text, mode text, force boolean DEFAULT false)
    RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    schema_name text;
    relation_name text;
    is_partition boolean;
    column_type text;
    base_type oid;
    element_type oid;
    value_class text;
    state text;
    evidence text;
BEGIN
    IF mode NOT IN ('value', 'user_ids', 'embedded', 'off') THEN
        RAISE EXCEPTION 'unknown remap mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The modes are value (the default: every user ID rewritten by value), user_ids (a column '
                         'of user IDs only), embedded (also IDs inside longer text) and off (kept out).';
    END IF;
    SELECT n.nspname, c.relname, c.relispartition INTO schema_name, relation_name, is_partition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = tbl AND c.relkind IN ('r', 'p');
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    IF is_partition THEN
        RAISE EXCEPTION '% is a partition', tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = format('Mark the column on the partitioned table %s.', pg_partition_root(tbl));
    END IF;
    SELECT format_type(a.atttypid, a.atttypmod), a.atttypid INTO column_type, base_type
    FROM pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of table % does not exist', column_name, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    -- Domains (over domains) resolve to their base type; arrays are judged by their elements' base type.
    base_type := cutover.base_type(base_type);
    SELECT t.typelem INTO element_type FROM pg_type t WHERE t.oid = base_type AND t.typcategory = 'A';
    IF element_type IS NOT NULL AND element_type <> 0 THEN
        base_type := cutover.base_type(element_type);
    END IF;
    value_class := cutover.value_class(format_type(base_type, NULL));
    IF mode = 'user_ids' AND value_class NOT IN ('uuid', 'string') THEN
        RAISE EXCEPTION 'column "%" of table % has type %, which cannot be a column of user IDs', column_name, tbl,
                column_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'User-ID columns are uuid, text, varchar, char or citext, or arrays of them; IDs inside '
                         'json or jsonb are rewritten by value without a mark.';
    END IF;
    IF mode = 'embedded' AND value_class NOT IN ('string', 'json', 'jsonb', 'other') THEN
        RAISE EXCEPTION 'column "%" of table % has type %, which cannot hold text with user IDs in it', column_name,
                tbl, column_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Embedded IDs are looked for in strings, json, jsonb and other types printed as text.';
    END IF;
    -- A column marked as holding user IDs must hold some on the source: site names are refused unless forced.
    IF mode IN ('user_ids', 'embedded') AND NOT force THEN
        evidence := cutover.column_evidence(tbl, column_name, 1000);
        IF evidence IS NOT NULL THEN
            RAISE EXCEPTION 'column "%" of table % does not hold user IDs: %', column_name, tbl, evidence
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Check the column''s name; to mark it all the same, SELECT migrate_remap_column(%L, %L, %L, force => true).',
                                    tbl::text, column_name, mode);
        END IF;
    END IF;
    IF mode = 'value' THEN
        DELETE FROM cutover.remap_column AS r
        WHERE r.table_schema = schema_name AND r.table_name = relation_name
          AND r.column_name = migrate_remap_column.column_name;
    ELSE
        INSERT INTO cutover.remap_column AS r (table_schema, table_name, column_name, mode)
        VALUES (schema_name, relation_name, migrate_remap_column.column_name, migrate_remap_column.mode)
        ON CONFLICT ON CONSTRAINT remap_column_pkey
            DO UPDATE SET mode = EXCLUDED.mode, changed_at = pg_catalog.now();
    END IF;
    -- A mark changes what the next pull writes, not what a table already holds.
    SELECT s.status INTO state FROM cutover.table_state s
    WHERE s.table_schema = schema_name AND s.table_name = relation_name;
    IF state IN ('loaded', 'verified', 'loading') THEN
        RAISE WARNING 'table % is already %: its rows keep what the pull wrote until it is reset and pulled again',
            tbl, state
            USING HINT = format('Run `cutover reset %s` (or SELECT * FROM migrate_reset(%L)): it and what depends on '
                                'it become pending, and the next `cutover pull` loads them with the mark.',
                                tbl::text, tbl::text);
    END IF;
    RETURN format('%s.%s %s', tbl, quote_ident(column_name),
                  CASE mode WHEN 'user_ids' THEN 'holds user IDs only'
                            WHEN 'embedded' THEN 'has user IDs rewritten also inside longer text'
                            WHEN 'off' THEN 'is kept out of remapping'
                            ELSE 'has user IDs rewritten by value' END);
END
$$;
COMMENT ON FUNCTION migrate_remap_column(regclass, text, text, boolean) IS
    'an exception to remapping by value: user_ids (a column of user IDs only), embedded (also IDs inside longer text), off (kept out), value (no exception); a column whose values sampled on the source hold no user ID is marked user_ids or embedded only with force';

CREATE FUNCTION migrate_remap_column(tbl regclass, column_name text, remap boolean DEFAULT true,
    force boolean DEFAULT false) RETURNS text
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.migrate_remap_column(tbl, column_name, CASE WHEN remap THEN 'user_ids' ELSE 'off' END, force) $$;
COMMENT ON FUNCTION migrate_remap_column(regclass, text, boolean, boolean) IS
    'marks a column as a column of user IDs (true; refused when its sampled source values hold none, unless force) or keeps it out of remapping (false)';

-- ---------------------------------------------------------------------------------------------------------
-- Per-table state: where each table stands, changed in the same transaction as the work it describes.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE cutover.table_state (
    table_schema text NOT NULL,
    table_name text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'loading', 'loaded', 'verified', 'failed')),
    rows bigint,
    source_checksum text,
    target_checksum text,
    started_at timestamptz,
    finished_at timestamptz,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (table_schema, table_name)
);
REVOKE ALL ON cutover.table_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.table_state', '');

-- The client's import of an archive: the table's state becomes loading in the transaction that loads it.
CREATE FUNCTION migrate_import_started(tbl regclass) RETURNS void
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO cutover.table_state AS s (table_schema, table_name, status, started_at)
    SELECT n.nspname, c.relname, 'loading', pg_catalog.clock_timestamp()
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = migrate_import_started.tbl
    ON CONFLICT (table_schema, table_name) DO UPDATE SET status = 'loading', rows = NULL,
        source_checksum = NULL, target_checksum = NULL, started_at = EXCLUDED.started_at,
        finished_at = NULL, last_error = NULL, updated_at = pg_catalog.now();
END;
COMMENT ON FUNCTION migrate_import_started(regclass) IS
    'sets a table''s state to loading, as migrate_pull does; cutover import calls it in the transaction that loads the table';

CREATE FUNCTION migrate_import_failed(tbl regclass, error text) RETURNS void
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO cutover.table_state AS s (table_schema, table_name, status, last_error)
    SELECT n.nspname, c.relname, 'failed', migrate_import_failed.error
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = migrate_import_failed.tbl
    ON CONFLICT (table_schema, table_name) DO UPDATE SET status = 'failed', last_error = EXCLUDED.last_error,
        finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.now()
    WHERE s.status NOT IN ('loaded', 'verified');
END;
COMMENT ON FUNCTION migrate_import_failed(regclass, text) IS
    'records why the import of a table was refused (its rows were rolled back); a loaded table keeps its state';

CREATE FUNCTION migrate_status(
    OUT table_name text, OUT status text, OUT rows bigint, OUT source_checksum text, OUT target_checksum text,
    OUT started_at timestamptz, OUT finished_at timestamptz, OUT seconds double precision, OUT last_error text)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
AS $$
    -- A table being pulled holds the pull's advisory lock (classid 'cut0' = 1668641840, objid its OID) while
    -- its state row is still uncommitted: it shows as loading, with a row of its own if it has none yet.
    WITH pulling AS (
        SELECT n.nspname AS table_schema, c.relname AS table_name, a.query_start
        FROM pg_locks AS l
        JOIN pg_class AS c ON c.oid = l.objid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = 1668641840 AND l.objsubid = 2 AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.pid <> pg_backend_pid()
    )
    SELECT format('%s.%s', quote_ident(coalesce(s.table_schema, p.table_schema)),
                  quote_ident(coalesce(s.table_name, p.table_name))),
           CASE WHEN p.table_name IS NOT NULL THEN 'loading' ELSE s.status END,
           CASE WHEN p.table_name IS NULL THEN s.rows END,
           CASE WHEN p.table_name IS NULL THEN s.source_checksum END,
           CASE WHEN p.table_name IS NULL THEN s.target_checksum END,
           CASE WHEN p.table_name IS NOT NULL THEN p.query_start ELSE s.started_at END,
           CASE WHEN p.table_name IS NULL THEN s.finished_at END,
           CASE WHEN p.table_name IS NULL THEN extract(epoch FROM s.finished_at - s.started_at)::double precision END,
           CASE WHEN p.table_name IS NULL THEN s.last_error END
    FROM cutover.table_state AS s
    FULL JOIN pulling AS p ON p.table_schema = s.table_schema AND p.table_name = s.table_name
    ORDER BY coalesce(s.table_schema, p.table_schema), coalesce(s.table_name, p.table_name)
$$;
COMMENT ON FUNCTION migrate_status() IS 'the state of every table the cutover knows: pending, loading, loaded, verified or failed';

CREATE FUNCTION migrate_reset(tbl regclass) RETURNS SETOF text
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    -- The table and every table whose foreign keys lead to it, directly or through others.
    RETURN QUERY
    -- (Partitions carry copies of their parent's keys, conparentid <> 0: the parent stands for them.)
    WITH RECURSIVE dependent(relid) AS (
        SELECT tbl::oid
        UNION
        SELECT con.conrelid FROM pg_constraint con JOIN dependent d ON con.confrelid = d.relid
        WHERE con.contype = 'f' AND con.conparentid = 0
    ), reset AS (
        INSERT INTO cutover.table_state AS s (table_schema, table_name, status)
        SELECT n.nspname, c.relname, 'pending'
        FROM dependent d JOIN pg_class c ON c.oid = d.relid JOIN pg_namespace n ON n.oid = c.relnamespace
        ON CONFLICT (table_schema, table_name) DO UPDATE
            SET status = 'pending', rows = NULL, source_checksum = NULL, target_checksum = NULL,
                started_at = NULL, finished_at = NULL, last_error = NULL, updated_at = pg_catalog.now()
        RETURNING s.table_schema, s.table_name
    )
    SELECT format('%s.%s', quote_ident(r.table_schema), quote_ident(r.table_name)) FROM reset AS r
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION migrate_reset(regclass) IS
    'returns a table and the tables that depend on it to pending; returns their names';

-- ---------------------------------------------------------------------------------------------------------
-- The plan: what to move, in what order, and which columns hold user IDs, read from the source's catalogs.
-- ---------------------------------------------------------------------------------------------------------
CREATE FUNCTION migrate_plan(schemas text[] DEFAULT ARRAY['public'], sample_rows integer DEFAULT 2000,
    OUT table_name text, OUT level integer, OUT row_estimate bigint, OUT user_id_columns text[],
    OUT user_id_values text[], OUT cycle text[], OUT load text, OUT problem text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_plan(text[], integer) IS
    'the load plan from the source''s catalogs: foreign-key level, cycles, user-ID columns, where a sample of the rows holds user IDs, and problems per table';

CREATE FUNCTION migrate_preflight(schemas text[] DEFAULT ARRAY['public'],
    OUT table_name text, OUT column_name text, OUT source_type text, OUT target_type text,
    OUT problem text, OUT severity text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_preflight(text[]) IS
    'source and target compared before any write: tables and columns on one side only, types, NOT NULL, generated columns';

-- ---------------------------------------------------------------------------------------------------------
-- The pull: one table from the source into the target, user IDs rewritten inline, all or nothing.
-- ---------------------------------------------------------------------------------------------------------
CREATE FUNCTION migrate_pull(tbl regclass, snapshot text DEFAULT NULL,
    OUT table_name text, OUT status text, OUT rows bigint, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    -- values arrive as the source prints them under the fixed settings, and are read back the same way
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET lc_monetary = 'C' SET xmloption = 'content'
    -- user triggers and foreign-key triggers stay quiet during the load (as pg_restore --disable-triggers)
    SET session_replication_role = 'replica';
COMMENT ON FUNCTION migrate_pull(regclass, text) IS
    'copies a table from the source in one transaction, rewriting user IDs from the ID map; skips a loaded table';

-- ---------------------------------------------------------------------------------------------------------
-- The proof that no Supabase user ID is left: every table of the target read for the IDs of the ID map.
-- ---------------------------------------------------------------------------------------------------------
-- The audit's reading of one whole row (works only inside migrate_audit_ids: 55000 otherwise); the state
-- counts rows.
CREATE FUNCTION cutover.migrate_audit_agg_transfn(bigint, tid, record) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE AGGREGATE cutover.migrate_audit_agg(tid, record) (
    SFUNC = cutover.migrate_audit_agg_transfn,
    STYPE = bigint,
    INITCOND = '0',
    PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE cutover.migrate_audit_agg(tid, record) IS
    'counts the Supabase user IDs of whole rows; used by migrate_audit_ids';

CREATE FUNCTION migrate_audit_ids(schemas text[] DEFAULT ARRAY['public'],
    OUT table_name text, OUT column_name text, OUT json_path text, OUT kind text, OUT ids bigint,
    OUT example_key text, OUT example_id text, OUT remap text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C' SET row_security = off
    SET quote_all_identifiers = off SET max_parallel_workers_per_gather = 0;
COMMENT ON FUNCTION migrate_audit_ids(text[]) IS
    'every Supabase user ID of the ID map still in the target: table, column, JSON path, kind (value, array element, json value, json key, embedded), count, an example row and ID, and the column''s remap mode';

-- After the load: foreign keys checked (the pull loads with them unchecked) and sequences moved past the data.
CREATE FUNCTION migrate_check_fks(schemas text[] DEFAULT ARRAY['public'],
    OUT table_name text, OUT constraint_name text, OUT ok boolean, OUT violations bigint, OUT sample_key text)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk record;
    from_cols text;
    key_cols text;
    match_cond text;
    not_null text;
BEGIN
    FOR fk IN
        SELECT con.conname, con.conrelid::regclass AS child, con.confrelid::regclass AS parent,
               con.conkey, con.confkey, con.conpfeqop
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE con.contype = 'f' AND con.conparentid = 0 AND n.nspname = ANY (schemas)
        ORDER BY n.nspname, c.relname, con.conname
    LOOP
        SELECT string_agg(format('c.%I', a.attname), ', ' ORDER BY k.ord),
               string_agg(format('c.%I IS NOT NULL', a.attname), ' AND ' ORDER BY k.ord),
               -- the constraint's own equality operators, as the foreign key compares (citext, ...)
               string_agg(format('p.%I OPERATOR(%I.%s) c.%I', pa.attname, opn.nspname, op.oprname, a.attname),
                          ' AND ' ORDER BY k.ord)
        INTO from_cols, not_null, match_cond
        FROM unnest(fk.conkey, fk.confkey, fk.conpfeqop) WITH ORDINALITY AS k(from_num, to_num, eqop, ord)
        JOIN pg_attribute a ON a.attrelid = fk.child AND a.attnum = k.from_num
        JOIN pg_attribute pa ON pa.attrelid = fk.parent AND pa.attnum = k.to_num
        JOIN pg_operator op ON op.oid = k.eqop
        JOIN pg_namespace opn ON opn.oid = op.oprnamespace;
        table_name := fk.child::text;
        constraint_name := fk.conname;
        -- MATCH SIMPLE: a key with a NULL in it refers to nothing
        EXECUTE format('SELECT count(*), min(ROW(%s)::text) FROM %s AS c WHERE %s AND NOT EXISTS '
                       '(SELECT FROM %s AS p WHERE %s)', from_cols, fk.child, not_null, fk.parent, match_cond)
            INTO violations, sample_key;
        ok := violations = 0;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION migrate_check_fks(text[]) IS
    'checks every foreign key of the given schemas after the load: violations and a sample key per constraint';

-- The source's sequences and their last values (NULL for one never used or not readable).
CREATE FUNCTION cutover.source_sequences(OUT schema_name text, OUT sequence_name text, OUT last_value bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'source_sequences' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION cutover.source_sequences() FROM PUBLIC;

CREATE FUNCTION migrate_fix_sequences(schemas text[] DEFAULT ARRAY['public'],
    OUT sequence_name text, OUT table_name text, OUT column_name text, OUT next_value bigint)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seq record;
    column_extreme bigint;
    extreme bigint;
    increment bigint;
BEGIN
    -- Every sequence a column of the given schemas uses, as its owner (serial, identity) or in its default
    -- (nextval), moved to the source's value or past the values loaded in every column that uses it,
    -- whichever is further: no key the source ever handed out is handed out again.
    FOR seq IN
        WITH src AS MATERIALIZED (SELECT * FROM cutover.source_sequences()),
        uses AS (
            SELECT d.objid AS seqid, d.refobjid AS relid, d.refobjsubid AS attnum
            FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i')
            UNION
            SELECT d.refobjid, ad.adrelid, ad.adnum
            FROM pg_depend d JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
            WHERE d.refclassid = 'pg_class'::regclass
        )
        SELECT u.seqid::regclass AS seqname, u.seqid, min(src.last_value) AS source_value,
               array_agg(u.relid ORDER BY c.relname, a.attname) AS relids,
               array_agg(a.attname ORDER BY c.relname, a.attname) AS attnames
        FROM uses u
        JOIN pg_class s ON s.oid = u.seqid AND s.relkind = 'S'
        JOIN pg_namespace sn ON sn.oid = s.relnamespace
        JOIN pg_class c ON c.oid = u.relid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
        LEFT JOIN src ON src.schema_name = sn.nspname AND src.sequence_name = s.relname
        WHERE n.nspname = ANY (schemas)
        GROUP BY u.seqid
        ORDER BY u.seqid::regclass::text
    LOOP
        SELECT s.seqincrement INTO increment FROM pg_sequence s WHERE s.seqrelid = seq.seqid;
        extreme := seq.source_value;
        FOR i IN 1 .. array_length(seq.relids, 1) LOOP
            -- a descending sequence moves below the smallest value instead
            EXECUTE format('SELECT %s(%I)::bigint FROM %s', CASE WHEN increment > 0 THEN 'max' ELSE 'min' END,
                           seq.attnames[i], seq.relids[i]::regclass)
                INTO column_extreme;
            extreme := CASE WHEN increment > 0 THEN greatest(extreme, column_extreme)
                            ELSE least(extreme, column_extreme) END;
        END LOOP;
        IF extreme IS NULL THEN
            SELECT s.seqstart INTO next_value FROM pg_sequence s WHERE s.seqrelid = seq.seqid;
            PERFORM setval(seq.seqname, next_value, false);
        ELSE
            PERFORM setval(seq.seqname, extreme, true);
            next_value := extreme + increment;
        END IF;
        sequence_name := seq.seqname::text;
        table_name := seq.relids[1]::regclass::text;
        column_name := seq.attnames[1];
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION migrate_fix_sequences(text[]) IS
    'moves every owned sequence to the source''s value or past the largest value loaded, so the next insert does not collide';

-- Only the extension's owner may call the migrate_* functions until it grants EXECUTE on them. A role
-- granted migrate_checksum or migrate_verify also needs SELECT on the tables it checks. The aggregate and its
-- support functions stay callable by everyone: they only hash the values they are given, and
-- migrate_checksum runs them as its caller.
REVOKE ALL ON FUNCTION
    migrate_checksum(regclass), migrate_source_checksum_sql(regclass), migrate_source(text),
    migrate_source_differs(text, text), migrate_verify(regclass), migrate_verify_all(text[]), migrate_verify_checksum(regclass, bigint, text, text[]),
    migrate_diff(regclass, integer),
    migrate_import_started(regclass), migrate_import_failed(regclass, text),
    migrate_map_put(uuid, uuid, text), migrate_remap(uuid), migrate_unmap(uuid), migrate_map_purge(interval),
    migrate_remap_column(regclass, text, boolean, boolean), migrate_remap_column(regclass, text, text, boolean), migrate_status(), migrate_reset(regclass),
    migrate_plan(text[], integer), migrate_preflight(text[]), migrate_pull(regclass, text), migrate_audit_ids(text[]),
    migrate_check_fks(text[]), migrate_fix_sequences(text[]),
    migrate_user_sending(uuid[], text[], text[]), migrate_user_created(uuid, uuid, text, boolean, text),
    migrate_user_not_created(uuid, text, text, text, text), migrate_users()
    FROM PUBLIC;
