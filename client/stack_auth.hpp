/*
 * stack_auth.hpp: the Stack Auth server API as the client uses it: settings from the environment, and the
 * requests for creating, listing, updating and deleting users (shared/reference/stack-auth-api.md).
 */
#pragma once

#include <stdexcept>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http.hpp"

namespace cutover {

struct StackAuthSettings {
	std::string api_url = "https://api.stack-auth.com"; /* STACK_API_URL: the backend, without /api/v1 */
	std::string project_id;								/* STACK_PROJECT_ID */
	std::string secret_key;								/* STACK_SECRET_SERVER_KEY: only ever in a header */

	/* Reads the three variables; throws naming what is missing (never a value). */
	static StackAuthSettings FromEnvironment();
};

HttpRequest CreateUserRequest(const StackAuthSettings &settings, const nlohmann::json &body);
/* PATCH /api/v1/users/{id}: only the fields sent change, so sending it again does no harm. */
HttpRequest UpdateUserRequest(const StackAuthSettings &settings, const std::string &user_id,
							  const nlohmann::json &body);
/* DELETE /api/v1/users/{id}: a 404 once it was sent means it is done. */
HttpRequest DeleteUserRequest(const StackAuthSettings &settings, const std::string &user_id);
/* One page of every user, anonymous and restricted ones included (they are hidden by default). */
HttpRequest ListUsersRequest(const StackAuthSettings &settings, const std::optional<std::string> &cursor, int limit);

/* Stack Auth could not be reached, or answered only server errors: exit 3. */
class StackAuthUnreachable : public std::runtime_error
{
  public:
	using std::runtime_error::runtime_error;
};

/*
 * Proves the settings with a harmless request (the first user of a list) before anything is sent or
 * journalled: a refused key or project (4xx) throws std::invalid_argument naming the setting (exit 2); no
 * answer, or only server errors after three tries within a few seconds, throws StackAuthUnreachable (exit 3).
 */
void CheckStackAuth(const StackAuthSettings &settings);

} // namespace cutover
