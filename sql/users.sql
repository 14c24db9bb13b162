--
-- The user journal of the cutover client: 'sending' before a request, 'created'/'adopted' with the ID map pair
-- in one transaction, 'skipped'/'failed' with a reason; users already created are never marked again.
--
SELECT migrate_user_sending(ARRAY['a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002',
                                  'a0000000-0000-4000-8000-000000000003']::uuid[],
                            ARRAY['ann@example.com', NULL, 'Cy@Example.com'], ARRAY['regular', 'anonymous', 'regular']);
SELECT source_id, email, kind, status, attempts, target_id FROM migrate_users();
-- sent again after a crash: attempts counted
SELECT migrate_user_sending(ARRAY['a0000000-0000-4000-8000-000000000001']::uuid[], ARRAY['ann@example.com'], ARRAY['regular']);
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'ann@example.com');
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', NULL, true,
                            'anonymous user');
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000003', 'failed', 'HTTP 400 SCHEMA_ERROR: body.primary_email must be a valid email');
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000004', 'skipped', 'metadata too large (120000 bytes)', NULL, 'regular');
SELECT source_id, email, kind, status, attempts, target_id, notes, last_error FROM migrate_users();
SELECT source_id, target_id, email FROM cutover.id_map ORDER BY source_id;
-- the digests of what was sent, kept with a created user (a sync compares them); recorded again when adopted
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000005', 'b0000000-0000-4000-8000-000000000005',
                            'eve@example.com', sent_digest => repeat('a', 64), identities_digest => repeat('b', 64),
                            source_digest => repeat('d', 64));
SELECT source_id, status, left(sent_digest, 4) AS sent, left(identities_digest, 4) AS identities,
       left(source_digest, 4) AS source FROM migrate_users()
WHERE source_id IN ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000005');
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000005', 'b0000000-0000-4000-8000-000000000005',
                            'eve@example.com', true);
SELECT source_id, status, sent_digest IS NULL AS sent_unknown, source_digest IS NULL AS source_unknown FROM migrate_users()
WHERE source_id = 'a0000000-0000-4000-8000-000000000005';
-- a created user is not marked sending again, nor failed
SELECT migrate_user_sending(ARRAY['a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000003']::uuid[],
                            ARRAY['ann@example.com', 'cy@example.com'], ARRAY['regular', 'regular']);
SELECT source_id, status, attempts FROM migrate_users() ORDER BY source_id;
\set VERBOSITY terse
-- a user brought up to date (a sync's PATCH) records the digest of what was sent; one never created cannot be
SELECT migrate_user_updated('a0000000-0000-4000-8000-000000000005', repeat('c', 64), repeat('e', 64));
SELECT status, left(sent_digest, 4) AS sent, left(source_digest, 4) AS source FROM migrate_users()
WHERE source_id = 'a0000000-0000-4000-8000-000000000005';
SELECT migrate_user_updated('a0000000-0000-4000-8000-000000000003', repeat('c', 64));
-- a user found deleted in Supabase: its pair marked and kept; then deleted from Stack Auth too
SELECT migrate_user_removed('a0000000-0000-4000-8000-000000000005');
SELECT removed_at IS NOT NULL AS removed, deleted_at IS NULL AS still_in_stack_auth FROM migrate_users()
WHERE source_id = 'a0000000-0000-4000-8000-000000000005';
SELECT removed_at AS first_removed FROM cutover.id_map WHERE source_id = 'a0000000-0000-4000-8000-000000000005' \gset
SELECT migrate_user_removed('a0000000-0000-4000-8000-000000000005', deleted => true);
SELECT removed_at IS NOT NULL AS removed, deleted_at IS NOT NULL AS deleted FROM migrate_users()
WHERE source_id = 'a0000000-0000-4000-8000-000000000005';
SELECT removed_at = :'first_removed' AS removed_when_first_seen, migrate_remap(source_id) = target_id AS still_mapped
FROM cutover.id_map WHERE source_id = 'a0000000-0000-4000-8000-000000000005';
SELECT migrate_user_removed('a0000000-0000-4000-8000-0000000000ee');
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000001', 'failed', 'late error');
-- a second Stack Auth user for the same Supabase user: refused, and nothing of it recorded
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-0000000000ff', 'ann@example.com');
-- a Stack Auth user that already belongs to another Supabase user: refused, the journal row stays sending
SELECT migrate_user_created('a0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000001', 'cy@example.com');
-- bad inputs
SELECT migrate_user_sending(ARRAY['a0000000-0000-4000-8000-000000000009']::uuid[], ARRAY[]::text[], ARRAY['regular']);
SELECT migrate_user_sending(ARRAY[NULL]::uuid[], ARRAY['x@example.com'], ARRAY['regular']);
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000003', 'skipped', 'metadata too large now');
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000009', 'created', 'no');
SELECT migrate_user_not_created('a0000000-0000-4000-8000-000000000009', NULL, 'no');
SELECT migrate_user_created(NULL, 'b0000000-0000-4000-8000-000000000009');
\set VERBOSITY default
SELECT source_id, status, attempts, target_id FROM migrate_users();
SELECT count(*) AS pairs FROM cutover.id_map;
-- the journal goes with the map at purge time
UPDATE cutover.user_journal SET updated_at = now() - interval '91 days' WHERE source_id = 'a0000000-0000-4000-8000-000000000004';
UPDATE cutover.id_map SET created_at = now() - interval '91 days' WHERE source_id = 'a0000000-0000-4000-8000-000000000002';
SELECT migrate_map_purge();
SELECT source_id, status FROM migrate_users();
-- privileges: nobody but the owner
CREATE ROLE regress_users_nobody;
SET ROLE regress_users_nobody;
SELECT * FROM migrate_users();
SELECT migrate_user_sending(ARRAY['a0000000-0000-4000-8000-000000000009']::uuid[], ARRAY['x@example.com'], ARRAY['regular']);
SELECT count(*) FROM cutover.user_journal;
RESET ROLE;
DROP ROLE regress_users_nobody;
DELETE FROM cutover.user_journal;
DELETE FROM cutover.id_map;
