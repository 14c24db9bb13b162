/*
 * user_changes.hpp: the requests of `cutover users --sync` besides the creates (user_changes.cpp): a PATCH for
 * each user changed in Supabase since it was sent, a DELETE for each user deleted there (with
 * --delete-removed), up to --concurrency in flight, each one recorded in the user journal after its answer.
 *
 * Both are idempotent, so nothing is journalled before they go out: a crash before the record leaves the
 * journal's digest as it was, and the next sync sends the same PATCH again (the same fields, the same result)
 * or the same DELETE (whose 404 then means done).
 */
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pg.hpp"
#include "stack_auth.hpp"
#include "user_sync.hpp"
#include "users.hpp"

namespace cutover {

/* One PATCH or DELETE of a mapped user. */
struct UserChange {
	enum class Kind { Update, Delete };
	Kind kind = Kind::Update;
	std::string source_id;		/* the Supabase user ID */
	std::string target_id;		/* its Stack Auth user ID, from the ID map */
	nlohmann::json body;		/* Update: the PATCH body (user_sync.hpp) */
	std::string digest;			/* Update: recorded once Stack Auth answered 200 */
	std::string source_digest;	/* Update: what the plan was made from, recorded with it */
	std::string who;			/* for messages: the Supabase user ID and email */
	int attempt = 0;			/* requests sent so far */
	bool has_token = false;		/* parked by the rate limiter with a token already taken */
	bool email_refused = false; /* the last answer was 409 USER_EMAIL_ALREADY_EXISTS */
	bool deferred = false;		/* sent again after the others once, for that */
	std::string last_problem;
};

/*
 * Sends every change, retrying 429, 5xx and network errors as `options.policy` says, and records each one
 * answered (migrate_user_updated, migrate_user_removed(..., true)), the answers of a round together. Any other
 * answer stops the sync (fail fast) naming the user and Stack Auth's answer; a signal stops new requests, the
 * ones in flight finish and are recorded. Returns false after a failure (already reported).
 */
bool ApplyUserChanges(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
					  std::vector<UserChange> changes, UsersReport &report);

/*
 * What a sync does about the mapped users (`triage`, from TriageMapped over `pairs`): the users found deleted in
 * Supabase marked in the ID map and the journal, deleted in Stack Auth with --delete-removed, the changed ones
 * PATCHed (ApplyUserChanges). Returns false after a failure (already reported).
 */
bool SyncMappedUsers(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
					 const SyncTriage &triage, const std::map<std::string, MappedUser> &pairs, UsersReport &report);

} // namespace cutover
