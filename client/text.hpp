/*
 * text.hpp: the small ASCII text helpers the client's parsers share.
 */
#pragma once

#include <string>
#include <string_view>

namespace cutover {

inline bool
IsAsciiSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* `s` without ASCII white space at either end. */
inline std::string_view
Trim(std::string_view s)
{
	while (!s.empty() && IsAsciiSpace(s.front()))
		s.remove_prefix(1);
	while (!s.empty() && IsAsciiSpace(s.back()))
		s.remove_suffix(1);
	return s;
}

/* `s` with A-Z lowered; other bytes (UTF-8 included) kept. */
inline std::string
AsciiLower(std::string_view s)
{
	std::string lower(s);
	for (char &c : lower)
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	return lower;
}

} // namespace cutover
