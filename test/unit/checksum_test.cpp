/*
 * checksum_test.cpp: Checksum folding (order independence, Combine, 128-bit sums), Hex128, Hex and the
 * serialized form, plus checksums pinned to what the source-side SQL returned on PostgreSQL 15.20.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "row_helpers.hpp"

namespace {

using pgc::core::Checksum;
using pgc::core::Hex128;
using pgc::core::kChecksumHexDigits;
using pgc::core::Md5Halves;
using pgc::core::RowText;
using pgc::core::uint128;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

uint128
Pow2(int bits)
{
	return static_cast<uint128>(1) << bits;
}

Checksum
ChecksumOf(const std::vector<std::string> &rows)
{
	Checksum sum;
	for (const auto &row : rows)
		sum.AddRow(row);
	return sum;
}

using pgc::test::Row;

/* ---- Hex128 and Hex ---- */

TEST(Hex128, KnownValues)
{
	EXPECT_EQ(Hex128(0), "00000000000000000000000000000000");
	EXPECT_EQ(Hex128(1), "00000000000000000000000000000001");
	EXPECT_EQ(Hex128(0xabcdef), "00000000000000000000000000abcdef");
	EXPECT_EQ(Hex128(kMax64), "0000000000000000ffffffffffffffff");
	EXPECT_EQ(Hex128(Pow2(64)), "00000000000000010000000000000000");
	EXPECT_EQ(Hex128(Pow2(127)), "80000000000000000000000000000000");
	EXPECT_EQ(Hex128(~static_cast<uint128>(0)), "ffffffffffffffffffffffffffffffff");
	EXPECT_EQ(Hex128((static_cast<uint128>(0x0123456789abcdefULL) << 64) | 0xfedcba9876543210ULL),
			  "0123456789abcdeffedcba9876543210");
}

TEST(ChecksumHex, EmptyIsAllZeros)
{
	Checksum empty;
	EXPECT_EQ(empty.rows, 0);
	EXPECT_EQ(empty.Hex(), std::string(64, '0'));
	EXPECT_EQ(empty.Hex().size(), kChecksumHexDigits);
}

TEST(ChecksumHex, HighSumThenLowSum)
{
	Checksum sum;
	sum.AddHalves(1, 2);
	EXPECT_EQ(sum.Hex(), "00000000000000000000000000000001"
						 "00000000000000000000000000000002");
	sum.AddHalves(0xf0, 0);
	EXPECT_EQ(sum.Hex(), "000000000000000000000000000000f1"
						 "00000000000000000000000000000002");
}

/* ---- 128-bit sums ---- */

TEST(ChecksumSums, CarryPast64Bits)
{
	Checksum sum;
	sum.AddHalves(kMax64, kMax64);
	sum.AddHalves(kMax64, kMax64);
	EXPECT_EQ(sum.rows, 2);
	EXPECT_EQ(sum.sum_high, 2 * static_cast<uint128>(kMax64));
	EXPECT_EQ(sum.sum_low, 2 * static_cast<uint128>(kMax64));
	EXPECT_EQ(Hex128(sum.sum_high), "0000000000000001fffffffffffffffe");
	EXPECT_EQ(sum.Hex(), "0000000000000001fffffffffffffffe0000000000000001fffffffffffffffe");
}

TEST(ChecksumSums, HalvesDoNotCarryIntoEachOther)
{
	Checksum sum;
	sum.AddHalves(0, kMax64);
	sum.AddHalves(0, kMax64);
	sum.AddHalves(0, 2);
	EXPECT_EQ(sum.sum_high, 0u);
	EXPECT_EQ(sum.sum_low, Pow2(65));
	EXPECT_EQ(sum.Hex(), std::string(32, '0') + "00000000000000020000000000000000");
}

TEST(ChecksumSums, ManyLargeHalvesSumExactly)
{
	Checksum sum;
	for (int i = 0; i < 1000; i++)
		sum.AddHalves(kMax64 - static_cast<std::uint64_t>(i), 0x8000000000000000ULL);
	/* sum of (2^64 - 1 - i) for i < 1000 = 1000 * (2^64 - 1) - 499500 */
	EXPECT_EQ(sum.sum_high, 1000 * static_cast<uint128>(kMax64) - 499500);
	EXPECT_EQ(sum.sum_low, 500 * Pow2(64));
	EXPECT_EQ(sum.rows, 1000);
}

TEST(ChecksumSums, AddRowAddsTheMd5Halves)
{
	Checksum by_row;
	by_row.AddRow("abc");
	Checksum by_halves;
	by_halves.AddHalves(0x900150983cd24fb0ULL, 0xd6963f7d28e17f72ULL);
	EXPECT_EQ(by_row, by_halves);
	EXPECT_EQ(by_row.Hex(), "0000000000000000900150983cd24fb00000000000000000d6963f7d28e17f72");

	auto halves = Md5Halves("message digest", 14);
	by_row.AddRow("message digest");
	by_halves.AddHalves(halves.first, halves.second);
	EXPECT_EQ(by_row, by_halves);
	EXPECT_EQ(by_row.rows, 2);
}

/* ---- pinned to the source-side SQL run on PostgreSQL 15.20 ---- */

/*
 * CREATE TABLE "Mixed t" ("select" bool, b text, a text, "A" int);
 * INSERT INTO "Mixed t" VALUES (true,'','x',1),(false,'a b',NULL,2),(NULL,'q"r','é',3),(NULL,'q"r','é',3);
 * the script of SourceChecksumSql (run with psql on PostgreSQL 15.20) returned:
 *   4 | 0000000000000002a066e125ba3903230000000000000001aa667de9ccd0f48b
 * Columns in name order: "A", a, b, "select".
 */
TEST(ChecksumPinned, MixedTableMatchesSourceSql)
{
	Checksum sum;
	sum.AddRow(Row({"1", "x", "", "t"}));
	sum.AddRow(Row({"2", std::nullopt, "a b", "f"}));
	sum.AddRow(Row({"3", "\xc3\xa9", "q\"r", std::nullopt}));
	sum.AddRow(Row({"3", "\xc3\xa9", "q\"r", std::nullopt}));
	EXPECT_EQ(Row({"1", "x", "", "t"}), "(1,x,\"\",t)");
	EXPECT_EQ(sum.rows, 4);
	EXPECT_EQ(sum.Hex(), "0000000000000002a066e125ba3903230000000000000001aa667de9ccd0f48b");
}

/*
 * CREATE TABLE gen AS SELECT i AS a, 'row ' || i AS b FROM generate_series(1, 10000) i;
 * the source SQL returned 10000 | 00000000000013712ad461f0ad5197f500000000000013b6d622a1fee7e86bfd
 */
TEST(ChecksumPinned, TenThousandRowsMatchSourceSql)
{
	Checksum sum;
	for (int i = 1; i <= 10000; i++)
		sum.AddRow(Row({std::to_string(i), "row " + std::to_string(i)}));
	EXPECT_EQ(sum.rows, 10000);
	EXPECT_EQ(sum.Hex(), "00000000000013712ad461f0ad5197f500000000000013b6d622a1fee7e86bfd");
}

/* ---- order independence and Combine, over several row sets ---- */

struct RowSet {
	std::string name;
	std::vector<std::string> rows;
};

void
PrintTo(const RowSet &set, std::ostream *os)
{
	*os << set.name << " (" << set.rows.size() << " rows)";
}

std::vector<std::string>
RandomRows(unsigned seed, int count)
{
	std::mt19937 rng(seed);
	std::uniform_int_distribution<int> len(0, 200);
	std::uniform_int_distribution<int> byte(0, 255);
	std::vector<std::string> rows;
	for (int i = 0; i < count; i++) {
		std::string row;
		int n = len(rng);
		for (int j = 0; j < n; j++)
			row.push_back(static_cast<char>(byte(rng)));
		rows.push_back(row);
	}
	return rows;
}

std::vector<RowSet>
RowSets()
{
	std::vector<RowSet> sets;
	sets.push_back({"empty", {}});
	sets.push_back({"one_row", {"(1,x)"}});
	sets.push_back({"duplicates", {"(1,x)", "(1,x)", "(1,x)", "(2,y)"}});
	sets.push_back({"quoting", {"()", "(\"\")", "(,)", "(\" a\")", "(\"x\"\"y\")", "(\"b\\\\c\")"}});
	std::vector<std::string> numbered;
	for (int i = 0; i < 1000; i++)
		numbered.push_back("(" + std::to_string(i) + ",\"row " + std::to_string(i) + "\")");
	sets.push_back({"numbered_1000", numbered});
	sets.push_back({"random_bytes_300", RandomRows(7, 300)});
	return sets;
}

class ChecksumOverRows : public testing::TestWithParam<RowSet>
{
};

TEST_P(ChecksumOverRows, CountsEveryRow)
{
	EXPECT_EQ(ChecksumOf(GetParam().rows).rows, static_cast<std::int64_t>(GetParam().rows.size()));
}

TEST_P(ChecksumOverRows, SameForEveryPermutation)
{
	std::vector<std::string> rows = GetParam().rows;
	Checksum expected = ChecksumOf(rows);
	std::mt19937 rng(20240229);
	for (int round = 0; round < 25; round++) {
		std::shuffle(rows.begin(), rows.end(), rng);
		Checksum shuffled = ChecksumOf(rows);
		ASSERT_EQ(shuffled, expected) << "permutation " << round;
		ASSERT_EQ(shuffled.Hex(), expected.Hex()) << "permutation " << round;
	}
	std::reverse(rows.begin(), rows.end());
	EXPECT_EQ(ChecksumOf(rows), expected);
}

TEST_P(ChecksumOverRows, CombineOfEverySplitEqualsTheWhole)
{
	const std::vector<std::string> &rows = GetParam().rows;
	Checksum whole = ChecksumOf(rows);
	std::size_t step = std::max<std::size_t>(1, rows.size() / 17);
	for (std::size_t cut = 0; cut <= rows.size(); cut += step) {
		Checksum left = ChecksumOf(std::vector<std::string>(rows.begin(), rows.begin() + cut));
		Checksum right = ChecksumOf(std::vector<std::string>(rows.begin() + cut, rows.end()));
		Checksum left_right = left;
		left_right.Combine(right);
		Checksum right_left = right;
		right_left.Combine(left);
		ASSERT_EQ(left_right, whole) << "cut at " << cut;
		ASSERT_EQ(right_left, whole) << "cut at " << cut;
	}
}

TEST_P(ChecksumOverRows, CombineOfRandomPartitionsEqualsTheWhole)
{
	/* As parallel workers see it: each row goes to one of several partial states, in any order. */
	const std::vector<std::string> &rows = GetParam().rows;
	Checksum whole = ChecksumOf(rows);
	std::mt19937 rng(4);
	std::uniform_int_distribution<int> worker(0, 4);
	for (int round = 0; round < 10; round++) {
		std::vector<Checksum> partial(5);
		for (const auto &row : rows)
			partial[worker(rng)].AddRow(row);
		std::shuffle(partial.begin(), partial.end(), rng);
		Checksum combined;
		for (const auto &p : partial)
			combined.Combine(p);
		ASSERT_EQ(combined, whole) << "round " << round;
	}
}

TEST_P(ChecksumOverRows, CombineWithEmptyIsIdentity)
{
	Checksum sum = ChecksumOf(GetParam().rows);
	Checksum copy = sum;
	copy.Combine(Checksum());
	EXPECT_EQ(copy, sum);
	Checksum empty;
	empty.Combine(sum);
	EXPECT_EQ(empty, sum);
}

TEST_P(ChecksumOverRows, ChangesWhenARowIsAddedRemovedOrAltered)
{
	std::vector<std::string> rows = GetParam().rows;
	Checksum original = ChecksumOf(rows);

	std::vector<std::string> more = rows;
	more.push_back("(extra)");
	EXPECT_NE(ChecksumOf(more).Hex(), original.Hex());

	if (rows.empty())
		return;
	std::vector<std::string> duplicated = rows;
	duplicated.push_back(rows.front());
	EXPECT_FALSE(ChecksumOf(duplicated) == original);
	EXPECT_NE(ChecksumOf(duplicated).Hex(), original.Hex());

	std::vector<std::string> fewer(rows.begin() + 1, rows.end());
	EXPECT_FALSE(ChecksumOf(fewer) == original);

	std::vector<std::string> altered = rows;
	altered.back().push_back('!');
	EXPECT_NE(ChecksumOf(altered).Hex(), original.Hex());
	EXPECT_EQ(ChecksumOf(altered).rows, original.rows);
}

TEST_P(ChecksumOverRows, SerializeRoundTrip)
{
	Checksum sum = ChecksumOf(GetParam().rows);
	unsigned char buffer[Checksum::kSerializedSize];
	sum.Serialize(buffer);
	Checksum back = Checksum::Deserialize(buffer);
	EXPECT_EQ(back, sum);
	EXPECT_EQ(back.Hex(), sum.Hex());
	EXPECT_EQ(back.rows, sum.rows);
}

INSTANTIATE_TEST_SUITE_P(RowSets, ChecksumOverRows, testing::ValuesIn(RowSets()),
						 [](const testing::TestParamInfo<RowSet> &param_info) { return param_info.param.name; });

/* ---- equality and serialized form ---- */

TEST(ChecksumEquality, EveryFieldCounts)
{
	Checksum a;
	a.AddHalves(1, 2);
	Checksum b = a;
	EXPECT_TRUE(a == b);
	b.rows++;
	EXPECT_FALSE(a == b);
	b = a;
	b.sum_high++;
	EXPECT_FALSE(a == b);
	b = a;
	b.sum_low++;
	EXPECT_FALSE(a == b);
}

TEST(ChecksumSerialize, SizeIsFortyBytes)
{
	EXPECT_EQ(Checksum::kSerializedSize, 40u);
}

TEST(ChecksumSerialize, LayoutIsRowsThenHighThenLowBigEndian)
{
	Checksum sum;
	sum.rows = 0x0102030405060708LL;
	sum.sum_high = (static_cast<uint128>(0x1112131415161718ULL) << 64) | 0x191a1b1c1d1e1f20ULL;
	sum.sum_low = (static_cast<uint128>(0x2122232425262728ULL) << 64) | 0x292a2b2c2d2e2f30ULL;
	unsigned char buffer[Checksum::kSerializedSize];
	sum.Serialize(buffer);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(buffer[i], 0x01 + i) << "rows byte " << i;
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(buffer[8 + i], 0x11 + i) << "sum_high byte " << i;
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(buffer[24 + i], 0x21 + i) << "sum_low byte " << i;
	EXPECT_EQ(Checksum::Deserialize(buffer), sum);
}

TEST(ChecksumSerialize, ExtremeValuesRoundTrip)
{
	Checksum sum;
	sum.rows = std::numeric_limits<std::int64_t>::max();
	sum.sum_high = ~static_cast<uint128>(0);
	sum.sum_low = Pow2(64) + 1;
	unsigned char buffer[Checksum::kSerializedSize];
	sum.Serialize(buffer);
	Checksum back = Checksum::Deserialize(buffer);
	EXPECT_EQ(back, sum);
	EXPECT_EQ(back.Hex(), "ffffffffffffffffffffffffffffffff00000000000000010000000000000001");
}

TEST(ChecksumSerialize, DeserializedStateKeepsAccumulating)
{
	/* A worker's state, shipped to the leader, then combined and added to. */
	Checksum worker;
	worker.AddRow("(1)");
	worker.AddRow("(2)");
	unsigned char buffer[Checksum::kSerializedSize];
	worker.Serialize(buffer);
	Checksum leader = Checksum::Deserialize(buffer);
	leader.AddRow("(3)");
	EXPECT_EQ(leader, ChecksumOf({"(3)", "(2)", "(1)"}));
}

} // namespace

/* A key range's figures are read back from their hex (migrate_verify_ranges) and added up to the table's. */
TEST(ChecksumFromHex, RangesAddUpToTheWholeTable)
{
	Checksum whole, first, second;
	for (int i = 0; i < 1000; i++) {
		std::string row = "(" + std::to_string(i) + ",row " + std::to_string(i) + ")";
		whole.AddRow(row);
		(i % 3 == 0 ? first : second).AddRow(row);
	}
	std::optional<Checksum> a = Checksum::FromHex(first.rows, first.Hex());
	std::optional<Checksum> b = Checksum::FromHex(second.rows, second.Hex());
	ASSERT_TRUE(a && b);
	EXPECT_EQ(*a, first);
	a->Combine(*b);
	EXPECT_EQ(*a, whole);
	EXPECT_EQ(a->Hex(), whole.Hex());
	EXPECT_NE(first.Hex(), whole.Hex());
}

TEST(ChecksumFromHex, RefusesWhatIsNotAChecksum)
{
	std::string good = Checksum().Hex();
	EXPECT_TRUE(Checksum::FromHex(0, good));
	EXPECT_FALSE(Checksum::FromHex(0, good.substr(1)));
	EXPECT_FALSE(Checksum::FromHex(0, good + "0"));
	EXPECT_FALSE(Checksum::FromHex(0, std::string(63, '0') + "G"));
	EXPECT_FALSE(Checksum::FromHex(0, std::string(63, '0') + "A"));
	EXPECT_FALSE(Checksum::FromHex(0, ""));
}
