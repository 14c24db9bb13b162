/*
 * jsonb_key_order.cpp: a jsonb text's object keys put back in jsonb's order after a rewrite changed some.
 */
#include "core/user_ids.hpp"

#include <algorithm>
#include <cstring>

#include "core/json_text.hpp"
#include "core/pure.hpp"

namespace pgc::core {

namespace {

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
