/*
 * user_sync.hpp: what `cutover users --sync` needs to know about a user it created before, without asking Stack
 * Auth: the digest of what was last sent (kept in the user journal), and the PATCH that brings a Stack Auth
 * user to a new plan. Pure: no network, no database.
 *
 * A user's plan (supabase_user.hpp) is a create body. What a PATCH can change is that body without
 * `oauth_providers` (Stack Auth takes OAuth accounts on create only): its digest is the SHA-256 of its JSON
 * with sorted keys, so a change of email, confirmation, password hash, name, avatar, metadata, ban or soft
 * delete changes it. The OAuth accounts have a digest of their own: a change there cannot be sent, only
 * reported.
 */
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "supabase_user.hpp"

namespace cutover {

/* The digest of what a PATCH can change in the user a create body makes (64 hex digits). */
std::string PatchableDigest(const nlohmann::json &create_body);

/* The digest of the OAuth accounts a create body makes (64 hex digits; that of [] when none). */
std::string IdentitiesDigest(const nlohmann::json &create_body);

/*
 * The PATCH /api/v1/users/{id} body that makes a user created from any earlier plan equal to the one
 * `create_body` makes: every field of the create body but `oauth_providers`, and null for each nullable field
 * it leaves out (an email, name, avatar, metadata or restriction reason taken away since), `password: null`
 * when it imports no password hash (a password taken away), no `is_anonymous` when it is true (PATCH takes
 * only false).
 */
nlohmann::json PatchBody(const nlohmann::json &create_body);

/*
 * The planning options (`settings`) and the version of the planning rules, as 16 hex digits: part of every
 * source digest, so that other options or a client that plans differently plan everyone again.
 */
std::string SettingsDigest(const std::string &settings);

/* What a user's plan is made from, as the journal keeps it: SettingsDigest, then the source's digest of its rows
 * (auth_users.hpp). Compared as it is, so no hashing a user. */
std::string SourceDigest(const std::string &rows_digest, const std::string &settings_digest);

/* What the target holds of a user the ID map has (cutover.id_map with the user journal's row, if any). */
struct MappedUser {
	std::string target_id;
	bool journalled = false;				/* created or adopted by `cutover users`: a PATCH of it can be recorded */
	std::optional<std::string> sent_digest; /* NULL: adopted, or created before digests were kept */
	std::optional<std::string> identities_digest; /* NULL: not known */
	std::optional<std::string> source_digest;	  /* what its plan was last sent from; NULL: not known */
	bool removed = false;						  /* found deleted in Supabase by an earlier sync */
	bool deleted = false;						  /* and deleted from Stack Auth since */
};

/* What `cutover users --sync` does about the users the ID map holds. */
struct SyncTriage {
	std::vector<const PlannedUser *> to_update; /* what a PATCH can change differs from what was sent */
	/* OAuth accounts added or removed since the user was created: only reported (create-only in Stack Auth) */
	std::vector<const PlannedUser *> identities_changed;
	std::vector<const PlannedUser *> unplannable; /* mapped, but their plan now says they cannot be sent */
	/* unchanged, but planned from other rows than when last sent (or by other settings): only that recorded */
	std::vector<const PlannedUser *> refreshed;
	std::vector<std::string> removed;		/* Supabase user IDs mapped, gone from Supabase, still in Stack Auth */
	std::vector<std::string> newly_removed; /* those of `removed` an earlier sync did not mark */
	std::size_t unchanged = 0;
	std::size_t not_journalled = 0; /* mapped outside `cutover users` (an archive, migrate_map_ids): left alone */
	std::size_t deleted_before = 0; /* removed and deleted by an earlier sync */
};

/*
 * Sorts the mapped users: each planned one compared by digest with what was last sent (a NULL digest counts
 * as changed: the PATCH makes it known); each mapped one not in `in_supabase` (every user's ID, digest) found
 * removed from Supabase. Mapped users in Supabase but not planned (their source digest unchanged) are unchanged.
 */
SyncTriage TriageMapped(const std::vector<PlannedUser> &planned, const std::map<std::string, MappedUser> &mapped,
						const std::map<std::string, std::string> &in_supabase);

} // namespace cutover
