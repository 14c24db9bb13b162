/*
 * user_ids.cpp: walking a value's text for user IDs: a whole string, an array literal's elements, a JSON
 * document's strings (with their path), and IDs inside longer strings.
 */
#include "core/user_ids.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/escapes.hpp"
#include "core/json_text.hpp"
#include "core/pure.hpp"

namespace pgc::core {

namespace {

bool
IsIdentifier(std::string_view key)
{
	if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_'))
		return false;
	return std::all_of(key.begin(), key.end(),
					   [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
}

/* IDs inside a longer string: 8-4-4-4-12 or 32 hex digits, with no hex digit right before or after. */
bool
ScanEmbedded(Span &span, const JsonPath &path, IdVisitor &visitor)
{
	const char *text = span.data();
	std::size_t size = span.size();
	std::size_t i = 0;
	while (i < size) {
		if (HexValue(static_cast<unsigned char>(text[i])) < 0) {
			i++;
			continue;
		}
		std::size_t end = i;
		while (end < size && HexValue(static_cast<unsigned char>(text[end])) >= 0)
			end++;
		UuidSpelling spelling;
		if (end - i == 32 && ParseUuidSpelling(std::string_view(text + i, 32), spelling)) {
			if (!visitor.Id(span, i, 32, spelling, IdPlace::Embedded, path))
				return false;
		} else if (end - i == 8 && i + 36 <= size && text[end] == '-' &&
				   (i + 36 == size || HexValue(static_cast<unsigned char>(text[i + 36])) < 0) &&
				   ParseCanonicalUuid(std::string_view(text + i, 36), spelling.value, &spelling.cases)) {
			spelling.form = UuidForm::Canonical;
			if (!visitor.Id(span, i, 36, spelling, IdPlace::Embedded, path))
				return false;
			end = i + 36;
		}
		i = end;
	}
	return true;
}

/*
 * One string (a whole value, an element, a JSON string) checked for a user ID: the whole of it (trailing
 * blanks aside, as char(n) pads), else, with options.embedded, inside it. `was_uuid` says whether the whole
 * string is a UUID.
 */
bool
CheckString(Span &span, IdPlace place, const JsonPath &path, const WalkOptions &options, IdVisitor &visitor,
			bool *was_uuid = nullptr)
{
	std::string_view text = span.view();
	if (options.scalars)
		visitor.Scalar(place, path);
	/* most strings are no ID at all: too short, or not starting as one does (a char(n) of blanks) */
	if (text.size() < 32 || (!options.embedded && text[0] != '{' && HexValue(static_cast<unsigned char>(text[0])) < 0))
		return true;
	std::size_t size = text.size();
	while (size > 0 && text[size - 1] == ' ')
		size--;
	if (size >= 32 && size <= 41) {
		UuidSpelling spelling;
		if (ParseUuidSpelling(text.substr(0, size), spelling)) {
			if (was_uuid != nullptr)
				*was_uuid = true;
			return visitor.Id(span, 0, size, spelling, place, path);
		}
	}
	if (options.embedded && text.size() > 32)
		return ScanEmbedded(span, place == IdPlace::JsonValue || place == IdPlace::JsonKey ? path : JsonPath(),
							visitor);
	return true;
}

/* A JSON string at [start, end) of `span` (inside the quotes), escaped or not. */
WalkResult
CheckJsonString(Span &span, std::size_t start, std::size_t end, bool escaped, IdPlace place, const JsonPath &path,
				const WalkOptions &options, IdVisitor &visitor, bool *was_uuid)
{
	if (!escaped) {
		Span inside(span, start, end - start);
		return CheckString(inside, place, path, options, visitor, was_uuid) ? WalkResult::Done : WalkResult::Stopped;
	}
	DecodedSpan inside(span, start, end - start, DecodedSpan::Escapes::JsonString);
	if (!inside.ok())
		return WalkResult::Malformed;
	return CheckString(inside, place, path, options, visitor, was_uuid) ? WalkResult::Done : WalkResult::Stopped;
}

WalkResult
WalkJson(Span &span, const WalkOptions &options, IdVisitor &visitor)
{
	static thread_local JsonPath path; /* reused: its segments keep their room */
	path.Enter();
	const char *text = span.data();
	std::size_t size = span.size();
	bool expect_key = false;
	std::size_t i = 0;
	WalkResult result = WalkResult::Done;
	while (result == WalkResult::Done) {
		while (i < size && IsJsonSpace(text[i]))
			i++;
		if (i >= size)
			break;
		char ch = text[i];
		if (ch == '{' || ch == '[') {
			path.Push({{}, ch == '[', false});
			expect_key = ch == '{';
			i++;
		} else if (ch == '}' || ch == ']') {
			if (path.Depth() == 0)
				result = WalkResult::Malformed;
			else
				path.Pop();
			expect_key = false;
			i++;
		} else if (ch == ',') {
			expect_key = path.Depth() > 0 && !path.Back().array;
			i++;
		} else if (ch == ':') {
			expect_key = false;
			i++;
		} else if (ch == '"') {
			std::size_t start = i + 1;
			bool escaped = false;
			std::size_t end = ClosingQuote(text, start, size, escaped);
			if (end >= size) {
				result = WalkResult::Malformed;
				break;
			}
			bool key = expect_key && path.Depth() > 0 && !path.Back().array;
			if (key)
				path.Back() = {{}, false, false}; /* the key's path is its object's */
			bool was_uuid = false;
			result = CheckJsonString(span, start, end, escaped, key ? IdPlace::JsonKey : IdPlace::JsonValue, path,
									 options, visitor, &was_uuid);
			if (key)
				path.Back() = {std::string_view(text + start, end - start), false, was_uuid};
			expect_key = false;
			i = end + 1;
		} else {
			std::size_t end = i;
			while (end < size && !IsJsonDelimiter(text[end]))
				end++;
			if (end == i) {
				result = WalkResult::Malformed;
				break;
			}
			if (options.scalars && !(end - i == 4 && std::memcmp(text + i, "null", 4) == 0))
				visitor.Scalar(IdPlace::JsonValue, path);
			i = end;
		}
	}
	if (result == WalkResult::Done && path.Depth() != 0)
		result = WalkResult::Malformed;
	path.Leave();
	return result;
}

/* An array literal as array_out prints it: "[0:1]={...}" with nested braces, quoted or bare elements. */
WalkResult
WalkArrayLiteral(Span &span, ValueClass element, const WalkOptions &options, IdVisitor &visitor)
{
	const char *text = span.data();
	std::size_t size = span.size();
	std::size_t i = 0;
	if (size > 0 && text[0] == '[') {
		const void *equals = std::memchr(text, '=', size);
		if (equals == nullptr)
			return WalkResult::Malformed;
		i = static_cast<std::size_t>(static_cast<const char *>(equals) - text) + 1;
	}
	while (i < size) {
		char ch = text[i];
		if (ch == '{' || ch == '}' || ch == ',' || ch == ' ') {
			i++;
			continue;
		}
		WalkResult result = WalkResult::Done;
		if (ch == '"') {
			std::size_t start = i + 1;
			bool escaped = false;
			std::size_t end = ClosingQuote(text, start, size, escaped);
			if (end >= size)
				return WalkResult::Malformed;
			if (escaped) {
				DecodedSpan value(span, start, end - start, DecodedSpan::Escapes::ArrayElement);
				result = value.ok() ? WalkScalar(value, element, IdPlace::ArrayElement, options, visitor)
									: WalkResult::Malformed;
			} else {
				Span value(span, start, end - start);
				result = WalkScalar(value, element, IdPlace::ArrayElement, options, visitor);
			}
			i = end + 1;
		} else {
			std::size_t end = i;
			while (end < size && text[end] != ',' && text[end] != '}')
				end++;
			if (!(end - i == 4 && std::memcmp(text + i, "NULL", 4) == 0)) {
				Span value(span, i, end - i);
				result = WalkScalar(value, element, IdPlace::ArrayElement, options, visitor);
			}
			i = end;
		}
		if (result != WalkResult::Done)
			return result;
	}
	return WalkResult::Done;
}

} // namespace

const char *
IdPlaceName(IdPlace place)
{
	switch (place) {
	case IdPlace::Value:
		return "value";
	case IdPlace::ArrayElement:
		return "array element";
	case IdPlace::JsonValue:
		return "json value";
	case IdPlace::JsonKey:
		return "json key";
	case IdPlace::Embedded:
		return "embedded";
	}
	return "value";
}

std::string
JsonPath::Text() const
{
	if (!in_json_)
		return {};
	std::string text = "$";
	for (const auto &segment : segments_) {
		if (segment.array)
			text += "[*]";
		else if (segment.wild)
			text += ".*";
		else if (segment.key.data() == nullptr)
			continue;
		else if (IsIdentifier(segment.key))
			text += "." + std::string(segment.key);
		else
			text += ".\"" + std::string(segment.key) + "\"";
	}
	return text;
}

WalkResult
WalkScalar(Span &text, ValueClass element, IdPlace place, const WalkOptions &options, IdVisitor &visitor)
{
	static const JsonPath no_path;
	switch (element) {
	case ValueClass::None:
		return WalkResult::Done;
	case ValueClass::Uuid: {
		/* uuid_out prints every value 8-4-4-4-12: anything else is not a uuid's text */
		UuidSpelling spelling;
		if (!ParseUuidSpelling(text.view(), spelling))
			return WalkResult::Malformed;
		return CheckString(text, place, no_path, options, visitor) ? WalkResult::Done : WalkResult::Stopped;
	}
	case ValueClass::String:
		return CheckString(text, place, no_path, options, visitor) ? WalkResult::Done : WalkResult::Stopped;
	case ValueClass::Json:
	case ValueClass::Jsonb:
		return WalkJson(text, options, visitor);
	case ValueClass::Other:
		if (!options.embedded)
			return WalkResult::Done;
		if (options.scalars)
			visitor.Scalar(place, no_path);
		return ScanEmbedded(text, no_path, visitor) ? WalkResult::Done : WalkResult::Stopped;
	}
	return WalkResult::Done;
}

WalkResult
WalkText(Span &text, ValueType type, const WalkOptions &options, IdVisitor &visitor)
{
	if (type.element == ValueClass::None)
		return WalkResult::Done;
	if (type.array)
		return WalkArrayLiteral(text, type.element, options, visitor);
	return WalkScalar(text, type.element, IdPlace::Value, options, visitor);
}

} // namespace pgc::core
