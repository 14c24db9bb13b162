/*
 * json_text.hpp: the small readers of quoted, escaped text that the walk for user IDs (user_ids.cpp), its
 * escape layers (spans.cpp) and jsonb's key order (jsonb_key_order.cpp) share. Pure C++.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgc::core {

/* In the positions of a decoded text (DecodedSpan), the mark of a byte that came from an escape sequence. */
constexpr std::uint32_t kEscaped = 0x80000000u;

inline bool
IsJsonSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

inline bool
IsJsonDelimiter(char ch)
{
	return ch == ',' || ch == '}' || ch == ']' || ch == ':' || IsJsonSpace(ch);
}

/*
 * The closing quote of a string (a JSON string, a quoted array element) whose inside starts at `from`: the
 * first quote after an even number of backslashes; `size` when there is none. `escaped` says whether a
 * backslash is inside.
 */
std::size_t ClosingQuote(const char *text, std::size_t from, std::size_t size, bool &escaped);

/*
 * Decodes the inside of a JSON string. `from`, if given, receives for each decoded byte where it starts in
 * `raw` (kEscaped set for bytes of an escape sequence). False for a malformed escape.
 */
bool UnescapeJson(std::string_view raw, std::string &out, std::vector<std::uint32_t> *from);

} // namespace pgc::core
