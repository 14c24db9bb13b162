/*
 * escapes.hpp: the escape sequences of COPY's text format and of JSON strings, decoded one at a time, and where
 * a UTF-8 text may be cut. Pure C++: shared by the walk for user IDs (user_ids.cpp, spans.cpp, json_text.cpp),
 * the archive's line readers (client/archive_format) and the error boundary (guard.cpp).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgc::core {

/* Letter cases of a hex digit (bits of HexDigits::letter_case): digits have none. */
constexpr int kSmallLetters = 1;
constexpr int kCapitalLetters = 2;

/* The value of each hex digit (-1 for any other byte) and its letter case: one table lookup per character. */
struct HexDigits {
	signed char value[256];
	unsigned char letter_case[256];
	constexpr HexDigits() : value(), letter_case()
	{
		for (int i = 0; i < 256; i++)
			value[i] = -1;
		for (int i = 0; i < 10; i++)
			value['0' + i] = static_cast<signed char>(i);
		for (int i = 0; i < 6; i++) {
			value['a' + i] = static_cast<signed char>(10 + i);
			value['A' + i] = static_cast<signed char>(10 + i);
			letter_case['a' + i] = kSmallLetters;
			letter_case['A' + i] = kCapitalLetters;
		}
	}
};
inline constexpr HexDigits kHexDigits;

/* The value of a hex digit, -1 for any other byte. */
inline int
HexValue(unsigned char ch)
{
	return kHexDigits.value[ch];
}

/* Appends the UTF-8 bytes of a code point. */
void AppendUtf8(std::string &out, std::uint32_t code);

/*
 * How many bytes of `text` to keep to cut it to at most `max_bytes` without splitting a UTF-8 character: all
 * of them if it fits, else the longest prefix that ends where a character ends.
 */
std::size_t Utf8Prefix(std::string_view text, std::size_t max_bytes);

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
