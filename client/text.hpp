/*
 * text.hpp: the small ASCII text helpers the client's parsers share.
 */
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

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

/* The items one after the other, `separator` between two. */
inline std::string
Join(const std::vector<std::string> &items, std::string_view separator)
{
	std::string out;
	for (const auto &item : items) {
		if (!out.empty())
			out += separator;
		out += item;
	}
	return out;
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

/* Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
inline std::size_t
EditDistance(std::string_view a, std::string_view b)
{
	std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
	for (std::size_t i = 0; i <= a.size(); i++)
		d[i][0] = i;
	for (std::size_t j = 0; j <= b.size(); j++)
		d[0][j] = j;
	for (std::size_t i = 1; i <= a.size(); i++)
		for (std::size_t j = 1; j <= b.size(); j++) {
			d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[a.size()][b.size()];
}

/*
 * The candidate a mistyped `word` most likely meant: the nearest within two edits (one for words of up to four
 * letters), or the only candidate `word` starts; "" when none is near enough or two are equally near.
 */
inline std::string
DidYouMean(std::string_view word, const std::vector<std::string> &candidates)
{
	std::string best;
	std::size_t best_distance = word.size() <= 4 ? 2 : 3;
	bool tie = false;
	for (const auto &candidate : candidates) {
		std::size_t distance = EditDistance(AsciiLower(word), candidate);
		if (distance < best_distance) {
			best = candidate;
			best_distance = distance;
			tie = false;
		} else if (distance == best_distance && !best.empty()) {
			tie = true;
		}
	}
	if (!best.empty() && !tie)
		return best;
	std::string prefixed;
	for (const auto &candidate : candidates)
		if (!word.empty() && candidate.compare(0, word.size(), AsciiLower(word)) == 0) {
			if (!prefixed.empty())
				return "";
			prefixed = candidate;
		}
	return prefixed;
}

} // namespace cutover
