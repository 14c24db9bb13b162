/*
 * copy_row.cpp: COPY text lines read back into values, and rows added to the canonical checksum.
 */
#include "core/copy_row.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <numeric>

#include "core/escapes.hpp"

namespace pgc::core {

namespace {

/* Whether any byte of the eight at `p` is a tab or a backslash (COPY's delimiter and escape). */
inline bool
HasTabOrBackslash(const char *p)
{
	constexpr std::uint64_t ones = 0x0101010101010101ULL;
	constexpr std::uint64_t highs = 0x8080808080808080ULL;
	std::uint64_t word;
	std::memcpy(&word, p, sizeof word);
	std::uint64_t tabs = word ^ (ones * '\t');
	std::uint64_t backslashes = word ^ (ones * '\\');
	return (((tabs - ones) & ~tabs) | ((backslashes - ones) & ~backslashes)) & highs;
}

/*
 * `line` read into `row`, checked to hold the values of `columns` columns, after a bucket number when `bucket`;
 * false, with `error` saying why, if not.
 */
bool
ReadRow(std::string_view line, CopyRow &row, std::size_t columns, bool bucket, std::string &error)
{
	std::size_t expected = columns + (bucket ? 1 : 0);
	std::size_t count = 0;
	if (!ParseCopyLine(line, row, count, error)) {
		error = "cannot read COPY's line: " + error;
		return false;
	}
	/* a table without columns sends empty lines */
	if (expected == 0 && line.empty())
		count = 0;
	if (count != expected) {
		error = "COPY sent " + std::to_string(count) + " values for " + (bucket ? "a bucket and " : "") +
				std::to_string(columns) + " columns";
		return false;
	}
	return true;
}

} // namespace

bool
ParseCopyLine(std::string_view line, CopyRow &row, std::size_t &count, std::string &error)
{
	count = 0;
	std::size_t pos = 0;
	for (;;) {
		if (row.size() <= count)
			row.emplace_back();
		CopyValue &value = row[count++];
		value.text.clear();
		value.null = false;
		std::size_t end = pos;
		while (end + 8 <= line.size() && !HasTabOrBackslash(line.data() + end))
			end += 8;
		while (end < line.size() && line[end] != '\t' && line[end] != '\\')
			end++;
		if (end == line.size() || line[end] == '\t') {
			value.text.assign(line.data() + pos, end - pos);
		} else if (line.compare(pos, 2, "\\N") == 0 && (pos + 2 == line.size() || line[pos + 2] == '\t')) {
			value.null = true;
			end = pos + 2;
		} else {
			/* escapes: copied run by run */
			end = pos;
			while (end < line.size() && line[end] != '\t') {
				std::size_t run = end;
				while (end < line.size() && line[end] != '\t' && line[end] != '\\')
					end++;
				value.text.append(line.data() + run, end - run);
				if (end >= line.size() || line[end] == '\t')
					break;
				if (++end >= line.size()) {
					error = "a backslash at the end of the line";
					return false;
				}
				value.text.push_back(DecodeCopyEscape(line, end));
			}
		}
		if (end >= line.size())
			return true;
		pos = end + 1; /* past the tab */
	}
}

std::vector<std::size_t>
CanonicalOrder(const std::vector<std::string> &names)
{
	std::vector<std::size_t> order(names.size());
	std::iota(order.begin(), order.end(), 0);
	std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		/* std::string compares as unsigned bytes (char_traits<char>::compare is memcmp) */
		return names[a] < names[b];
	});
	return order;
}

void
AddToChecksum(const CopyRow &row, const std::vector<std::size_t> &order, RowSink &sink, RowHashBatch &batch,
			  Checksum &checksum)
{
	sink.Begin(batch);
	sink.Push('(');
	bool first = true;
	for (std::size_t index : order) {
		if (!first)
			sink.Push(',');
		first = false;
		if (!row[index].null)
			AppendRowFieldTo(sink, row[index].text);
	}
	sink.Push(')');
	sink.End(batch, checksum);
}

CopyChecksum::CopyChecksum(const std::vector<std::string> &names) : order_(CanonicalOrder(names)) {}

bool
CopyChecksum::Add(std::string_view line, std::string &error)
{
	if (!ReadRow(line, row_, order_.size(), false, error))
		return false;
	AddToChecksum(row_, order_, sink_, batch_, sum_);
	return true;
}

Checksum
CopyChecksum::Result()
{
	batch_.Flush();
	return sum_;
}

CopyBucketChecksums::CopyBucketChecksums(std::size_t columns) : order_(columns)
{
	std::iota(order_.begin(), order_.end(), 1);
}

bool
CopyBucketChecksums::Add(std::string_view line, std::string &error)
{
	if (!ReadRow(line, row_, order_.size(), true, error))
		return false;
	const std::string &text = row_[0].text;
	int bucket = 0;
	auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), bucket);
	if (row_[0].null || problem != std::errc() || end != text.data() + text.size()) {
		error = "\"" + (row_[0].null ? std::string("NULL") : text) + "\" is no bucket number";
		return false;
	}
	AddToChecksum(row_, order_, sink_, batch_, sums_[bucket]);
	return true;
}

std::map<int, Checksum>
CopyBucketChecksums::Result()
{
	batch_.Flush();
	return sums_;
}

} // namespace pgc::core
