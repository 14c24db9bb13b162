/*
 * stack_auth.hpp: the Stack Auth server API as the client uses it: settings from the environment, and the
 * requests for creating and listing users (shared/reference/stack-auth-api.md).
 */
#pragma once

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
/* One page of every user, anonymous and restricted ones included (they are hidden by default). */
HttpRequest ListUsersRequest(const StackAuthSettings &settings, const std::optional<std::string> &cursor, int limit);

} // namespace cutover
