/*
 * user_migration.hpp: the engine of `cutover users` (user_migration.cpp): the planned users sent to Stack Auth
 * with up to --concurrency requests in flight, each one journalled before it goes out, each 201 recorded at
 * once in the ID map, each unknown outcome looked up in Stack Auth before anything is sent again.
 */
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "pg.hpp"
#include "stack_auth.hpp"
#include "supabase_user.hpp"
#include "users.hpp"

namespace cutover {

/* One user on its way to Stack Auth. */
struct UserJob {
	PlannedUser *user = nullptr;
	int attempt = 0;			/* requests sent so far */
	bool email_refused = false; /* the last answer was 409 USER_EMAIL_ALREADY_EXISTS */
	bool has_token = false;		/* parked by the rate limiter with a token already taken */
	/* when its outcome became unknown, and how long Stack Auth may still take to act on that request */
	std::chrono::steady_clock::time_point unsure_since{};
	std::chrono::steady_clock::duration settle{};
	std::string last_problem; /* what the last attempt met, for errors */
};

/*
 * Sends every job, after looking up the `unsure` ones (an earlier run sent them, the answer is unknown) in
 * Stack Auth; `taken` are the Stack Auth user IDs the ID map holds, never adopted for another user. Returns
 * false after a failure (already reported); stops sending at a signal, the requests in flight recorded.
 */
bool MigrateUsers(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
				  std::set<std::string> taken, std::vector<UserJob> jobs, std::vector<UserJob> unsure,
				  UsersReport &report);

} // namespace cutover
