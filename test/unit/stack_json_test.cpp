/*
 * stack_json_test.cpp: Stack Auth user and user-list bodies (the reference's shapes, then broken ones), and
 * error responses of every shape: known-error JSON, text/plain, malformed JSON, HTML pages, empty bodies.
 */
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stack_json.hpp"

namespace {

using cutover::CanonicalUuid;
using cutover::Describe;
using cutover::ParseBody;
using cutover::ParseError;
using cutover::ParseUser;
using cutover::ParseUserPage;
using cutover::ResponseError;
using cutover::StackError;
using cutover::StackUser;
using cutover::UserPage;
using nlohmann::json;

/* A POST /api/v1/users response as the reference shows it (usersCrudServerReadSchema). */
const char *kCreatedUser = R"({
	"id": "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
	"primary_email": "ada@example.com",
	"primary_email_verified": true,
	"primary_email_auth_enabled": true,
	"display_name": "Ada Lovelace",
	"profile_image_url": null,
	"signed_up_at_millis": 1714000000000,
	"last_active_at_millis": 1714000000000,
	"has_password": true,
	"otp_auth_enabled": false,
	"passkey_auth_enabled": false,
	"auth_with_email": true,
	"requires_totp_mfa": false,
	"client_metadata": null,
	"client_read_only_metadata": null,
	"server_metadata": {"supabase_user_id": "c4ca4238-a0b9-2382-0dcc-509a6f75849b", "supabase_kind": "regular"},
	"oauth_providers": [{"id": "google", "account_id": "123", "email": "ada@example.com"}],
	"selected_team_id": null,
	"selected_team": null,
	"is_anonymous": false,
	"is_restricted": false,
	"restricted_reason": null,
	"restricted_by_admin": false,
	"restricted_by_admin_reason": null,
	"restricted_by_admin_private_details": null,
	"country_code": null,
	"risk_scores": {"sign_up": {"bot": 0, "free_trial_abuse": 0}}
})";

std::string
ErrorMessageOf(const std::function<void()> &call)
{
	try {
		call();
	} catch (const ResponseError &error) {
		return error.what();
	}
	return "(no ResponseError)";
}

/* ---- users ---- */

TEST(ParseUser, CreatedUserFromTheReference)
{
	StackUser user = ParseUser(json::parse(kCreatedUser));
	EXPECT_EQ(user.id, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	EXPECT_EQ(user.primary_email, "ada@example.com");
	EXPECT_EQ(user.supabase_user_id, "c4ca4238-a0b9-2382-0dcc-509a6f75849b");
	EXPECT_FALSE(user.is_anonymous);
}

TEST(ParseUser, AnonymousUserWithoutEmailOrMetadata)
{
	StackUser user = ParseUser(json::parse(R"({"id":"0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001","primary_email":null,
		"is_anonymous":true,"server_metadata":null})"));
	EXPECT_EQ(user.id, "0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001");
	EXPECT_FALSE(user.primary_email.has_value());
	EXPECT_FALSE(user.supabase_user_id.has_value());
	EXPECT_TRUE(user.is_anonymous);
}

struct UserCase {
	std::string name;
	std::string body;
	std::string error; /* the whole ResponseError message; empty: parses */
	std::optional<std::string> supabase_user_id = std::nullopt;
};

std::vector<UserCase>
UserCases()
{
	const std::string id = R"("id":"0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001")";
	const std::string prefix = "Stack Auth answered a user ";
	return {
		{"Minimal", "{" + id + "}", ""},
		{"MissingEmailAndAnonymousFlag", "{" + id + R"(,"display_name":"x"})", ""},
		{"ServerMetadataString", "{" + id + R"(,"server_metadata":"free text"})", ""},
		{"ServerMetadataArray", "{" + id + R"(,"server_metadata":[1,2]})", ""},
		{"SupabaseIdNotAString", "{" + id + R"(,"server_metadata":{"supabase_user_id":42}})", ""},
		{"SupabaseIdNull", "{" + id + R"(,"server_metadata":{"supabase_user_id":null}})", ""},
		{"SupabaseIdPresent", "{" + id + R"(,"server_metadata":{"supabase_user_id":"abc"}})", "", "abc"},
		{"NotAnObject", R"(["0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001"])", prefix + "that is not a JSON object"},
		{"Null", "null", prefix + "that is not a JSON object"},
		{"MissingId", R"({"primary_email":"a@b.c"})", prefix + "without a string \"id\""},
		{"NullId", R"({"id":null})", prefix + "without a string \"id\""},
		{"NumericId", R"({"id":42})", prefix + "without a string \"id\""},
		{"IdNotAUuid", R"({"id":"user_123"})", prefix + "whose \"id\" is not a UUID: \"user_123\""},
		{"IdWithBraces", R"({"id":"{0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001}"})",
		 prefix + "whose \"id\" is not a UUID: \"{0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001}\""},
		{"IdLongIsCut", R"({"id":")" + std::string(100, 'z') + R"("})",
		 prefix + "whose \"id\" is not a UUID: \"" + std::string(39, 'z') + "\xE2\x80\xA6\""},
		{"EmailNumber", "{" + id + R"(,"primary_email":7})",
		 prefix + "whose \"primary_email\" is neither a string nor null"},
		{"EmailObject", "{" + id + R"(,"primary_email":{}})",
		 prefix + "whose \"primary_email\" is neither a string nor null"},
		{"AnonymousString", "{" + id + R"(,"is_anonymous":"false"})",
		 prefix + "whose \"is_anonymous\" is not a boolean"},
		{"AnonymousNull", "{" + id + R"(,"is_anonymous":null})", prefix + "whose \"is_anonymous\" is not a boolean"},
	};
}

class UserTable : public testing::TestWithParam<UserCase>
{
};

TEST_P(UserTable, ParsesOrNamesTheField)
{
	const UserCase &c = GetParam();
	json body = json::parse(c.body);
	if (c.error.empty()) {
		StackUser user = ParseUser(body);
		EXPECT_EQ(user.id, "0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001");
		EXPECT_EQ(user.supabase_user_id, c.supabase_user_id);
	} else {
		EXPECT_EQ(ErrorMessageOf([&] { ParseUser(body); }), c.error);
	}
}

INSTANTIATE_TEST_SUITE_P(Users, UserTable, testing::ValuesIn(UserCases()),
						 [](const testing::TestParamInfo<UserCase> &param_info) { return param_info.param.name; });

TEST(CanonicalUuid, AnyCaseToLowercase)
{
	EXPECT_EQ(CanonicalUuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301"), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	EXPECT_EQ(CanonicalUuid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	for (const char *bad : {"", "3f2504e04f8941d39a0c0305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c330",
							"3f2504e0-4f89-41d3-9a0c-0305e82c33011", "3f2504e0_4f89-41d3-9a0c-0305e82c3301",
							"3g2504e0-4f89-41d3-9a0c-0305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c330 "})
		EXPECT_EQ(CanonicalUuid(bad), std::nullopt) << bad;
}

/* ---- user lists ---- */

TEST(ParseUserPage, PageWithCursorFromTheReference)
{
	json page = json::parse(R"({"items":[)" + std::string(kCreatedUser) +
							R"(,{"id":"0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001","primary_email":"bob@example.com",
							"is_anonymous":false,"server_metadata":{}}],
							"is_paginated":true,"pagination":{"next_cursor":"9D6E2C1A-0000-4000-8000-000000000001"}})");
	UserPage parsed = ParseUserPage(page);
	ASSERT_EQ(parsed.items.size(), 2u);
	EXPECT_EQ(parsed.items[0].id, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	EXPECT_EQ(parsed.items[1].primary_email, "bob@example.com");
	EXPECT_FALSE(parsed.items[1].supabase_user_id.has_value());
	EXPECT_EQ(parsed.next_cursor, "9d6e2c1a-0000-4000-8000-000000000001");
}

TEST(ParseUserPage, LastPageAndUnpaginatedList)
{
	UserPage last = ParseUserPage(json::parse(R"({"items":[],"is_paginated":true,"pagination":{"next_cursor":null}})"));
	EXPECT_TRUE(last.items.empty());
	EXPECT_FALSE(last.next_cursor.has_value());
	UserPage all = ParseUserPage(json::parse(R"({"items":[],"is_paginated":false})"));
	EXPECT_FALSE(all.next_cursor.has_value());
	UserPage empty_pagination = ParseUserPage(json::parse(R"({"items":[],"pagination":{}})"));
	EXPECT_FALSE(empty_pagination.next_cursor.has_value());
	UserPage null_pagination = ParseUserPage(json::parse(R"({"items":[],"pagination":null})"));
	EXPECT_FALSE(null_pagination.next_cursor.has_value());
}

TEST(ParseUserPage, BrokenListsNameWhatIsWrong)
{
	const std::string prefix = "Stack Auth answered a user list ";
	struct {
		const char *body;
		std::string error;
	} cases[] = {
		{R"([])", prefix + "that is not a JSON object"},
		{R"({"users":[]})", prefix + "without an array \"items\""},
		{R"({"items":{}})", prefix + "without an array \"items\""},
		{R"({"items":null})", prefix + "without an array \"items\""},
		{R"({"items":[{"id":"0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001"},{"primary_email":"x@y.z"}]})",
		 "Stack Auth answered a user (item 1 of a user list) without a string \"id\""},
		{R"({"items":["0b7e7dee-87a0-4dd5-9d2f-d7f1f1c2a001"]})",
		 "Stack Auth answered a user (item 0 of a user list) that is not a JSON object"},
		{R"({"items":[],"pagination":"next"})", prefix + "whose \"pagination\" is not an object"},
		{R"({"items":[],"pagination":{"next_cursor":"abc&limit=1"}})",
		 prefix + "whose \"pagination.next_cursor\" is neither a UUID nor null"},
		{R"({"items":[],"pagination":{"next_cursor":5}})",
		 prefix + "whose \"pagination.next_cursor\" is neither a UUID nor null"},
	};
	for (const auto &c : cases) {
		json page = json::parse(c.body);
		EXPECT_EQ(ErrorMessageOf([&] { ParseUserPage(page); }), c.error) << c.body;
	}
}

TEST(ParseBody, JsonOrAResponseError)
{
	EXPECT_EQ(ParseBody(R"({"success":true})"), json({{"success", true}}));
	EXPECT_EQ(ErrorMessageOf([] { ParseBody("<html>oops</html>"); }),
			  "Stack Auth answered with a body that is not JSON: \"<html>oops</html>\"");
	EXPECT_EQ(ErrorMessageOf([] { ParseBody(""); }), "Stack Auth answered with a body that is not JSON: \"\"");
	std::string long_body = "{" + std::string(5000, 'x');
	std::string message = ErrorMessageOf([&] { ParseBody(long_body); });
	EXPECT_LT(message.size(), 200u);
}

/* ---- errors ---- */

struct ErrorCase {
	std::string name;
	int status;
	std::string content_type;
	std::string body;
	std::string code;
	std::string message;
	json details;
	std::string described;
};

std::vector<ErrorCase>
ErrorCases()
{
	const std::string json_type = "application/json; charset=utf-8";
	const std::string schema_message = "Request validation failed on POST /api/v1/users:\n  - body.primary_email must "
									   "be a valid email";
	return {
		{"EmailAlreadyExists", 409, json_type,
		 R"({"code":"USER_EMAIL_ALREADY_EXISTS",)"
		 R"("details":{"email":"ada@example.com","would_work_if_email_was_verified":false},)"
		 R"("error":"A user with email \"ada@example.com\" already exists."})",
		 "USER_EMAIL_ALREADY_EXISTS", "A user with email \"ada@example.com\" already exists.",
		 json({{"email", "ada@example.com"}, {"would_work_if_email_was_verified", false}}),
		 "HTTP 409 USER_EMAIL_ALREADY_EXISTS: A user with email \"ada@example.com\" already exists."},
		{"SchemaError", 400, json_type,
		 json({{"code", "SCHEMA_ERROR"}, {"details", {{"message", schema_message}}}, {"error", schema_message}}).dump(),
		 "SCHEMA_ERROR", schema_message, json({{"message", schema_message}}),
		 "HTTP 400 SCHEMA_ERROR: " + schema_message},
		{"UserNotFoundWithoutDetails", 404, "application/json",
		 R"({"code":"USER_NOT_FOUND","error":"User not found."})", "USER_NOT_FOUND", "User not found.", json(nullptr),
		 "HTTP 404 USER_NOT_FOUND: User not found."},
		{"InvalidServerKey", 401, "Application/JSON",
		 R"({"code":"INVALID_SECRET_SERVER_KEY","details":{"project_id":"p"},)"
		 R"("error":"The secret server key is not valid for the project \"p\". Does the project and/or the key exist?"})",
		 "INVALID_SECRET_SERVER_KEY",
		 "The secret server key is not valid for the project \"p\". Does the project and/or the key exist?",
		 json({{"project_id", "p"}}),
		 "HTTP 401 INVALID_SECRET_SERVER_KEY: The secret server key is not valid for the project \"p\". Does the "
		 "project and/or the key exist?"},
		{"DevRateLimit", 429, "application/json",
		 R"({"message":"Artificial development rate limit triggered. Please try again later."})", "",
		 "Artificial development rate limit triggered. Please try again later.", json(nullptr),
		 "HTTP 429: Artificial development rate limit triggered. Please try again later."},
		{"CodeOnly", 400, "application/json", R"({"code":"SOME_CODE"})", "SOME_CODE", "SOME_CODE", json(nullptr),
		 "HTTP 400 SOME_CODE"},
		{"JsonWithoutCodeOrMessage", 500, "application/json", R"({"ok":false,"n":1})", "", R"({"n":1,"ok":false})",
		 json(nullptr), R"(HTTP 500: {"n":1,"ok":false})"},
		{"JsonString", 500, "application/json", R"("boom")", "", "boom", json(nullptr), "HTTP 500: boom"},
		{"ProblemJson", 503, "application/problem+json", R"({"message":"maintenance"})", "", "maintenance",
		 json(nullptr), "HTTP 503: maintenance"},
		{"JsonWithoutContentType", 400, "", R"({"code":"X","error":"y"})", "X", "y", json(nullptr), "HTTP 400 X: y"},
		{"PlainPasswordHash", 400, "text/plain; charset=utf-8",
		 "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format.", "",
		 "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format.", json(nullptr),
		 "HTTP 400: Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format."},
		{"PlainOAuthProvider", 400, "text/plain", "OAuth provider github not found", "",
		 "OAuth provider github not found", json(nullptr), "HTTP 400: OAuth provider github not found"},
		{"PlainInternalError", 500, "text/plain", "Internal Server Error\n", "", "Internal Server Error", json(nullptr),
		 "HTTP 500: Internal Server Error"},
		{"PlainThatLooksLikeJson", 400, "text/plain", R"({"code":"X","error":"y"})", "", R"({"code":"X","error":"y"})",
		 json(nullptr), R"(HTTP 400: {"code":"X","error":"y"})"},
		{"MalformedJson", 500, "application/json", R"({"code":"USER_NOT_FOUND","error":)", "",
		 R"(HTTP 500 with a body that is not valid JSON: {"code":"USER_NOT_FOUND","error":)", json(nullptr),
		 R"(HTTP 500 with a body that is not valid JSON: {"code":"USER_NOT_FOUND","error":)"},
		{"TruncatedJsonWithoutContentType", 502, "", "{\"items\":[", "",
		 "HTTP 502 with a body that is not valid JSON: {\"items\":[", json(nullptr),
		 "HTTP 502 with a body that is not valid JSON: {\"items\":["},
		{"HtmlErrorPage", 502, "text/html",
		 "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
		 "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
		 "", "HTTP 502 with an HTML page", json({{"html_title", "502 Bad Gateway"}}),
		 "HTTP 502 with an HTML page titled \"502 Bad Gateway\""},
		{"HtmlClaimingJson", 504, "application/json",
		 "<!DOCTYPE html>\n<html><head>\n<title>\n  api.stack-auth.com |\n 504: Gateway time-out</title>"
		 "<style>body{}</style></head><body>" +
			 std::string(20000, 'x') + "</body></html>",
		 "", "HTTP 504 with an HTML page", json({{"html_title", "api.stack-auth.com | 504: Gateway time-out"}}),
		 "HTTP 504 with an HTML page titled \"api.stack-auth.com | 504: Gateway time-out\""},
		{"HtmlWithoutTitle", 503, "text/html; charset=UTF-8", "<p>Service Unavailable</p>", "",
		 "HTTP 503 with an HTML page", json(nullptr), "HTTP 503 with an HTML page"},
		{"EmptyBody", 503, "text/plain", "", "", "HTTP 503 with an empty body", json(nullptr),
		 "HTTP 503 with an empty body"},
		{"BlankJsonBody", 500, "application/json", " \r\n", "", "HTTP 500 with an empty body", json(nullptr),
		 "HTTP 500 with an empty body"},
		{"ControlCharacters", 400, "text/plain", "bad\tthing\x01happened\r\nsecond line", "",
		 "bad thing happened \nsecond line", json(nullptr), "HTTP 400: bad thing happened \nsecond line"},
		{"InvalidUtf8", 400, "text/plain", "caf\xE9 \xF0\x9F\x98\x80 ok", "", "caf\xEF\xBF\xBD \xF0\x9F\x98\x80 ok",
		 json(nullptr), "HTTP 400: caf\xEF\xBF\xBD \xF0\x9F\x98\x80 ok"},
	};
}

class ErrorTable : public testing::TestWithParam<ErrorCase>
{
};

TEST_P(ErrorTable, ReadsEveryShape)
{
	const ErrorCase &c = GetParam();
	StackError error = ParseError(c.status, c.content_type, c.body);
	EXPECT_EQ(error.status, c.status);
	EXPECT_EQ(error.code, c.code);
	EXPECT_EQ(error.message, c.message);
	EXPECT_EQ(error.details, c.details) << error.details.dump();
	EXPECT_EQ(Describe(error), c.described);
	/* whatever came in, the message is valid UTF-8 (dump would throw otherwise) */
	EXPECT_NO_THROW(json(error.message).dump());
	EXPECT_NO_THROW(json(Describe(error)).dump());
}

INSTANTIATE_TEST_SUITE_P(Errors, ErrorTable, testing::ValuesIn(ErrorCases()),
						 [](const testing::TestParamInfo<ErrorCase> &param_info) { return param_info.param.name; });

/* The number of characters (code points) of valid UTF-8. */
std::size_t
Characters(const std::string &text)
{
	std::size_t count = 0;
	for (char c : text)
		if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
			count++;
	return count;
}

TEST(ParseError, LongMessagesAreCutAtThreeHundredCharacters)
{
	std::string long_text = std::string(299, 'a') + "\xC3\xA9" + std::string(1000, 'b');
	StackError plain = ParseError(500, "text/plain", long_text);
	EXPECT_EQ(Characters(plain.message), 300u);
	EXPECT_EQ(plain.message, std::string(299, 'a') + "\xE2\x80\xA6");

	StackError exact = ParseError(500, "text/plain", std::string(300, 'c'));
	EXPECT_EQ(exact.message, std::string(300, 'c'));

	std::string emoji;
	for (int i = 0; i < 400; i++)
		emoji += "\xF0\x9F\x98\x80";
	StackError wide = ParseError(400, "application/json", json({{"code", "X"}, {"error", emoji}}).dump());
	EXPECT_EQ(Characters(wide.message), 300u);
	EXPECT_NO_THROW(json(wide.message).dump());

	StackError malformed = ParseError(500, "application/json", "{" + std::string(5000, 'x'));
	EXPECT_LE(Characters(malformed.message), 300u);
	EXPECT_NE(malformed.message.find("not valid JSON"), std::string::npos);

	StackError html = ParseError(502, "text/html", "<html><title>" + std::string(5000, 't') + "</title></html>");
	EXPECT_EQ(html.message, "HTTP 502 with an HTML page");
	EXPECT_LE(Characters(html.details["html_title"].get<std::string>()), 100u);

	StackError code = ParseError(400, "application/json", json({{"code", std::string(1000, 'C')}}).dump());
	EXPECT_LE(Characters(code.code), 100u);
}

TEST(ParseError, NeverThrows)
{
	const std::string bodies[] = {"",
								  std::string("\0\0\0", 3),
								  "{",
								  "[",
								  "null",
								  "42",
								  "true",
								  "[1,2]",
								  "{\"error\":{}}",
								  "{\"code\":7,\"error\":8}",
								  "\xFF\xFE",
								  "<",
								  "<<<>>>"};
	for (const auto &body : bodies) {
		for (const char *type : {"", "application/json", "text/plain", "text/html", "application/octet-stream", ";"}) {
			StackError error;
			EXPECT_NO_THROW(error = ParseError(500, type, body)) << body << " " << type;
			EXPECT_FALSE(error.message.empty()) << body << " " << type;
			EXPECT_NO_THROW(json(Describe(error)).dump());
		}
	}
	StackError odd = ParseError(500, "application/json", R"({"code":7,"error":8})");
	EXPECT_EQ(odd.code, "");
	EXPECT_EQ(odd.message, R"({"code":7,"error":8})");
}

} // namespace
