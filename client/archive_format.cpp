/*
 * archive_format.cpp: COPY text and JSON lines of the archive (see archive_format.hpp).
 */
#include "archive_format.hpp"

#include <algorithm>
#include <cstring>

#include "core/escapes.hpp"

namespace cutover::archive {

namespace {

constexpr char kHex[] = "0123456789abcdef";

int
HexValue(char c)
{
	return pgc::core::HexValue(static_cast<unsigned char>(c));
}

/* Length of the valid UTF-8 sequence at `p` (at most `left` bytes), or 0 when there is none. */
std::size_t
Utf8Sequence(const unsigned char *p, std::size_t left)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	std::size_t len;
	std::uint32_t code;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		code = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		code = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		code = c & 0x07;
	} else {
		return 0;
	}
	if (left < len)
		return 0;
	for (std::size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and code points past U+10FFFF are not UTF-8 */
	if ((len == 3 && code < 0x800) || (len == 4 && (code < 0x10000 || code > 0x10ffff)) ||
		(code >= 0xd800 && code <= 0xdfff))
		return 0;
	return len;
}

/* Whether a byte can be copied into a JSON string as it is (printable ASCII but the quote and backslash). */
inline bool
PlainJsonByte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Eight bytes at `p` as one word (unaligned load). */
inline std::uint64_t
Load8(const char *p)
{
	std::uint64_t word;
	std::memcpy(&word, p, sizeof word);
	return word;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

/* Whether any byte of `word` is zero. */
inline std::uint64_t
HasZeroByte(std::uint64_t word)
{
	return (word - kOnes) & ~word & kHighs;
}

/* Whether any byte of `word` needs more than a copy in a JSON string: a control character, a quote, a
 * backslash, or a byte of a UTF-8 sequence (checked byte by byte). */
inline bool
WordNeedsCare(std::uint64_t word)
{
	return (((word - kOnes * 0x20) & ~word) | word | HasZeroByte(word ^ (kOnes * '"')) |
			HasZeroByte(word ^ (kOnes * '\\'))) &
		   kHighs;
}

class JsonReader
{
  public:
	JsonReader(std::string_view text, std::string &error, std::size_t base = 0)
		: text_(text), error_(error), base_(base)
	{
	}

	void
	SkipSpace()
	{
		while (pos_ < text_.size() &&
			   (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n'))
			pos_++;
	}
	bool
	Expect(char c, const char *what)
	{
		SkipSpace();
		if (pos_ < text_.size() && text_[pos_] == c) {
			pos_++;
			return true;
		}
		return Fail(std::string("expected ") + what);
	}
	bool
	Peek(char c)
	{
		SkipSpace();
		return pos_ < text_.size() && text_[pos_] == c;
	}
	bool
	AtEnd()
	{
		SkipSpace();
		return pos_ == text_.size();
	}
	/* A string or null into `value`. */
	bool
	ReadValue(Value &value)
	{
		SkipSpace();
		if (text_.compare(pos_, 4, "null") == 0) {
			pos_ += 4;
			value.null = true;
			value.text.clear();
			return true;
		}
		value.null = false;
		return String(value.text);
	}
	bool
	String(std::string &out)
	{
		out.clear();
		SkipSpace();
		if (pos_ >= text_.size() || text_[pos_] != '"')
			return Fail("expected a string or null");
		pos_++;
		for (;;) {
			std::size_t run = pos_;
			while (pos_ < text_.size() && PlainJsonByte(static_cast<unsigned char>(text_[pos_])))
				pos_++;
			out.append(text_.data() + run, pos_ - run);
			if (pos_ >= text_.size())
				return Fail("the string does not end (the line is cut short?)");
			auto c = static_cast<unsigned char>(text_[pos_]);
			if (c == '"') {
				pos_++;
				return true;
			}
			if (c < 0x20)
				return Fail("a control character inside a string");
			if (c >= 0x80) {
				std::size_t len =
					Utf8Sequence(reinterpret_cast<const unsigned char *>(text_.data()) + pos_, text_.size() - pos_);
				if (len == 0)
					return Fail("invalid UTF-8");
				out.append(text_.data() + pos_, len);
				pos_ += len;
				continue;
			}
			/* a backslash */
			++pos_;
			std::string problem = pgc::core::DecodeJsonEscape(text_, pos_, out, false);
			if (!problem.empty())
				return Fail(problem);
		}
	}
	bool
	Fail(const std::string &what)
	{
		error_ = what + " at byte " + std::to_string(base_ + pos_ + 1);
		return false;
	}

  private:
	std::string_view text_;
	std::string &error_;
	std::size_t base_;
	std::size_t pos_ = 0;
};

} // namespace

void
AppendCopyField(std::string &out, const Value &value)
{
	if (value.null) {
		out.append("\\N", 2);
		return;
	}
	const std::string &text = value.text;
	std::size_t run = 0;
	for (std::size_t i = 0; i < text.size(); i++) {
		char c = text[i];
		char escape;
		switch (c) {
		case '\\':
			escape = '\\';
			break;
		case '\t':
			escape = 't';
			break;
		case '\n':
			escape = 'n';
			break;
		case '\r':
			escape = 'r';
			break;
		case '\b':
			escape = 'b';
			break;
		case '\f':
			escape = 'f';
			break;
		case '\v':
			escape = 'v';
			break;
		default:
			continue;
		}
		out.append(text.data() + run, i - run);
		out.push_back('\\');
		out.push_back(escape);
		run = i + 1;
	}
	out.append(text.data() + run, text.size() - run);
}

bool
AppendJsonString(std::string &out, std::string_view value)
{
	std::size_t start = out.size();
	out.push_back('"');
	const auto *p = reinterpret_cast<const unsigned char *>(value.data());
	std::size_t n = value.size(), i = 0;
	while (i < n) {
		std::size_t run = i;
		while (i + 8 <= n && !WordNeedsCare(Load8(value.data() + i)))
			i += 8;
		while (i < n && PlainJsonByte(p[i]))
			i++;
		out.append(value.data() + run, i - run);
		if (i >= n)
			break;
		unsigned char c = p[i];
		if (c >= 0x80) {
			std::size_t len = Utf8Sequence(p + i, n - i);
			if (len == 0) {
				out.resize(start);
				return false;
			}
			out.append(value.data() + i, len);
			i += len;
			continue;
		}
		out.push_back('\\');
		switch (c) {
		case '"':
			out.push_back('"');
			break;
		case '\\':
			out.push_back('\\');
			break;
		case '\n':
			out.push_back('n');
			break;
		case '\r':
			out.push_back('r');
			break;
		case '\t':
			out.push_back('t');
			break;
		case '\b':
			out.push_back('b');
			break;
		case '\f':
			out.push_back('f');
			break;
		default:
			out.append("u00", 3);
			out.push_back(kHex[c >> 4]);
			out.push_back(kHex[c & 0xf]);
		}
		i++;
	}
	out.push_back('"');
	return true;
}

std::uint64_t
LineCheck(std::string_view text)
{
	std::uint64_t h = 0x243f6a8885a308d3ULL ^ text.size();
	std::size_t i = 0;
	for (; i + 8 <= text.size(); i += 8) {
		h = (h ^ Load8(text.data() + i)) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	std::uint64_t tail = 0;
	std::memcpy(&tail, text.data() + i, text.size() - i);
	h = (h ^ tail) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 32);
}

bool
AppendJsonLine(std::string &out, const Row &row, std::size_t count, std::string &error)
{
	std::size_t start = out.size();
	out.append("[\"0000000000000000\"", kCheckPrefix);
	for (std::size_t i = 0; i < count; i++) {
		out.push_back(',');
		if (row[i].null) {
			out.append("null", 4);
		} else if (!AppendJsonString(out, row[i].text)) {
			out.resize(start);
			error = "the value of column " + std::to_string(i + 1) + " is not valid UTF-8";
			return false;
		}
	}
	out.push_back(']');
	std::uint64_t check =
		LineCheck(std::string_view(out.data() + start + kCheckPrefix, out.size() - start - kCheckPrefix));
	for (int i = 0; i < 16; i++)
		out[start + 2 + i] = kHex[(check >> (60 - 4 * i)) & 0xf];
	out.push_back('\n');
	return true;
}

bool
ParseJsonLine(std::string_view line, Row &row, std::size_t &count, std::string &error)
{
	count = 0;
	std::uint64_t check = 0;
	bool prefix = line.size() >= kCheckPrefix && line[0] == '[' && line[1] == '"' && line[18] == '"';
	for (std::size_t i = 2; prefix && i < 18; i++) {
		int digit = HexValue(line[i]);
		prefix = digit >= 0 && !(line[i] >= 'A' && line[i] <= 'F');
		check = (check << 4) | static_cast<std::uint64_t>(digit < 0 ? 0 : digit);
	}
	if (!prefix) {
		error = "the line does not start with its check ([\"16 hex digits\")";
		return false;
	}
	JsonReader reader(line.substr(kCheckPrefix), error, kCheckPrefix);
	while (!reader.Peek(']')) {
		if (!reader.Expect(',', "a comma or ]"))
			return false;
		if (row.size() <= count)
			row.emplace_back();
		if (!reader.ReadValue(row[count]))
			return false;
		count++;
	}
	reader.Expect(']', "]");
	if (!reader.AtEnd())
		return reader.Fail("text after the array");
	if (LineCheck(line.substr(kCheckPrefix)) != check) {
		error = "the line does not match its check: it was changed after the export";
		return false;
	}
	return true;
}

} // namespace cutover::archive
