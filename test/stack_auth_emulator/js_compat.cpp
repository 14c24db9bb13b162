// test/stack_auth_emulator/js_compat.cpp: JavaScript, yup and PostgreSQL rules the real Stack Auth backend
// applies, written out by hand (see js_compat.hpp for why there is no std::regex here).
#include "js_compat.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

namespace emulator {

namespace {

bool
IsAsciiAlpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
IsAsciiDigit(char c)
{
	return c >= '0' && c <= '9';
}

bool
IsAsciiAlnum(char c)
{
	return IsAsciiAlpha(c) || IsAsciiDigit(c);
}

bool
IsHexDigit(char c)
{
	return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Decodes one UTF-8 sequence at text[pos], advancing pos. An invalid byte decodes to U+FFFD and advances by one,
// as TextDecoder (which the real server runs every body through) does.
char32_t
NextCodePoint(std::string_view text, std::size_t &pos)
{
	auto byte = static_cast<unsigned char>(text[pos]);
	if (byte < 0x80) {
		++pos;
		return byte;
	}
	std::size_t extra = (byte & 0xE0) == 0xC0 ? 1 : (byte & 0xF0) == 0xE0 ? 2 : (byte & 0xF8) == 0xF0 ? 3 : 0;
	if (extra == 0 || pos + extra >= text.size()) {
		++pos;
		return 0xFFFD;
	}
	char32_t cp = byte & (0x3F >> extra);
	for (std::size_t i = 1; i <= extra; ++i) {
		auto cont = static_cast<unsigned char>(text[pos + i]);
		if ((cont & 0xC0) != 0x80) {
			++pos;
			return 0xFFFD;
		}
		cp = (cp << 6) | (cont & 0x3F);
	}
	pos += extra + 1;
	return cp;
}

std::u32string
CodePoints(std::string_view text)
{
	std::u32string out;
	for (std::size_t pos = 0; pos < text.size();)
		out.push_back(NextCodePoint(text, pos));
	return out;
}

bool
IsJsWhitespace(char32_t cp)
{
	switch (cp) {
	case 0x09:
	case 0x0A:
	case 0x0B:
	case 0x0C:
	case 0x0D:
	case 0x20:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
	case 0xFEFF:
		return true;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

// yup's printSimpleValue(value, true) for a JSON primitive.
std::string
PrintSimpleValue(const Json &value)
{
	if (value.is_null())
		return "null";
	if (value.is_boolean())
		return value.get<bool>() ? "true" : "false";
	if (value.is_number())
		return JsNumberToString(value.get<double>());
	return "\"" + value.get<std::string>() + "\"";
}

// JSON.stringify's replacer in printValue turns every nested primitive into the string printSimpleValue gives.
Json
ReplaceNestedPrimitives(const Json &value)
{
	if (value.is_object()) {
		Json out = Json::object();
		for (const auto &[key, item] : value.items())
			out[key] = ReplaceNestedPrimitives(item);
		return out;
	}
	if (value.is_array()) {
		Json out = Json::array();
		for (const auto &item : value)
			out.push_back(ReplaceNestedPrimitives(item));
		return out;
	}
	return PrintSimpleValue(value);
}

// One DNS label of the WHATWG e-mail regex: [a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?
bool
IsEmailDomainLabel(std::string_view label)
{
	if (label.empty() || label.size() > 63 || !IsAsciiAlnum(label.front()) || !IsAsciiAlnum(label.back()))
		return false;
	for (char c : label)
		if (!IsAsciiAlnum(c) && c != '-')
			return false;
	return true;
}

bool
IsDecimalLiteral(std::string_view s)
{
	std::size_t i = 0;
	if (i < s.size() && (s[i] == '+' || s[i] == '-'))
		++i;
	std::size_t int_digits = 0, frac_digits = 0;
	while (i < s.size() && IsAsciiDigit(s[i]))
		++i, ++int_digits;
	if (i < s.size() && s[i] == '.') {
		++i;
		while (i < s.size() && IsAsciiDigit(s[i]))
			++i, ++frac_digits;
	}
	if (int_digits + frac_digits == 0)
		return false;
	if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
		++i;
		if (i < s.size() && (s[i] == '+' || s[i] == '-'))
			++i;
		std::size_t exp_digits = 0;
		while (i < s.size() && IsAsciiDigit(s[i]))
			++i, ++exp_digits;
		if (exp_digits == 0)
			return false;
	}
	return i == s.size();
}

double
ParseRadixLiteral(std::string_view digits, int radix)
{
	if (digits.empty())
		return std::numeric_limits<double>::quiet_NaN();
	double value = 0;
	for (char c : digits) {
		int d = IsAsciiDigit(c)			 ? c - '0'
				: (c >= 'a' && c <= 'z') ? c - 'a' + 10
				: (c >= 'A' && c <= 'Z') ? c - 'A' + 10
										 : 99;
		if (d >= radix)
			return std::numeric_limits<double>::quiet_NaN();
		value = value * radix + d;
	}
	return value;
}

} // namespace

std::string
Dump(const Json &value, int indent)
{
	return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

std::string
JsNumberToString(double value)
{
	if (std::isnan(value))
		return "NaN";
	if (std::isinf(value))
		return value > 0 ? "Infinity" : "-Infinity";
	if (value == 0)
		return std::signbit(value) ? "-0" : "0";

	// Shortest round-trip digits and the decimal exponent, then Number::toString's layout rules.
	char buf[64];
	auto result = std::to_chars(buf, buf + sizeof buf, std::fabs(value), std::chars_format::scientific);
	std::string sci(buf, result.ptr);
	auto e_pos = sci.find('e');
	std::string digits;
	for (char c : sci.substr(0, e_pos))
		if (c != '.')
			digits += c;
	while (digits.size() > 1 && digits.back() == '0')
		digits.pop_back();
	int k = static_cast<int>(digits.size());
	int n = std::stoi(sci.substr(e_pos + 1)) + 1;

	std::string out = value < 0 ? "-" : "";
	if (k <= n && n <= 21) {
		out += digits + std::string(n - k, '0');
	} else if (0 < n && n <= 21) {
		out += digits.substr(0, n) + "." + digits.substr(n);
	} else if (-6 < n && n <= 0) {
		out += "0." + std::string(-n, '0') + digits;
	} else {
		out += digits.substr(0, 1);
		if (k > 1)
			out += "." + digits.substr(1);
		out += "e";
		out += n - 1 >= 0 ? "+" : "-";
		out += std::to_string(std::abs(n - 1));
	}
	return out;
}

std::string
YupPrintValue(const Json &value)
{
	if (value.is_binary())
		return "{}"; // an ArrayBuffer (application/octet-stream body): JSON.stringify prints it as {}
	if (!value.is_object() && !value.is_array())
		return PrintSimpleValue(value);
	return Dump(ReplaceNestedPrimitives(value), 2);
}

double
JsStringToNumber(std::string_view text)
{
	std::string s;
	for (std::size_t pos = 0; pos < text.size();) {
		std::size_t start = pos;
		char32_t cp = NextCodePoint(text, pos);
		if (!IsJsWhitespace(cp))
			s.append(text.substr(start, pos - start));
	}
	const double nan = std::numeric_limits<double>::quiet_NaN();
	if (s.empty())
		return nan;
	if (s == "Infinity" || s == "+Infinity")
		return std::numeric_limits<double>::infinity();
	if (s == "-Infinity")
		return -std::numeric_limits<double>::infinity();
	if (s.size() > 2 && s[0] == '0') {
		switch (s[1]) {
		case 'x':
		case 'X':
			return ParseRadixLiteral(std::string_view(s).substr(2), 16);
		case 'o':
		case 'O':
			return ParseRadixLiteral(std::string_view(s).substr(2), 8);
		case 'b':
		case 'B':
			return ParseRadixLiteral(std::string_view(s).substr(2), 2);
		default:
			break;
		}
	}
	if (!IsDecimalLiteral(s))
		return nan;
	return std::strtod(s.c_str(), nullptr);
}

Json
NormalizeJsNumbers(Json value)
{
	if (value.is_object() || value.is_array()) {
		for (auto &item : value)
			item = NormalizeJsNumbers(std::move(item));
		return value;
	}
	if (!value.is_number())
		return value;
	// Every JSON number is a double in JavaScript; print integral ones as integers, as JSON.stringify does.
	double as_double = value.get<double>();
	if (std::isfinite(as_double) && std::trunc(as_double) == as_double) {
		if (std::fabs(as_double) < 9.2e18)
			return static_cast<std::int64_t>(as_double);
		if (as_double > 0 && as_double < 1.8e19)
			return static_cast<std::uint64_t>(as_double);
	}
	return as_double;
}

std::size_t
Utf16Length(std::string_view utf8)
{
	std::size_t units = 0;
	for (std::size_t pos = 0; pos < utf8.size();)
		units += NextCodePoint(utf8, pos) >= 0x10000 ? 2 : 1;
	return units;
}

bool
IsYupEmail(std::string_view text)
{
	static constexpr std::string_view local_specials = ".!#$%&'*+/=?^_`{|}~-";
	auto at = text.find('@');
	if (at == std::string_view::npos || at == 0)
		return false;
	for (char c : text.substr(0, at))
		if (!IsAsciiAlnum(c) && local_specials.find(c) == std::string_view::npos)
			return false;
	std::string_view domain = text.substr(at + 1);
	while (true) {
		auto dot = domain.find('.');
		if (!IsEmailDomainLabel(domain.substr(0, dot)))
			return false;
		if (dot == std::string_view::npos)
			return true;
		domain.remove_prefix(dot + 1);
	}
}

bool
IsYupUuid(std::string_view text)
{
	if (text == "00000000-0000-0000-0000-000000000000")
		return true;
	if (text.size() != 36)
		return false;
	for (std::size_t i = 0; i < text.size(); ++i) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? text[i] != '-' : !IsHexDigit(text[i]))
			return false;
	}
	char version = text[14], variant = static_cast<char>(text[19] | 0x20);
	return version >= '1' && version <= '5' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

bool
IsStackUuidV4(std::string_view text)
{
	if (!IsYupUuid(text) || text[14] != '4')
		return false;
	for (char c : text)
		if (c >= 'A' && c <= 'Z')
			return false;
	return text != "00000000-0000-0000-0000-000000000000";
}

bool
IsStackBase64(std::string_view text)
{
	if (text.size() % 4 != 0)
		return false;
	std::size_t padding = 0;
	if (!text.empty() && text.back() == '=')
		padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
	for (std::size_t i = 0; i + padding < text.size(); ++i) {
		char c = text[i];
		if (!IsAsciiAlnum(c) && c != '+' && c != '/')
			return false;
	}
	return true;
}

bool
IsParsableUrl(std::string_view raw)
{
	// The WHATWG parser strips leading/trailing C0 controls and spaces and drops tabs and newlines anywhere.
	std::string text;
	for (char c : raw)
		if (c != '\t' && c != '\n' && c != '\r')
			text += c;
	auto is_c0_or_space = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
	while (!text.empty() && is_c0_or_space(text.front()))
		text.erase(text.begin());
	while (!text.empty() && is_c0_or_space(text.back()))
		text.pop_back();

	// A scheme is required, since there is no base URL.
	auto colon = text.find(':');
	if (colon == std::string::npos || colon == 0 || !IsAsciiAlpha(text[0]))
		return false;
	for (std::size_t i = 1; i < colon; ++i)
		if (!IsAsciiAlnum(text[i]) && text[i] != '+' && text[i] != '-' && text[i] != '.')
			return false;
	std::string scheme = AsciiLower(std::string_view(text).substr(0, colon));
	bool special = scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss" || scheme == "ftp";
	if (!special)
		return true; // file: and opaque paths ("data:", "mailto:") always parse

	// Special schemes need a non-empty host that holds no forbidden code point, and a numeric port.
	std::size_t pos = colon + 1;
	while (pos < text.size() && (text[pos] == '/' || text[pos] == '\\'))
		++pos;
	std::size_t end = text.find_first_of("/\\?#", pos);
	std::string authority = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
	auto at = authority.rfind('@');
	std::string host_port = at == std::string::npos ? authority : authority.substr(at + 1);
	std::string host = host_port, port;
	if (!host_port.empty() && host_port[0] == '[') {
		auto close = host_port.find(']');
		if (close == std::string::npos)
			return false;
		host = host_port.substr(0, close + 1);
		port = close + 1 < host_port.size() && host_port[close + 1] == ':' ? host_port.substr(close + 2) : "";
		return host.size() > 2;
	}
	auto port_colon = host_port.find(':');
	if (port_colon != std::string::npos) {
		host = host_port.substr(0, port_colon);
		port = host_port.substr(port_colon + 1);
	}
	if (host.empty())
		return false;
	for (char c : host)
		if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F ||
			std::string_view("#%/:<>?@[\\]^|").find(c) != std::string_view::npos)
			return false;
	for (char c : port)
		if (!IsAsciiDigit(c))
			return false;
	return port.empty() || (port.size() <= 10 && std::stoll(port) <= 65535);
}

bool
IsImportableBcryptHash(std::string_view hash)
{
	// getPasswordHashAlgorithm: /^\$2[ayb]\$.{56}$/, at most 16 rounds, and bcryptjs must accept the salt
	// (two-digit cost of 4 or more, a '$', then 22 characters of bcrypt's base64 alphabet).
	if (Utf16Length(hash) != 60 || hash.size() < 29 || hash.substr(0, 2) != "$2")
		return false;
	if ((hash[2] != 'a' && hash[2] != 'y' && hash[2] != 'b') || hash[3] != '$' || hash[6] != '$')
		return false;
	if (!IsAsciiDigit(hash[4]) || !IsAsciiDigit(hash[5]))
		return false;
	int rounds = (hash[4] - '0') * 10 + (hash[5] - '0');
	if (rounds < 4 || rounds > 16)
		return false;
	for (char c : hash.substr(7, 22))
		if (!IsAsciiAlnum(c) && c != '.' && c != '/')
			return false;
	for (char c : hash)
		if (c == '\n' || c == '\r')
			return false;
	return true;
}

bool
IlikeContains(std::string_view haystack, std::string_view needle)
{
	// Pattern tokens: a literal code point, `%` (any run) or `_` (any one code point).
	enum class Token { Literal, AnyRun, AnyOne };
	struct Item {
		Token token;
		char32_t cp;
	};
	auto fold = [](char32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; };

	std::u32string pattern = U"%" + CodePoints(needle) + U"%";
	std::vector<Item> items;
	for (std::size_t i = 0; i < pattern.size(); ++i) {
		char32_t cp = pattern[i];
		if (cp == '\\' && i + 1 < pattern.size())
			items.push_back({Token::Literal, fold(pattern[++i])});
		else if (cp == '%')
			items.push_back({Token::AnyRun, 0});
		else if (cp == '_')
			items.push_back({Token::AnyOne, 0});
		else
			items.push_back({Token::Literal, fold(cp)});
	}

	// Wildcard matching with backtracking to the last `%`.
	std::u32string text = CodePoints(haystack);
	std::size_t t = 0, p = 0, star_p = std::string::npos, star_t = 0;
	while (t < text.size()) {
		if (p < items.size() && items[p].token == Token::AnyRun) {
			star_p = p++;
			star_t = t;
		} else if (p < items.size() && (items[p].token == Token::AnyOne || items[p].cp == fold(text[t]))) {
			++p;
			++t;
		} else if (star_p != std::string::npos) {
			p = star_p + 1;
			t = ++star_t;
		} else {
			return false;
		}
	}
	while (p < items.size() && items[p].token == Token::AnyRun)
		++p;
	return p == items.size();
}

std::string
AsciiLower(std::string_view text)
{
	std::string out(text);
	for (char &c : out)
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c + 32);
	return out;
}

std::string
JsTrim(std::string_view text)
{
	std::size_t begin = text.size(), end = 0;
	for (std::size_t pos = 0; pos < text.size();) {
		std::size_t start = pos;
		if (!IsJsWhitespace(NextCodePoint(text, pos))) {
			begin = std::min(begin, start);
			end = pos;
		}
	}
	return begin < end ? std::string(text.substr(begin, end - begin)) : std::string();
}

} // namespace emulator
