-- pg_cutover_load.sql: the pull, the audit of user IDs, foreign keys and sequences after the load, and who may
-- call what (last part of the install script).

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
-- A big table split by key ranges: each range pulled (or verified) by its own backend, from the same
-- snapshot, the ranges' rows and their completion committed together, the indexes built once at the end.
-- ---------------------------------------------------------------------------------------------------------
CREATE FUNCTION migrate_split(tbl regclass, ranges integer,
    OUT range_no integer, OUT lower text[], OUT upper text[], OUT status text, OUT rows bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC';
COMMENT ON FUNCTION migrate_split(regclass, integer) IS
    'the key ranges of a table (made from a sample of the source''s key when it has none yet, evenly by rows); clears their last verification';

CREATE FUNCTION migrate_pull_split(tbl regclass, ranges integer, min_rows bigint DEFAULT 1000000,
    min_bytes bigint DEFAULT 268435456,
    OUT range_no integer, OUT status text, OUT rows bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET lc_monetary = 'C' SET xmloption = 'content'
    SET session_replication_role = 'replica';
COMMENT ON FUNCTION migrate_pull_split(regclass, integer, bigint, bigint) IS
    'starts the pull of a big table in key ranges (empties it, defers its indexes, state loading) and returns them; returns the ranges left of a pull in progress; no rows: pull it whole';

CREATE FUNCTION migrate_pull_range(tbl regclass, range_no integer, snapshot text DEFAULT NULL,
    OUT table_name text, OUT status text, OUT rows bigint, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
    SET lc_monetary = 'C' SET xmloption = 'content'
    SET session_replication_role = 'replica';
COMMENT ON FUNCTION migrate_pull_range(regclass, integer, text) IS
    'copies one key range of a table being pulled in ranges, its rows and its completion in one transaction; skips a loaded range';

CREATE FUNCTION migrate_pull_finish(tbl regclass,
    OUT table_name text, OUT status text, OUT rows bigint, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_pull_finish(regclass) IS
    'after the last range: builds the table''s indexes once and marks it loaded';

CREATE FUNCTION migrate_verify_range(tbl regclass, range_no integer,
    OUT source_rows bigint, OUT target_rows bigint, OUT ok boolean, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_verify_range(regclass, integer) IS
    'the checksums of one key range of a table (migrate_split) on both sides, kept for migrate_verify_ranges';

CREATE FUNCTION migrate_verify_ranges(tbl regclass,
    OUT table_name text, OUT source_rows bigint, OUT target_rows bigint, OUT source_checksum text,
    OUT target_checksum text, OUT ok boolean, OUT seconds double precision)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION migrate_verify_ranges(regclass) IS
    'the verification of a table from the checksums of its ranges, added up: recorded as migrate_verify records it';

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
    migrate_diff(regclass, integer, boolean),
    migrate_import_started(regclass), migrate_import_failed(regclass, text),
    migrate_map_put(uuid, uuid, text), migrate_remap(uuid), migrate_unmap(uuid), migrate_map_purge(interval),
    migrate_remap_column(regclass, text, boolean, boolean), migrate_remap_column(regclass, text, text, boolean), migrate_status(), migrate_reset(regclass),
    migrate_plan(text[], integer), migrate_preflight(text[]), migrate_pull(regclass, text), migrate_audit_ids(text[]),
    migrate_split(regclass, integer), migrate_pull_split(regclass, integer, bigint, bigint),
    migrate_pull_range(regclass, integer, text), migrate_pull_finish(regclass), migrate_verify_range(regclass, integer),
    migrate_verify_ranges(regclass),
    migrate_check_fks(text[]), migrate_fix_sequences(text[]),
    migrate_user_sending(uuid[], text[], text[]), migrate_user_created(uuid, uuid, text, boolean, text, text, text, text),
    migrate_user_not_created(uuid, text, text, text, text), migrate_user_updated(uuid, text, text),
    migrate_user_removed(uuid, boolean), migrate_users()
    FROM PUBLIC;
