/*
 * supabase_user.hpp: one Supabase Auth user (its auth.users row and its auth.identities rows) turned into the
 * body of a Stack Auth `POST /api/v1/users`, with the kind of user it is and a note for everything that does
 * not carry over as it was. Pure: no network, no database; the caller SELECTs the rows and sends the body.
 *
 * The rule above all others: every user is created, whatever its kind, because application tables reference
 * user IDs and every one of them must be remapped to a Stack Auth ID. What cannot be carried over is named in
 * a note (for the report); nothing is dropped silently. A user gets an `error` instead (and must not be sent)
 * only when the body cannot be right: larger than the limit, text that is not UTF-8 (Stack Auth would refuse
 * both), or a timestamp column that does not read as one (the client's SELECT is broken).
 *
 * Kinds, first match wins: soft_deleted (deleted_at set) > anonymous (is_anonymous) > sso (is_sso_user) >
 * banned (banned_until later than `now`) > phone_only (no email, a phone, not anonymous) > regular.
 *
 *   regular, banned  primary_email = the email trimmed (case kept; Stack Auth lowercases it),
 *                    primary_email_verified = email_confirmed_at is set, primary_email_auth_enabled = true.
 *                    An email Stack Auth's validator (the WHATWG pattern yup uses) would refuse is not sent: it
 *                    goes to server_metadata.supabase_email with a note, so that the user is still created.
 *   banned           also restricted_by_admin with reason "banned in Supabase until <banned_until>". A ban
 *                    restricts users of the other kinds too (but soft_deleted, which has its own reason).
 *   phone_only       no email fields (Stack Auth has no phone sign-in); the phone is in server_metadata.
 *   anonymous        is_anonymous = true; no email, no password, no OAuth accounts.
 *   soft_deleted     Supabase replaced the email (and phone) by a hash and emptied the identities: no email,
 *                    no password, no OAuth, restricted_by_admin with reason "deleted in Supabase at <deleted_at>".
 *   sso              primary_email set but primary_email_auth_enabled = false (Supabase lets an SSO user share a
 *                    non-SSO user's exact email; Stack Auth would refuse the second one with sign-in enabled);
 *                    no password; SAML must be set up again in Stack Auth.
 *
 * Password: imported as password_hash only for a user with email sign-in, when password sign-in is enabled in
 * the project and the hash is bcrypt as Stack Auth accepts it ($2a$, $2b$ or $2y$, 60 characters, cost 4 to
 * 16). Otherwise a note says why (argon2id, cost, format, disabled, none). No note ever contains the hash.
 *
 * Profile: display_name = the first non-blank of user metadata full_name, name, display_name, user_name,
 * trimmed and cut to 256 UTF-16 code units at a code point boundary (Stack Auth's limit is a JavaScript
 * string length, so an emoji counts twice). profile_image_url = avatar_url, else picture, when it is an http(s)
 * URL without whitespace of at most 1,000,000 characters.
 *
 * OAuth: identities other than email, phone, anonymous and sso:* become oauth_providers entries
 * {id, account_id = provider_id, email = the identity's email or null}, Supabase names mapped to Stack Auth's
 * (azure -> microsoft, twitter -> x, linkedin_oidc -> linkedin, slack_oidc -> slack). A provider the Stack
 * Auth project has not configured is left out (Stack Auth would refuse the whole user). Stack Auth allows one
 * account per provider per user: the first identity in the order given wins, so the caller should list them
 * by last_sign_in_at DESC (most recently used first).
 *
 * Metadata: server_metadata holds supabase_user_id, supabase_kind, supabase_created_at, and when set
 * supabase_last_sign_in_at, supabase_phone (and supabase_phone_confirmed_at), supabase_banned_until,
 * supabase_deleted_at, supabase_email, supabase_email_shared_with (ResolveEmailCollisions). client_metadata =
 * raw_user_meta_data, client_read_only_metadata = raw_app_meta_data without the `provider` and `providers` keys
 * Supabase maintains; each omitted when null or an empty object.
 */
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "timestamptz.hpp"

namespace cutover {

/*
 * The auth.users columns the client SELECTs. Timestamps are text as PostgreSQL prints timestamptz with
 * DateStyle ISO and TimeZone UTC ("2024-03-01 12:00:00.123456+00"); NULL is std::nullopt (jsonb NULL is a
 * json null).
 */
struct SupabaseUser {
	std::string id;
	std::optional<std::string> email;
	std::optional<std::string> encrypted_password;
	std::optional<std::string> email_confirmed_at;
	std::optional<std::string> phone;
	std::optional<std::string> phone_confirmed_at;
	nlohmann::json raw_user_meta_data;
	nlohmann::json raw_app_meta_data;
	std::optional<std::string> created_at;
	std::optional<std::string> last_sign_in_at;
	std::optional<std::string> banned_until;
	std::optional<std::string> deleted_at;
	bool is_sso_user = false;
	bool is_anonymous = false;
};

/* The auth.identities columns the client SELECTs for one user. */
struct SupabaseIdentity {
	std::string provider;			  /* "email", "phone", "google", "azure", "sso:<uuid>", ... */
	std::string provider_id;		  /* the IdP's subject for OAuth identities */
	nlohmann::json identity_data;	  /* not read: `email` below already holds what the plan needs */
	std::optional<std::string> email; /* the generated column lower(identity_data->>'email') */
};

struct UserPlanOptions {
	std::set<std::string> oauth_providers; /* the Stack Auth provider ids configured in the project */
	/* A ban is active while banned_until is later than this; tests pass a fixed instant. */
	std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
	bool password_sign_in = true;			 /* config.auth.password.allowSignIn of the project */
	std::size_t max_body_bytes = 100 * 1024; /* a larger serialized body is an error, not a request */
};

enum class UserKind { Regular, PhoneOnly, Anonymous, Banned, SoftDeleted, Sso };

/* "regular", "phone_only", "anonymous", "banned", "soft_deleted", "sso" (also server_metadata.supabase_kind). */
const char *UserKindName(UserKind kind);

struct PlannedUser {
	std::string source_id; /* the Supabase user ID */
	UserKind kind = UserKind::Regular;
	std::optional<std::string> email; /* primary_email as Stack Auth stores it (trimmed, lowercased), if sent */
	nlohmann::json body;			  /* the POST /api/v1/users body */
	std::vector<std::string> notes;	  /* for the report, in the order the rules ran */
	std::optional<std::string> error; /* set: the body must not be sent; the message says why */
	std::string source_digest;		  /* set by the caller: what the plan was made from (user_sync.hpp); "" not known */

	/* For ResolveEmailCollisions: microseconds since the epoch, std::nullopt when NULL. */
	std::optional<std::int64_t> last_sign_in_at_us;
	std::optional<std::int64_t> created_at_us;
};

/* The plan of one user (see the header comment). `identities` are the user's own rows, most recent first. */
PlannedUser PlanUser(const SupabaseUser &user, const std::vector<SupabaseIdentity> &identities,
					 const UserPlanOptions &options);

/*
 * Supabase keeps emails unique case-sensitively among non-SSO users, Stack Auth after lowercasing and
 * trimming among users with email sign-in. Among planned users (without error) whose emails are equal after
 * lowercasing and trimming and that would all have primary_email_auth_enabled, exactly one keeps it: the most
 * recent last_sign_in_at (NULL counts as never), then the earliest created_at, then the smallest ID. The
 * others get primary_email_auth_enabled = false, server_metadata.supabase_email_shared_with = the winner's ID,
 * and a note naming it. The result does not depend on the order of `users` (email_collisions.cpp).
 */
void ResolveEmailCollisions(std::vector<PlannedUser> &users);

/* The Stack Auth provider id of a Supabase provider name: azure -> microsoft, twitter -> x, ... */
std::string StackProviderId(std::string_view supabase_provider);

/* An email as Stack Auth compares it: ASCII whitespace trimmed, ASCII letters lowercased. */
std::string NormalizeEmail(std::string_view email);

/* Whether Stack Auth's email validator (yup's WHATWG pattern) accepts `email`. */
bool IsAcceptedEmail(std::string_view email);

} // namespace cutover
