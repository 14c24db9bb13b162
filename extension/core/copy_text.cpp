/*
 * copy_text.cpp: user IDs rewritten in COPY text lines.
 */
#include "core/copy_text.hpp"

#include <algorithm>
#include <cctype>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

bool
IsHex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

std::string
Lower(std::string_view text)
{
	std::string lower(text);
	std::transform(lower.begin(), lower.end(), lower.begin(),
				   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
	return lower;
}

std::string
Upper(std::string_view text)
{
	std::string upper(text);
	std::transform(upper.begin(), upper.end(), upper.begin(),
				   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
	return upper;
}

/* The target of one UUID, in the letter case of the source text; false when it is not in the map. */
bool
Remap(std::string_view value, const IdMap &map, std::string &out)
{
	auto found = map.find(Lower(value));
	if (found == map.end())
		return false;
	out += value == Upper(value) ? Upper(found->second) : found->second;
	return true;
}

bool
AllDigits(std::string_view text)
{
	return !text.empty() &&
		   std::all_of(text.begin(), text.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
}

/*
 * An array literal (as array_out prints it, inside a COPY text field) rewritten element by element. The field
 * is read as COPY escapes it (a backslash pair stands for one character) only to follow the array's quoting;
 * everything but the remapped elements is copied byte for byte. Unquoted elements that are UUIDs are
 * remapped; with `all` (uuid[]) any other unquoted element but NULL and array bounds is an error.
 */
bool
RemapArray(std::string_view field, bool all, const IdMap &map, std::string &out, std::string &unmapped)
{
	bool in_quotes = false;
	bool escaped = false; /* the previous character was an array-level backslash */
	std::size_t token = std::string_view::npos;
	auto finish_token = [&](std::size_t end) {
		if (token == std::string_view::npos)
			return true;
		std::string_view element = field.substr(token, end - token);
		token = std::string_view::npos;
		if (IsCanonicalUuid(element)) {
			if (Remap(element, map, out))
				return true;
			unmapped = std::string(element);
			return false;
		}
		if (all && element != "NULL" && !AllDigits(element)) {
			unmapped = std::string(element);
			return false;
		}
		out.append(element);
		return true;
	};
	for (std::size_t i = 0; i < field.size();) {
		/* one character as COPY wrote it: a backslash pair is one character */
		std::size_t width = field[i] == '\\' && i + 1 < field.size() ? 2 : 1;
		char ch = width == 2 ? (field[i + 1] == '\\' ? '\\' : '\0') : field[i];
		bool structural = !in_quotes && !escaped &&
						  (ch == '{' || ch == '}' || ch == ',' || ch == '[' || ch == ']' || ch == ':' || ch == '=');
		if (structural) {
			if (!finish_token(i))
				return false;
			out.push_back(ch);
		} else if (in_quotes || escaped || ch == '"' || ch == '\\') {
			if (!finish_token(i))
				return false;
			out.append(field.substr(i, width));
			if (escaped)
				escaped = false;
			else if (ch == '\\')
				escaped = true;
			else if (ch == '"')
				in_quotes = !in_quotes;
		} else if (token == std::string_view::npos) {
			token = i;
		}
		i += width;
	}
	return finish_token(field.size());
}

} // namespace

bool
IsCanonicalUuid(std::string_view text)
{
	if (text.size() != 36)
		return false;
	for (std::size_t i = 0; i < text.size(); i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? text[i] != '-' : !IsHex(text[i]))
			return false;
	}
	return true;
}

bool
RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
			  RemapFailure &failure)
{
	out.clear();
	std::size_t start = 0;
	std::size_t index = 0;
	auto next = fields.begin();
	while (next != fields.end()) {
		std::size_t end = line.find('\t', start);
		if (end == std::string_view::npos)
			end = line.size();
		if (index == next->index) {
			std::string_view field = line.substr(start, end - start);
			bool ok = true;
			std::string unmapped;
			if (field == "\\N") {
				out.append(field);
			} else {
				switch (next->kind) {
				case UserIdKind::Uuid:
					ok = IsCanonicalUuid(field) && Remap(field, map, out);
					unmapped = std::string(field);
					break;
				case UserIdKind::Text:
					if (!IsCanonicalUuid(field))
						out.append(field);
					else
						ok = Remap(field, map, out);
					unmapped = std::string(field);
					break;
				case UserIdKind::UuidArray:
				case UserIdKind::TextArray:
					ok = RemapArray(field, next->kind == UserIdKind::UuidArray, map, out, unmapped);
					break;
				case UserIdKind::None:
					out.append(field);
					break;
				}
			}
			if (!ok) {
				failure = {next->column, unmapped, "has no target ID"};
				return false;
			}
			++next;
		} else {
			out.append(line.substr(start, end - start));
		}
		if (end == line.size()) {
			if (next != fields.end()) {
				failure = {next->column, "", "is missing from the line"};
				return false;
			}
			return true;
		}
		out.push_back('\t');
		start = end + 1;
		index++;
	}
	out.append(line.substr(start));
	return true;
}

} // namespace pgc::core
