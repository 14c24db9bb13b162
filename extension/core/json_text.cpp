/*
 * json_text.cpp: a quoted string's closing quote; a JSON string's escapes decoded.
 */
#include "core/json_text.hpp"

#include <cstring>

#include "core/escapes.hpp"
#include "core/pure.hpp"

namespace pgc::core {

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

} // namespace pgc::core
