-- pg_cutover_users.sql: the ID map and the client's user journal (second part of the install script).

-- ---------------------------------------------------------------------------------------------------------
-- The ID map: Supabase user ID (source) to Stack Auth user ID (target), kept for support after the cutover.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE cutover.id_map (
    source_id uuid PRIMARY KEY,
    target_id uuid NOT NULL UNIQUE,
    email text,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- when the Supabase user was found deleted (cutover users --sync): the pair stays for support until purged
    removed_at timestamptz
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
    -- what was last sent and acknowledged (user_sync.hpp): the SHA-256 of the user's create body without its
    -- OAuth accounts, and of those accounts; NULL for a user adopted or recorded by hand (not known)
    sent_digest text,
    identities_digest text,
    -- what the plan was made from (the source's row digest of the user, with its identities and the users
    -- sharing its email, and the client's planning settings): a sync plans again only users whose one differs
    source_digest text,
    -- when the user was found deleted in Supabase, and when it was deleted from Stack Auth (--delete-removed)
    removed_at timestamptz,
    deleted_at timestamptz,
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
                                     adopted boolean DEFAULT false, notes text DEFAULT NULL,
                                     sent_digest text DEFAULT NULL, identities_digest text DEFAULT NULL,
                                     source_digest text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.migrate_map_put(migrate_user_created.source_id, migrate_user_created.target_id,
                                        migrate_user_created.email);
    INSERT INTO cutover.user_journal AS j (source_id, email, kind, status, target_id, notes, sent_digest,
                                           identities_digest, source_digest)
    VALUES (migrate_user_created.source_id, migrate_user_created.email, 'unknown',
            CASE WHEN adopted THEN 'adopted' ELSE 'created' END, migrate_user_created.target_id,
            migrate_user_created.notes, migrate_user_created.sent_digest, migrate_user_created.identities_digest,
            migrate_user_created.source_digest)
    ON CONFLICT ON CONSTRAINT user_journal_pkey DO UPDATE
        SET status = EXCLUDED.status, target_id = EXCLUDED.target_id, email = EXCLUDED.email,
            notes = coalesce(EXCLUDED.notes, j.notes), last_error = NULL, sent_digest = EXCLUDED.sent_digest,
            identities_digest = EXCLUDED.identities_digest, source_digest = EXCLUDED.source_digest,
            updated_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION migrate_user_created(uuid, uuid, text, boolean, text, text, text, text) IS
    'records a user created (or found and adopted) in Stack Auth: its pair in the ID map and its journal row, with the digests of what was sent, in one transaction';

CREATE FUNCTION migrate_user_updated(source_id uuid, sent_digest text, source_digest text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE cutover.user_journal AS j
    SET sent_digest = migrate_user_updated.sent_digest, source_digest = migrate_user_updated.source_digest,
        last_error = NULL, updated_at = pg_catalog.now()
    WHERE j.source_id = migrate_user_updated.source_id AND j.status IN ('created', 'adopted');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % was not created in Stack Auth: there is nothing to update',
            coalesce(migrate_user_updated.source_id::text, 'NULL')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;
COMMENT ON FUNCTION migrate_user_updated(uuid, text, text) IS
    'records that a user''s Stack Auth data was brought up to date (PATCH): the digests of what was sent and of what it was made from';

CREATE FUNCTION migrate_user_removed(source_id uuid, deleted boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE cutover.id_map AS m SET removed_at = coalesce(m.removed_at, pg_catalog.now())
    WHERE m.source_id = migrate_user_removed.source_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'source ID % has no target ID', coalesce(migrate_user_removed.source_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE cutover.user_journal AS j
    SET removed_at = coalesce(j.removed_at, pg_catalog.now()),
        deleted_at = CASE WHEN deleted THEN coalesce(j.deleted_at, pg_catalog.now()) ELSE j.deleted_at END,
        updated_at = pg_catalog.now()
    WHERE j.source_id = migrate_user_removed.source_id;
END
$$;
COMMENT ON FUNCTION migrate_user_removed(uuid, boolean) IS
    'marks a mapped user found deleted in Supabase (and, with deleted, deleted from Stack Auth); its pair stays until purged';

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
    OUT notes text, OUT last_error text, OUT updated_at timestamptz, OUT sent_digest text,
    OUT identities_digest text, OUT removed_at timestamptz, OUT deleted_at timestamptz, OUT source_digest text)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.source_id, j.email, j.kind, j.status, j.target_id, j.attempts, j.notes, j.last_error, j.updated_at,
           j.sent_digest, j.identities_digest, j.removed_at, j.deleted_at, j.source_digest
    FROM cutover.user_journal AS j ORDER BY j.source_id
$$;
COMMENT ON FUNCTION migrate_users() IS 'the user journal: every Supabase user the client sent, created, adopted, skipped or failed';

