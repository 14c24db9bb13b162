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

#include <string>

#include <nlohmann/json.hpp>

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

} // namespace cutover
