-- pg_cutover_plan.sql: remap marks, per-table state, the plan and the preflight (third part of the install script).

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
    AS 'MODULE_PATHNAME', 'value_class' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION cutover.value_class(text) FROM PUBLIC;

-- Why a column is no column of user IDs, from a sample of its rows on the source (NULL: the sample holds
-- some, or nothing can be told).
CREATE FUNCTION cutover.column_evidence(tbl regclass, column_name text, sample_rows integer) RETURNS text
    AS 'MODULE_PATHNAME', 'column_evidence' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
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

-- The key ranges of a table split for migrate_pull_range and migrate_verify_range, from a sample of the source's primary key (blocks of the source's heap for a
-- table without one). A range holds the keys k with lower <= k < upper, compared as rows; NULL is unbounded.
CREATE TABLE cutover.table_ranges (
    table_schema text NOT NULL,
    table_name text NOT NULL,
    range_no integer NOT NULL CHECK (range_no >= 1),
    key_columns text[] NOT NULL, -- the source's primary key; empty: block ranges of the heap (ctid)
    lower text[],
    upper text[],
    -- split: boundaries only; pending: part of a pull in progress; loaded: its rows are committed
    status text NOT NULL DEFAULT 'split' CHECK (status IN ('split', 'pending', 'loaded')),
    rows bigint,
    finished_at timestamptz,
    -- the last verification of the range, both sides; added up by migrate_verify_ranges
    verify_started_at timestamptz,
    source_side text,
    source_rows bigint,
    source_checksum text,
    target_rows bigint,
    target_checksum text,
    leftovers text,
    PRIMARY KEY (table_schema, table_name, range_no)
);
REVOKE ALL ON cutover.table_ranges FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cutover.table_ranges', '');

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
    OUT started_at timestamptz, OUT finished_at timestamptz, OUT seconds double precision, OUT last_error text,
    OUT ranges_loaded integer, OUT ranges integer)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
AS $$
    -- A table being pulled holds the pull's advisory lock (classid 'cut0' = 1668641840, objid its OID) while
    -- its state row is still uncommitted: it shows as loading, with a row of its own if it has none yet.
    -- (The ranges of a table pulled in key ranges hold it shared, one backend each.)
    WITH pulling AS (
        SELECT DISTINCT ON (n.nspname, c.relname) n.nspname AS table_schema, c.relname AS table_name, a.query_start
        FROM pg_locks AS l
        JOIN pg_class AS c ON c.oid = l.objid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = 1668641840 AND l.objsubid = 2 AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.pid <> pg_backend_pid()
        ORDER BY n.nspname, c.relname, a.query_start
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
           CASE WHEN p.table_name IS NULL THEN s.last_error END,
           r.loaded, r.ranges
    FROM cutover.table_state AS s
    FULL JOIN pulling AS p ON p.table_schema = s.table_schema AND p.table_name = s.table_name
    -- a table pulled in key ranges: how many of them are in
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE g.status = 'loaded')::integer AS loaded, count(*)::integer AS ranges
        FROM cutover.table_ranges AS g
        WHERE g.table_schema = coalesce(s.table_schema, p.table_schema)
          AND g.table_name = coalesce(s.table_name, p.table_name) AND g.status <> 'split'
        HAVING count(*) > 0
    ) AS r ON true
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
    ), unsplit AS (
        -- a pull in key ranges starts over: the boundaries stay, the ranges loaded are forgotten
        UPDATE cutover.table_ranges AS g SET status = 'split', rows = NULL, finished_at = NULL
        FROM reset AS r WHERE g.table_schema = r.table_schema AND g.table_name = r.table_name
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

