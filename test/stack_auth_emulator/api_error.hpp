// test/stack_auth_emulator/api_error.hpp: responses, and the errors Stack Auth answers with.
//
// Stack Auth has two kinds of errors (packages/stack-shared/src/known-errors.tsx, utils/errors.tsx): a KnownError
// is JSON {"code", "details"?, "error"} pretty-printed with two spaces, with an X-Stack-Known-Error header; a
// plain StatusError is a text/plain body holding only the message. Handlers throw ApiError; the request pipeline
// turns it into a Reply.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "js_compat.hpp"

namespace emulator {

// One HTTP response, before the headers every response gets (request id, cache-control) are added.
struct Reply {
	int status = 200;
	std::string content_type; // empty: no body
	std::string body;
	std::vector<std::pair<std::string, std::string>> headers;

	static Reply
	JsonBody(int status, const Json &body, int indent = -1)
	{
		return {status, "application/json; charset=utf-8", Dump(body, indent), {}};
	}
	static Reply
	Text(int status, std::string text)
	{
		return {status, "text/plain; charset=utf-8", std::move(text), {}};
	}
};

class ApiError : public std::runtime_error
{
  public:
	// A KnownError; `details` is left out of the body when it is null.
	static ApiError
	Known(int status, const std::string &code, const std::string &message, Json details = Json())
	{
		Json body{{"code", code}};
		if (!details.is_null())
			body["details"] = std::move(details);
		body["error"] = message;
		Reply reply = Reply::JsonBody(status, body, 2);
		reply.headers.emplace_back("X-Stack-Known-Error", code);
		return ApiError(message, std::move(reply));
	}

	// A StatusError: text/plain, no code.
	static ApiError
	Status(int status, const std::string &message)
	{
		return ApiError(message, Reply::Text(status, message));
	}

	const Reply &
	reply() const
	{
		return reply_;
	}

  private:
	ApiError(const std::string &message, Reply reply) : std::runtime_error(message), reply_(std::move(reply)) {}

	Reply reply_;
};

// The known errors the users endpoints can answer with, with Stack Auth's messages and details.
namespace known_errors {

inline const char *const kAuthDocs = "For more information, see the docs on REST API authentication: "
									 "https://docs.stack-auth.com/rest-api/overview#authentication";

inline ApiError
AccessTypeRequired()
{
	return ApiError::Known(400, "ACCESS_TYPE_REQUIRED",
						   std::string("You must specify an access level for this Stack project. Make sure project "
									   "API keys are provided (eg. x-stack-publishable-client-key) and you set the "
									   "x-stack-access-type header to 'client', 'server', or 'admin'.\n\n") +
							   kAuthDocs);
}

inline ApiError
ProjectKeyWithoutAccessType()
{
	return ApiError::Known(400, "PROJECT_KEY_WITHOUT_ACCESS_TYPE",
						   "Either an API key or an admin access token was provided, but the x-stack-access-type "
						   "header is missing. Set it to 'client', 'server', or 'admin' as appropriate.");
}

inline ApiError
InvalidAccessType(const std::string &access_type)
{
	return ApiError::Known(400, "INVALID_ACCESS_TYPE",
						   "The x-stack-access-type header must be 'client', 'server', or 'admin', but was '" +
							   access_type + "'.");
}

inline ApiError
AccessTypeWithoutProjectId(const std::string &access_type)
{
	return ApiError::Known(400, "ACCESS_TYPE_WITHOUT_PROJECT_ID",
						   "The x-stack-access-type header was '" + access_type +
							   "', but the x-stack-project-id header was not provided.\n\n" + kAuthDocs,
						   {{"request_type", access_type}});
}

inline ApiError
CurrentProjectNotFound(const std::string &project_id)
{
	return ApiError::Known(400, "CURRENT_PROJECT_NOT_FOUND",
						   "The current project with ID " + project_id +
							   " was not found. Please check the value of the x-stack-project-id header.",
						   {{"project_id", project_id}});
}

inline ApiError
PublishableClientKeyRequiredForProject(const std::string &project_id)
{
	return ApiError::Known(401, "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT",
						   "Publishable client keys are required for this project. Create one in Project Keys, or "
						   "disable this requirement there to allow keyless client access.",
						   {{"project_id", project_id}});
}

inline ApiError
ServerAuthenticationRequired()
{
	return ApiError::Known(401, "SERVER_AUTHENTICATION_REQUIRED", "The secret server key must be provided.");
}

inline ApiError
InvalidSecretServerKey(const std::string &project_id)
{
	return ApiError::Known(401, "INVALID_SECRET_SERVER_KEY",
						   "The secret server key is not valid for the project " + Dump(Json(project_id)) +
							   ". Does the project and/or the key exist?",
						   {{"project_id", project_id}});
}

inline ApiError
AdminAuthenticationRequired()
{
	return ApiError::Known(401, "ADMIN_AUTHENTICATION_REQUIRED", "The super secret admin key must be provided.");
}

inline ApiError
InvalidSuperSecretAdminKey(const std::string &project_id)
{
	return ApiError::Known(401, "INVALID_SUPER_SECRET_ADMIN_KEY",
						   "The super secret admin key is not valid for the project " + Dump(Json(project_id)) +
							   ". Does the project and/or the key exist?",
						   {{"project_id", project_id}});
}

inline ApiError
BranchDoesNotExist(const std::string &branch_id)
{
	return ApiError::Known(400, "BRANCH_DOES_NOT_EXIST", "The branch with ID " + branch_id + " does not exist.",
						   {{"branch_id", branch_id}});
}

inline ApiError
InsufficientAccessType(const std::string &actual_access_type)
{
	return ApiError::Known(401, "INSUFFICIENT_ACCESS_TYPE",
						   "The x-stack-access-type header must be 'server' or 'admin', but was '" +
							   actual_access_type + "'.",
						   {{"actual_access_type", actual_access_type}, {"allowed_access_types", {"server", "admin"}}});
}

inline ApiError
SchemaError(const std::string &message)
{
	return ApiError::Known(400, "SCHEMA_ERROR", message, {{"message", message}});
}

inline ApiError
BodyParsingError(const std::string &message)
{
	return ApiError::Known(400, "BODY_PARSING_ERROR", message);
}

inline ApiError
UserNotFound()
{
	return ApiError::Known(404, "USER_NOT_FOUND", "User not found.");
}

inline ApiError
UserEmailAlreadyExists(const std::string &email)
{
	return ApiError::Known(409, "USER_EMAIL_ALREADY_EXISTS",
						   "A user with email " + Dump(Json(email)) + " already exists.",
						   {{"email", email}, {"would_work_if_email_was_verified", false}});
}

inline ApiError
CannotGetOwnUserWithoutUser()
{
	return ApiError::Known(400, "CANNOT_GET_OWN_USER_WITHOUT_USER",
						   "You have specified 'me' as a userId, but did not provide authentication for a user.");
}

inline ApiError
TeamMembershipNotFound(const std::string &team_id, const std::string &user_id)
{
	return ApiError::Known(404, "TEAM_MEMBERSHIP_NOT_FOUND",
						   "User " + user_id + " is not found in team " + team_id + ".",
						   {{"team_id", team_id}, {"user_id", user_id}});
}

// The production text of an unexpected error (smart-route-handler.tsx InternalServerError).
inline ApiError
InternalServerError(const std::string &request_id)
{
	return ApiError::Status(
		500, "Something went wrong. Please make sure the data you entered is correct.\n\nRequest ID: " + request_id);
}

} // namespace known_errors

} // namespace emulator
