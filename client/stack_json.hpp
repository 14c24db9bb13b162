/*
 * stack_json.hpp: Stack Auth responses read defensively. A success body that lacks a field the client relies on
 * is a ResponseError naming that field (the client must not guess an ID); an error response of any shape (a
 * known-error JSON body, a text/plain StatusError, JSON that does not parse, a proxy's HTML page) becomes a
 * StackError whose message is short, one piece of valid UTF-8, and fit for a log line.
 *
 * Shapes (shared/reference/stack-auth-api.md): a user is an object with a string "id" (a UUID), a string or
 * null "primary_email", a boolean "is_anonymous" and any JSON as "server_metadata"; a list is
 * {"items": [user...], "is_paginated": true, "pagination": {"next_cursor": uuid|null}}; a known error is
 * {"code": "<CODE>", "error": "<message>", "details": {...}?} with content type application/json; a plain
 * StatusError is the bare message as text/plain.
 */
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover {

/* A Stack Auth response that does not have the shape the API gives it. The message names the field. */
class ResponseError : public std::runtime_error
{
  public:
	using std::runtime_error::runtime_error;
};

struct StackUser {
	std::string id;								 /* a canonical UUID: 36 characters, lowercase */
	std::optional<std::string> primary_email;	 /* as Stack Auth stores it (lowercased, trimmed) */
	std::optional<std::string> supabase_user_id; /* server_metadata.supabase_user_id, when a string */
	bool is_anonymous = false;
};

struct UserPage {
	std::vector<StackUser> items;
	std::optional<std::string> next_cursor; /* a canonical UUID: the first user of the next page */
};

struct StackError {
	int status = 0;
	std::string code;		/* the known-error code ("USER_EMAIL_ALREADY_EXISTS"); empty for text/plain and others */
	std::string message;	/* at most 300 characters, control characters replaced, valid UTF-8 */
	nlohmann::json details; /* the known error's "details" (SCHEMA_ERROR, USER_EMAIL_ALREADY_EXISTS, ...), or null */
};

/*
 * One user (GET /users/{id}, POST /users). Throws ResponseError when it is not an object, "id" is missing or
 * not a UUID string, "primary_email" is neither a string nor null, or "is_anonymous" is not a boolean. Missing
 * "primary_email" and "is_anonymous" read as null and false. server_metadata belongs to the project's own
 * code too, so anything there other than a string supabase_user_id simply means "not one of ours".
 */
StackUser ParseUser(const nlohmann::json &user);

/* One page of GET /users. Throws ResponseError for a missing "items" array, a bad item or a bad cursor. */
UserPage ParseUserPage(const nlohmann::json &page);

/* A 2xx body as JSON; throws ResponseError ("Stack Auth answered with a body that is not JSON: ...") if not. */
nlohmann::json ParseBody(std::string_view body);

/* Any error response, from its status, Content-Type header value and body. Never throws. */
StackError ParseError(int status, std::string_view content_type, std::string_view body);

/* "HTTP 409 USER_EMAIL_ALREADY_EXISTS: A user with email \"a@b.com\" already exists.", "HTTP 400: ...". */
std::string Describe(const StackError &error);

/* `text` as a canonical lowercase UUID (8-4-4-4-12 hex digits in any case), or std::nullopt. */
std::optional<std::string> CanonicalUuid(std::string_view text);

} // namespace cutover
