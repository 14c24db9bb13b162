/*
 * escapes.hpp: the escape sequences of COPY's text format and of JSON strings, decoded one at a time. Pure
 * C++: shared by the walk for user IDs (user_ids.cpp) and the archive's line readers (client/archive_format).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgc::core {

/* The value of a hex digit, -1 for any other byte. */
int HexValue(unsigned char ch);

/* Appends the UTF-8 bytes of a code point. */
void AppendUtf8(std::string &out, std::uint32_t code);

/*
 * The byte that COPY's text format means by the escape sequence whose backslash stands before text[pos] (\b,
 * \f, \n, \r, \t, \v, octal \NNN, hex \xHH; any other character stands for itself); `pos` moves past it.
 * `pos` must be inside `text`.
 */
char DecodeCopyEscape(std::string_view text, std::size_t &pos);

/*
 * Appends what the JSON escape sequence whose backslash stands before text[pos] means (\" \\ \/ \b \f \n \r \t,
 * \uXXXX with surrogate pairs, as UTF-8); `pos` moves past it. Returns an empty string, or why it is no escape
 * JSON allows (cut short, a non-hex digit, a lone surrogate, an unknown letter; \u0000 unless `allow_zero`).
 */
std::string DecodeJsonEscape(std::string_view text, std::size_t &pos, std::string &out, bool allow_zero);

} // namespace pgc::core
