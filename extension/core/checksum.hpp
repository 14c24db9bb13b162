/*
 * checksum.hpp: the canonical table checksum of pg_cutover (see DESIGN.md, "Canonical checksum").
 *
 * Row text is the row's columns in column-name order, rendered the way ROW(c1, c2, ...)::text renders them;
 * the row hash is md5(row text); the table checksum is the row count plus the exact unsigned sums of the
 * two 64-bit halves of every row hash, printed as 32 + 32 hex digits. Sums commute, so the checksum does
 * not depend on row order, and two partial checksums combine by addition (parallel workers, key ranges).
 *
 * Pure C++: shared by the extension, the client and the unit tests.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace pgc::core {

using uint128 = unsigned __int128;

/* Number of hex digits in Checksum::Hex(): two 128-bit sums. */
constexpr std::size_t kChecksumHexDigits = 64;

/* md5 of the bytes, as its two 64-bit halves read big-endian (the first and last 16 hex digits). */
std::pair<std::uint64_t, std::uint64_t> Md5Halves(const void *data, std::size_t len);

/* md5 of the bytes as 32 lowercase hex digits (what SQL's md5() prints). */
std::string Md5Hex(std::string_view data);

/* 128-bit value as 32 lowercase hex digits, zero-padded. */
std::string Hex128(uint128 value);

/*
 * Whether record_out would put double quotes around this field: empty, or containing a double quote,
 * a backslash, a parenthesis, a comma or ASCII white space.
 */
bool FieldNeedsQuotes(std::string_view value);

/* Index of the first byte of `value` that makes record_out quote it, or value.size(). */
std::size_t FirstQuoteTrigger(std::string_view value);

/* Index of the next double quote or backslash at or after `from` (record_out doubles them), or value.size(). */
std::size_t NextDoubled(std::string_view value, std::size_t from);

/*
 * Appends one non-NULL field the way record_out does (quoted and escaped where needed) to any sink with
 * Append(const char *, size_t) and Push(char).
 */
template <typename Sink>
void
AppendRowFieldTo(Sink &sink, std::string_view value)
{
	if (!value.empty() && FirstQuoteTrigger(value) == value.size()) {
		sink.Append(value.data(), value.size());
		return;
	}
	/* Quoted: double quotes and backslashes are doubled, runs between them are copied whole. */
	sink.Push('"');
	std::size_t run = 0;
	for (std::size_t i = NextDoubled(value, 0); i < value.size(); i = NextDoubled(value, i + 1)) {
		sink.Append(value.data() + run, i + 1 - run);
		run = i;
	}
	sink.Append(value.data() + run, value.size() - run);
	sink.Push('"');
}

/* A std::string as a sink of AppendRowFieldTo (and of the extension's AppendField). */
struct StringSink {
	std::string &text;
	void
	Append(const char *data, std::size_t len)
	{
		text.append(data, len);
	}
	void
	Push(char ch)
	{
		text.push_back(ch);
	}
};

/* AppendRowFieldTo for a std::string. */
void AppendRowField(std::string &row, std::string_view value);

/*
 * Builds a row text field by field: Begin(), then Null() or Field(value) per column, then End().
 * The result equals ROW(...)::text for the same values.
 */
class RowText
{
  public:
	void
	Begin()
	{
		text_.clear();
		text_.push_back('(');
		first_ = true;
	}
	void
	Null()
	{
		Separate();
	}
	void
	Field(std::string_view value)
	{
		Separate();
		AppendRowField(text_, value);
	}
	const std::string &
	End()
	{
		text_.push_back(')');
		return text_;
	}

  private:
	void
	Separate()
	{
		if (!first_)
			text_.push_back(',');
		first_ = false;
	}

	std::string text_;
	bool first_ = true;
};

/* Count plus exact sums of the hash halves: the whole state of a table checksum, O(1) in table size. */
struct Checksum {
	std::int64_t rows = 0;
	uint128 sum_high = 0; /* sum of the first 64 bits of every row hash */
	uint128 sum_low = 0;  /* sum of the last 64 bits of every row hash */

	void
	AddHalves(std::uint64_t high, std::uint64_t low)
	{
		rows++;
		sum_high += high;
		sum_low += low;
	}
	void
	AddRow(std::string_view row_text)
	{
		auto halves = Md5Halves(row_text.data(), row_text.size());
		AddHalves(halves.first, halves.second);
	}
	void
	Combine(const Checksum &other)
	{
		rows += other.rows;
		sum_high += other.sum_high;
		sum_low += other.sum_low;
	}
	/* 64 hex digits: Hex128(sum_high) followed by Hex128(sum_low). */
	std::string Hex() const;
	/* The checksum of `rows` rows that Hex() printed as `hex`; none unless 64 lowercase hex digits. */
	static std::optional<Checksum> FromHex(std::int64_t rows, std::string_view hex);

	/* Fixed-size binary form (8 + 16 + 16 bytes, big-endian) for parallel workers. */
	static constexpr std::size_t kSerializedSize = 40;
	void Serialize(unsigned char *out) const;
	static Checksum Deserialize(const unsigned char *in);
};

bool operator==(const Checksum &a, const Checksum &b);
inline bool
operator!=(const Checksum &a, const Checksum &b)
{
	return !(a == b);
}

} // namespace pgc::core
