/*
 * escapes.cpp: COPY text and JSON escape sequences.
 */
#include "core/escapes.hpp"

#include "core/pure.hpp"

namespace pgc::core {

namespace {

/* Four hex digits at text[pos] as a code unit; false when cut short or not hex. */
std::string
Hex4(std::string_view text, std::size_t &pos, std::uint32_t &code)
{
	if (pos + 4 > text.size())
		return "a \\u escape cut short";
	code = 0;
	for (std::size_t i = pos; i < pos + 4; i++) {
		int digit = HexValue(static_cast<unsigned char>(text[i]));
		if (digit < 0)
			return "a \\u escape with a non-hex digit";
		code = (code << 4) | static_cast<std::uint32_t>(digit);
	}
	pos += 4;
	return {};
}

} // namespace

void
AppendUtf8(std::string &out, std::uint32_t code)
{
	if (code < 0x80) {
		out.push_back(static_cast<char>(code));
	} else if (code < 0x800) {
		out.push_back(static_cast<char>(0xc0 | (code >> 6)));
		out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
	} else if (code < 0x10000) {
		out.push_back(static_cast<char>(0xe0 | (code >> 12)));
		out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
		out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
	} else {
		out.push_back(static_cast<char>(0xf0 | (code >> 18)));
		out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
		out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
		out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
	}
}

std::size_t
Utf8Prefix(std::string_view text, std::size_t max_bytes)
{
	if (text.size() <= max_bytes)
		return text.size();
	std::size_t n = max_bytes;
	/* text[n] is the first byte left out: while it continues a character, that character starts before n */
	while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
		n--;
	return n;
}

char
DecodeCopyEscape(std::string_view text, std::size_t &pos)
{
	char ch = text[pos++];
	if (ch >= '0' && ch <= '7') {
		int value = ch - '0';
		for (int digits = 1; digits < 3 && pos < text.size() && text[pos] >= '0' && text[pos] <= '7'; digits++)
			value = value * 8 + (text[pos++] - '0');
		return static_cast<char>(value & 0xff);
	}
	if (ch == 'x' && pos < text.size() && HexValue(static_cast<unsigned char>(text[pos])) >= 0) {
		int value = HexValue(static_cast<unsigned char>(text[pos++]));
		if (pos < text.size() && HexValue(static_cast<unsigned char>(text[pos])) >= 0)
			value = value * 16 + HexValue(static_cast<unsigned char>(text[pos++]));
		return static_cast<char>(value);
	}
	switch (ch) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		return ch; /* \\ and any other character stand for themselves */
	}
}

std::string
DecodeJsonEscape(std::string_view text, std::size_t &pos, std::string &out, bool allow_zero)
{
	if (pos >= text.size())
		return "the string does not end (the line is cut short?)";
	char ch = text[pos++];
	switch (ch) {
	case '"':
	case '\\':
	case '/':
		out.push_back(ch);
		return {};
	case 'b':
		out.push_back('\b');
		return {};
	case 'f':
		out.push_back('\f');
		return {};
	case 'n':
		out.push_back('\n');
		return {};
	case 'r':
		out.push_back('\r');
		return {};
	case 't':
		out.push_back('\t');
		return {};
	case 'u':
		break;
	default:
		return "an unknown escape \\" + std::string(1, ch);
	}
	std::uint32_t code;
	std::string error = Hex4(text, pos, code);
	if (!error.empty())
		return error;
	if (code >= 0xd800 && code <= 0xdbff) {
		std::uint32_t low;
		if (text.compare(pos, 2, "\\u") != 0)
			return "a lone UTF-16 surrogate";
		pos += 2;
		error = Hex4(text, pos, low);
		if (!error.empty())
			return error;
		if (low < 0xdc00 || low > 0xdfff)
			return "a lone UTF-16 surrogate";
		code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
	} else if (code >= 0xdc00 && code <= 0xdfff) {
		return "a lone UTF-16 surrogate";
	}
	if (code == 0 && !allow_zero)
		return "\\u0000: PostgreSQL text cannot hold a zero byte";
	AppendUtf8(out, code);
	return {};
}

} // namespace pgc::core
