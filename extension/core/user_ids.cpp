/*
 * user_ids.cpp: walking a value's text for user IDs; the escape layers; jsonb's key order.
 */
#include "core/user_ids.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "core/escapes.hpp"
#include "core/pure.hpp"

namespace pgc::core {

namespace {

constexpr std::uint32_t kEscaped = 0x80000000u;

std::string_view
Trim(std::string_view text)
{
	while (!text.empty() && text.front() == ' ')
		text.remove_prefix(1);
	while (!text.empty() && text.back() == ' ')
		text.remove_suffix(1);
	return text;
}

/* A type name without schema, quotes or typmod: "extensions.citext" -> "citext". */
std::string
BareTypeName(std::string_view name)
{
	name = Trim(name);
	/* the last dotted part outside quotes, and the typmod "(...)" outside quotes taken out */
	std::string part;
	bool quoted = false, in_typmod = false, was_quoted = false;
	for (std::size_t i = 0; i < name.size(); i++) {
		char ch = name[i];
		if (quoted) {
			if (ch == '"' && i + 1 < name.size() && name[i + 1] == '"') {
				part.push_back('"');
				i++;
			} else if (ch == '"') {
				quoted = false;
			} else {
				part.push_back(ch);
			}
		} else if (in_typmod) {
			in_typmod = ch != ')';
		} else if (ch == '"') {
			quoted = was_quoted = true;
		} else if (ch == '(') {
			in_typmod = true;
		} else if (ch == '.') {
			part.clear();
			was_quoted = false;
		} else {
			part.push_back(ch);
		}
	}
	/* "timestamp(3) with time zone" leaves a double blank where the typmod was */
	std::string bare;
	for (char ch : Trim(part))
		if (!(ch == ' ' && !bare.empty() && bare.back() == ' ') || was_quoted)
			bare.push_back(ch);
	return bare;
}

/* Whether `text` is `word` or starts with it and a blank ("time" in "time with time zone", not "timeline"). */
bool
IsWordOf(std::string_view text, std::string_view word)
{
	return text == word ||
		   (text.size() > word.size() && text.substr(0, word.size()) == word && text[word.size()] == ' ');
}

/*
 * Decodes the inside of a JSON string. `from`, if given, receives for each decoded byte where it starts in
 * `raw` (kEscaped set for bytes of an escape sequence). False for a malformed escape.
 */
bool
UnescapeJson(std::string_view raw, std::string &out, std::vector<std::uint32_t> *from)
{
	for (std::size_t i = 0; i < raw.size();) {
		if (raw[i] != '\\') {
			out.push_back(raw[i]);
			if (from != nullptr)
				from->push_back(static_cast<std::uint32_t>(i));
			i++;
			continue;
		}
		std::size_t start = i++, before = out.size();
		/* json keeps \u0000 (jsonb would have refused it) */
		if (!DecodeJsonEscape(raw, i, out, true).empty())
			return false;
		if (from != nullptr)
			for (std::size_t k = before; k < out.size(); k++)
				from->push_back(static_cast<std::uint32_t>(start) | kEscaped);
	}
	return true;
}

/* Decodes a COPY text field's escapes (CopyReadAttributesText). */
void
UnescapeCopy(std::string_view raw, std::string &out, std::vector<std::uint32_t> &from)
{
	for (std::size_t i = 0; i < raw.size();) {
		if (raw[i] != '\\' || i + 1 >= raw.size()) {
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i));
			i++;
			continue;
		}
		std::size_t start = i++;
		out.push_back(DecodeCopyEscape(raw, i));
		from.push_back(static_cast<std::uint32_t>(start) | kEscaped);
	}
}

/* A quoted array element's escapes: a backslash stands before the character it keeps. */
bool
UnescapeArrayElement(std::string_view raw, std::string &out, std::vector<std::uint32_t> &from)
{
	for (std::size_t i = 0; i < raw.size(); i++) {
		if (raw[i] == '\\') {
			if (++i >= raw.size())
				return false;
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i - 1) | kEscaped);
		} else {
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i));
		}
	}
	return true;
}

bool
IsJsonSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

bool
IsJsonDelimiter(char ch)
{
	return ch == ',' || ch == '}' || ch == ']' || ch == ':' || IsJsonSpace(ch);
}

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

/*
 * The closing quote of a string (a JSON string, a quoted array element) whose inside starts at `from`: the
 * first quote after an even number of backslashes; `size` when there is none. `escaped` says whether a
 * backslash is inside.
 */
std::size_t
ClosingQuote(const char *text, std::size_t from, std::size_t size, bool &escaped)
{
	for (std::size_t at = from;;) {
		const void *quote = std::memchr(text + at, '"', size - at);
		if (quote == nullptr)
			return size;
		std::size_t end = static_cast<std::size_t>(static_cast<const char *>(quote) - text);
		if (std::memchr(text + at, '\\', end - at) == nullptr)
			return end;
		escaped = true;
		std::size_t backslashes = 0;
		while (end - backslashes > from && text[end - backslashes - 1] == '\\')
			backslashes++;
		if (backslashes % 2 == 0)
			return end;
		at = end + 1;
	}
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

/* jsonb's order of keys: shorter first, then byte order. */
bool
JsonbKeyLess(const std::string &a, const std::string &b)
{
	if (a.size() != b.size())
		return a.size() < b.size();
	return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

void
SkipSpace(std::string_view text, std::size_t &i)
{
	while (i < text.size() && IsJsonSpace(text[i]))
		i++;
}

/* A string token from text[i] (the opening quote); its raw inside in `raw`. */
bool
ReadJsonString(std::string_view text, std::size_t &i, std::string_view &raw)
{
	if (i >= text.size() || text[i] != '"')
		return false;
	std::size_t start = ++i;
	while (i < text.size() && text[i] != '"')
		i += text[i] == '\\' ? 2 : 1;
	if (i >= text.size())
		return false;
	raw = text.substr(start, i - start);
	i++;
	return true;
}

/* Re-emits one JSON value from text[i] with every object's members in jsonb's order. */
bool
EmitSorted(std::string_view text, std::size_t &i, std::string &out, int depth)
{
	if (depth > 100000)
		return false;
	SkipSpace(text, i);
	if (i >= text.size())
		return false;
	char ch = text[i];
	if (ch == '{' || ch == '[') {
		bool object = ch == '{';
		char close = object ? '}' : ']';
		i++;
		std::vector<std::pair<std::string, std::string>> members; /* (unescaped key, text) */
		SkipSpace(text, i);
		if (i < text.size() && text[i] == close) {
			i++;
		} else {
			for (;;) {
				std::string key, member;
				if (object) {
					std::string_view raw;
					if (!ReadJsonString(text, i, raw) || !UnescapeJson(raw, key, nullptr))
						return false;
					SkipSpace(text, i);
					if (i >= text.size() || text[i] != ':')
						return false;
					i++;
					member = "\"" + std::string(raw) + "\": ";
				}
				if (!EmitSorted(text, i, member, depth + 1))
					return false;
				members.emplace_back(std::move(key), std::move(member));
				SkipSpace(text, i);
				if (i < text.size() && text[i] == ',') {
					i++;
					SkipSpace(text, i);
					continue;
				}
				if (i < text.size() && text[i] == close) {
					i++;
					break;
				}
				return false;
			}
		}
		if (object)
			std::stable_sort(members.begin(), members.end(),
							 [](const auto &a, const auto &b) { return JsonbKeyLess(a.first, b.first); });
		out.push_back(ch);
		for (std::size_t m = 0; m < members.size(); m++) {
			if (m > 0)
				out += ", ";
			out += members[m].second;
		}
		out.push_back(close);
		return true;
	}
	if (ch == '"') {
		std::string_view raw;
		if (!ReadJsonString(text, i, raw))
			return false;
		out.push_back('"');
		out.append(raw);
		out.push_back('"');
		return true;
	}
	std::size_t start = i;
	while (i < text.size() && !IsJsonDelimiter(text[i]))
		i++;
	if (i == start)
		return false;
	out.append(text.substr(start, i - start));
	return true;
}

} // namespace

ValueType
ValueTypeOf(std::string_view base_type)
{
	ValueType type;
	std::string name(Trim(base_type));
	while (name.size() >= 2 && name.compare(name.size() - 2, 2, "[]") == 0) {
		type.array = true;
		name.resize(name.size() - 2);
	}
	name = BareTypeName(name);
	static const std::set<std::string> strings = {
		"text", "character varying", "varchar", "character", "bpchar", "citext", "name"};
	static const std::set<std::string> none = {"smallint",
											   "integer",
											   "bigint",
											   "int2",
											   "int4",
											   "int8",
											   "real",
											   "double precision",
											   "float4",
											   "float8",
											   "money",
											   "boolean",
											   "bool",
											   "date",
											   "bytea",
											   "inet",
											   "cidr",
											   "macaddr",
											   "macaddr8",
											   "point",
											   "line",
											   "lseg",
											   "box",
											   "path",
											   "polygon",
											   "circle",
											   "oid",
											   "xid",
											   "xid8",
											   "cid",
											   "tid",
											   "pg_lsn",
											   "int4range",
											   "int8range",
											   "numrange",
											   "tsrange",
											   "tstzrange",
											   "daterange",
											   "\"char\"",
											   "char",
											   "txid_snapshot",
											   "pg_snapshot",
											   "int4multirange",
											   "int8multirange",
											   "nummultirange",
											   "tsmultirange",
											   "tstzmultirange",
											   "datemultirange",
											   "regproc",
											   "regprocedure",
											   "regoper",
											   "regoperator",
											   "regclass",
											   "regtype",
											   "regrole",
											   "regnamespace",
											   "regconfig",
											   "regdictionary",
											   "regcollation"};
	if (name == "uuid")
		type.element = ValueClass::Uuid;
	else if (strings.count(name) > 0)
		type.element = ValueClass::String;
	else if (name == "json")
		type.element = ValueClass::Json;
	else if (name == "jsonb")
		type.element = ValueClass::Jsonb;
	else if (none.count(name) > 0 || IsWordOf(name, "time") || IsWordOf(name, "timestamp") ||
			 IsWordOf(name, "interval") || IsWordOf(name, "numeric") || IsWordOf(name, "decimal") ||
			 IsWordOf(name, "bit") || IsWordOf(name, "double precision"))
		type.element = ValueClass::None;
	else
		type.element = ValueClass::Other;
	return type;
}

bool
HoldsWholeIds(ValueType type)
{
	return type.element == ValueClass::Uuid || type.element == ValueClass::String;
}

bool
MayHoldId(std::string_view text, ValueType type, bool embedded)
{
	if (text.size() < 32 || type.element == ValueClass::None)
		return false;
	if (type.array || type.element == ValueClass::Json || type.element == ValueClass::Jsonb)
		return true;
	if (type.element == ValueClass::Other || (embedded && text.size() > 32))
		return embedded;
	std::size_t size = text.size();
	while (size > 0 && text[size - 1] == ' ')
		size--;
	return size >= 32 && size <= 41;
}

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

bool
Span::Write(std::size_t at, const char *chars, std::size_t n)
{
	if (at + n > size_)
		return false;
	if (parent_ != nullptr)
		return parent_->Write(offset_ + at, chars, n);
	std::memcpy(data_ + at, chars, n);
	return true;
}

DecodedSpan::DecodedSpan(Span &parent, std::size_t at, std::size_t size, Escapes escapes)
{
	parent_ = &parent;
	offset_ = at;
	std::string_view raw(parent.data() + at, size);
	text_.reserve(size);
	from_.reserve(size);
	switch (escapes) {
	case Escapes::CopyText:
		UnescapeCopy(raw, text_, from_);
		break;
	case Escapes::ArrayElement:
		ok_ = UnescapeArrayElement(raw, text_, from_);
		break;
	case Escapes::JsonString:
		ok_ = UnescapeJson(raw, text_, &from_);
		break;
	}
	data_ = text_.data();
	size_ = text_.size();
}

bool
DecodedSpan::Write(std::size_t at, const char *chars, std::size_t n)
{
	if (at + n > size_)
		return false;
	/* every character must stand for itself: a plain character cannot replace an escape sequence */
	for (std::size_t k = at; k < at + n; k++)
		if ((from_[k] & kEscaped) != 0)
			return false;
	/* consecutive plain characters are consecutive in the parent too: one write there */
	if (n > 0 && from_[at + n - 1] - from_[at] != n - 1)
		return false;
	if (!parent_->Write(offset_ + from_[at], chars, n))
		return false;
	std::memcpy(text_.data() + at, chars, n);
	return true;
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

bool
SortJsonbKeys(std::string_view text, std::string &out)
{
	out.clear();
	std::size_t i = 0;
	if (!EmitSorted(text, i, out, 0))
		return false;
	SkipSpace(text, i);
	return i == text.size();
}

bool
SortJsonbArrayKeys(std::string_view text, std::string &out)
{
	out.clear();
	std::string element, sorted;
	for (std::size_t i = 0; i < text.size();) {
		if (text[i] != '"') {
			out.push_back(text[i++]); /* dimensions, braces, commas, unquoted scalars and NULL as they are */
			continue;
		}
		bool escaped = false;
		std::size_t end = ClosingQuote(text.data(), i + 1, text.size(), escaped);
		if (end >= text.size())
			return false;
		element.clear();
		for (std::size_t k = i + 1; k < end; k++) {
			if (text[k] == '\\')
				k++;
			element.push_back(text[k]);
		}
		if (!SortJsonbKeys(element, sorted))
			return false;
		out.push_back('"');
		for (char ch : sorted) {
			if (ch == '"' || ch == '\\')
				out.push_back('\\');
			out.push_back(ch);
		}
		out.push_back('"');
		i = end + 1;
	}
	return true;
}

} // namespace pgc::core
