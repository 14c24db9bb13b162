/*
 * stack_json.cpp: strict readers of Stack Auth user bodies; forgiving readers of its error bodies.
 */
#include "stack_json.hpp"

#include <algorithm>
#include <cstdint>

#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxMessage = 300; /* characters of an error message */
constexpr std::size_t kMaxSnippet = 100; /* characters of a body quoted in a message */

/*
 * The length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 when it is not one: overlong forms,
 * surrogates and code points above U+10FFFF are refused, as nlohmann's serializer would refuse them.
 */
std::size_t
Utf8Sequence(std::string_view s, std::size_t i)
{
	auto byte = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
	auto continuation = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
	unsigned lead = byte(i);
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return continuation(i + 1) ? 2 : 0;
	if (lead >= 0xE0 && lead <= 0xEF) {
		if (!continuation(i + 1) || !continuation(i + 2))
			return 0;
		if ((lead == 0xE0 && byte(i + 1) < 0xA0) || (lead == 0xED && byte(i + 1) >= 0xA0))
			return 0;
		return 3;
	}
	if (lead >= 0xF0 && lead <= 0xF4) {
		if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3))
			return 0;
		if ((lead == 0xF0 && byte(i + 1) < 0x90) || (lead == 0xF4 && byte(i + 1) >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * `text` made fit for a log line and an error message: valid UTF-8 (a bad byte becomes U+FFFD), control
 * characters as spaces (newlines kept unless `one_line`), whitespace at both ends trimmed, and at most
 * `max_chars` characters, the last being "…" when cut.
 */
std::string
LogText(std::string_view text, std::size_t max_chars, bool one_line = false)
{
	text = Trim(text);
	std::string out;
	std::size_t chars = 0;
	for (std::size_t i = 0; i < text.size();) {
		if (chars == max_chars) {
			/* one character too many: replace the last one by the ellipsis */
			std::size_t last = out.size();
			while (last > 0 && (static_cast<unsigned char>(out[last - 1]) & 0xC0) == 0x80)
				last--;
			out.resize(last > 0 ? last - 1 : 0);
			out += "\xE2\x80\xA6";
			return out;
		}
		std::size_t length = Utf8Sequence(text, i);
		if (length == 0) {
			out += "\xEF\xBF\xBD";
			i++;
		} else if (length == 1) {
			char c = text[i++];
			auto u = static_cast<unsigned char>(c);
			if (c == '\n' && !one_line)
				out += '\n';
			else if (u < 0x20 || u == 0x7F)
				out += ' ';
			else
				out += c;
		} else {
			out.append(text.substr(i, length));
			i += length;
		}
		chars++;
	}
	return out;
}

std::string
Status(int status)
{
	return "HTTP " + std::to_string(status);
}

/* The media type of a Content-Type value, lowercased, parameters dropped. */
std::string
MediaType(std::string_view content_type)
{
	return AsciiLower(Trim(content_type.substr(0, content_type.find(';'))));
}

bool
IsJsonMediaType(const std::string &media)
{
	return media == "application/json" || (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0 &&
										   media.find('/') != std::string::npos);
}

bool
LooksLikeHtml(std::string_view body)
{
	std::string head = AsciiLower(Trim(body).substr(0, 64));
	for (const char *start : {"<!doctype html", "<html", "<head", "<body", "<!--"})
		if (head.rfind(start, 0) == 0)
			return true;
	return false;
}

/* The text of an HTML page's <title>, whitespace collapsed, or "" without one. */
std::string
HtmlTitle(std::string_view page)
{
	std::string lower = AsciiLower(page);
	std::size_t open = lower.find("<title");
	if (open == std::string::npos)
		return "";
	std::size_t start = lower.find('>', open);
	if (start == std::string::npos)
		return "";
	std::size_t end = lower.find("</title", ++start);
	if (end == std::string::npos)
		return "";
	std::string title;
	for (char c : page.substr(start, end - start)) {
		if (IsAsciiSpace(c)) {
			if (!title.empty() && title.back() != ' ')
				title += ' ';
		} else {
			title += c;
		}
	}
	return LogText(title, kMaxSnippet, true);
}

std::string
Quoted(const char *field)
{
	return std::string("\"") + field + "\"";
}

StackUser
ParseUserAs(const json &user, const std::string &subject)
{
	const std::string prefix = "Stack Auth answered " + subject;
	if (!user.is_object())
		throw ResponseError(prefix + " that is not a JSON object");
	StackUser parsed;

	auto id = user.find("id");
	if (id == user.end() || !id->is_string())
		throw ResponseError(prefix + " without a string " + Quoted("id"));
	auto uuid = CanonicalUuid(id->get_ref<const std::string &>());
	if (!uuid)
		throw ResponseError(prefix + " whose " + Quoted("id") + " is not a UUID: \"" +
							LogText(id->get_ref<const std::string &>(), 40, true) + "\"");
	parsed.id = *uuid;

	auto email = user.find("primary_email");
	if (email != user.end() && !email->is_null()) {
		if (!email->is_string())
			throw ResponseError(prefix + " whose " + Quoted("primary_email") + " is neither a string nor null");
		parsed.primary_email = email->get<std::string>();
	}

	auto anonymous = user.find("is_anonymous");
	if (anonymous != user.end()) {
		if (!anonymous->is_boolean())
			throw ResponseError(prefix + " whose " + Quoted("is_anonymous") + " is not a boolean");
		parsed.is_anonymous = anonymous->get<bool>();
	}

	auto metadata = user.find("server_metadata");
	if (metadata != user.end() && metadata->is_object()) {
		auto source = metadata->find("supabase_user_id");
		if (source != metadata->end() && source->is_string())
			parsed.supabase_user_id = source->get<std::string>();
	}
	return parsed;
}

} // namespace

std::optional<std::string>
CanonicalUuid(std::string_view text)
{
	if (text.size() != 36)
		return std::nullopt;
	std::string uuid(text);
	for (std::size_t i = 0; i < uuid.size(); i++) {
		char &c = uuid[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return std::nullopt;
			continue;
		}
		if (c >= 'A' && c <= 'F')
			c = static_cast<char>(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return std::nullopt;
	}
	return uuid;
}

StackUser
ParseUser(const json &user)
{
	return ParseUserAs(user, "a user");
}

UserPage
ParseUserPage(const json &page)
{
	const std::string prefix = "Stack Auth answered a user list";
	if (!page.is_object())
		throw ResponseError(prefix + " that is not a JSON object");
	auto items = page.find("items");
	if (items == page.end() || !items->is_array())
		throw ResponseError(prefix + " without an array " + Quoted("items"));
	UserPage parsed;
	parsed.items.reserve(items->size());
	for (std::size_t i = 0; i < items->size(); i++)
		parsed.items.push_back(ParseUserAs((*items)[i], "a user (item " + std::to_string(i) + " of a user list)"));

	auto pagination = page.find("pagination");
	if (pagination == page.end() || pagination->is_null())
		return parsed;
	if (!pagination->is_object())
		throw ResponseError(prefix + " whose " + Quoted("pagination") + " is not an object");
	auto cursor = pagination->find("next_cursor");
	if (cursor == pagination->end() || cursor->is_null())
		return parsed;
	/* The cursor goes back into a query string: only a UUID is taken. */
	std::optional<std::string> uuid;
	if (cursor->is_string())
		uuid = CanonicalUuid(cursor->get_ref<const std::string &>());
	if (!uuid)
		throw ResponseError(prefix + " whose " + Quoted("pagination.next_cursor") + " is neither a UUID nor null");
	parsed.next_cursor = uuid;
	return parsed;
}

json
ParseBody(std::string_view body)
{
	json parsed = json::parse(body.begin(), body.end(), nullptr, false);
	if (parsed.is_discarded())
		throw ResponseError("Stack Auth answered with a body that is not JSON: \"" + LogText(body, kMaxSnippet, true) +
							"\"");
	return parsed;
}

StackError
ParseError(int status, std::string_view content_type, std::string_view body)
{
	StackError error;
	error.status = status;
	const std::string media = MediaType(content_type);
	const std::string_view trimmed = Trim(body);

	if (trimmed.empty()) {
		error.message = Status(status) + " with an empty body";
		return error;
	}
	if (media == "text/html" || media == "application/xhtml+xml" || LooksLikeHtml(trimmed)) {
		/* a proxy's or load balancer's error page: its title says enough, the page itself is noise */
		error.message = Status(status) + " with an HTML page";
		std::string title = HtmlTitle(trimmed);
		if (!title.empty())
			error.details = {{"html_title", title}};
		return error;
	}
	if (IsJsonMediaType(media) || (media.empty() && (trimmed.front() == '{' || trimmed.front() == '['))) {
		json parsed = json::parse(trimmed.begin(), trimmed.end(), nullptr, false);
		if (parsed.is_discarded()) {
			error.message =
				LogText(Status(status) + " with a body that is not valid JSON: " + LogText(trimmed, kMaxSnippet, true),
						kMaxMessage);
			return error;
		}
		if (parsed.is_object()) {
			auto code = parsed.find("code");
			if (code != parsed.end() && code->is_string())
				error.code = LogText(code->get_ref<const std::string &>(), kMaxSnippet, true);
			/* Known errors put the message in "error"; the dev rate limiter, in "message". */
			for (const char *key : {"error", "message"}) {
				auto message = parsed.find(key);
				if (message != parsed.end() && message->is_string()) {
					error.message = LogText(message->get_ref<const std::string &>(), kMaxMessage);
					break;
				}
			}
			auto details = parsed.find("details");
			if (details != parsed.end())
				error.details = *details;
		} else if (parsed.is_string()) {
			error.message = LogText(parsed.get_ref<const std::string &>(), kMaxMessage);
		}
		if (error.message.empty())
			error.message = error.code.empty() ? LogText(parsed.dump(), kMaxMessage, true) : error.code;
		return error;
	}
	/* text/plain (Stack Auth's StatusError) and anything else that is not binary */
	error.message = LogText(trimmed, kMaxMessage);
	return error;
}

std::string
Describe(const StackError &error)
{
	const std::string status = Status(error.status);
	if (error.code.empty() && error.message.rfind(status + " ", 0) == 0) {
		/* already says it: "HTTP 502 with an HTML page" */
		if (error.details.is_object() && error.details.contains("html_title") &&
			error.details["html_title"].is_string())
			return error.message + " titled \"" + error.details["html_title"].get<std::string>() + "\"";
		return error.message;
	}
	std::string text = status;
	if (!error.code.empty())
		text += " " + error.code;
	if (!error.message.empty() && error.message != error.code)
		text += ": " + error.message;
	return text;
}

} // namespace cutover
