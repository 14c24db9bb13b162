/*
 * md5_batch_test.cpp: the batched md5 gives the same checksum as hashing row by row with OpenSSL, for every
 * lane width this CPU has, every row length around the block boundaries, and any batch fill.
 */
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "core/md5_batch.hpp"

using pgc::core::Checksum;
using pgc::core::RowHashBatch;

namespace {

std::string
RandomBytes(std::mt19937 &rng, std::size_t len)
{
	std::string s(len, '\0');
	for (auto &ch : s)
		ch = static_cast<char>(rng());
	return s;
}

Checksum
RowByRow(const std::vector<std::string> &rows)
{
	Checksum sum;
	for (const auto &row : rows)
		sum.AddRow(row);
	return sum;
}

Checksum
Batched(const std::vector<std::string> &rows, int lanes)
{
	Checksum sum;
	RowHashBatch batch(lanes);
	for (const auto &row : rows)
		batch.Add(sum, row.data(), row.size());
	batch.Flush(sum);
	return sum;
}

class Md5BatchTest : public ::testing::TestWithParam<int>
{
};

TEST_P(Md5BatchTest, EveryLengthAroundBlockBoundaries)
{
	std::mt19937 rng(20261126);
	std::vector<std::string> rows;
	/* 55/56 and 119/120 bytes are where padding spills into another block; 1015/1016 is the batching limit. */
	for (std::size_t len = 0; len <= 200; len++)
		rows.push_back(RandomBytes(rng, len));
	for (std::size_t len : {1014, 1015, 1016, 1017, 4096})
		rows.push_back(RandomBytes(rng, len));
	EXPECT_EQ(Batched(rows, GetParam()), RowByRow(rows));
}

TEST_P(Md5BatchTest, AnyNumberOfPendingRows)
{
	std::mt19937 rng(7);
	for (int count = 0; count <= 40; count++) {
		std::vector<std::string> rows;
		for (int i = 0; i < count; i++)
			rows.push_back(RandomBytes(rng, rng() % 300));
		EXPECT_EQ(Batched(rows, GetParam()), RowByRow(rows)) << count << " rows";
	}
}

TEST_P(Md5BatchTest, PendingRowsAreNotInTheSumUntilFlushed)
{
	Checksum sum;
	RowHashBatch batch(GetParam());
	batch.Add(sum, "(1,a)", 5);
	if (batch.Pending() == 1) {
		EXPECT_EQ(sum.rows, 0);
	}
	batch.Flush(sum);
	EXPECT_EQ(batch.Pending(), 0);
	EXPECT_EQ(sum, RowByRow({"(1,a)"}));
}

TEST_P(Md5BatchTest, KnownDigest)
{
	/* md5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321), as its two halves. */
	Checksum sum;
	RowHashBatch batch(GetParam());
	batch.Add(sum, "abc", 3);
	batch.Flush(sum);
	EXPECT_EQ(sum.rows, 1);
	EXPECT_EQ(static_cast<std::uint64_t>(sum.sum_high), 0x900150983cd24fb0ULL);
	EXPECT_EQ(static_cast<std::uint64_t>(sum.sum_low), 0xd6963f7d28e17f72ULL);
}

/* Rows of one batch may go to different sums (migrate_diff's buckets): each row lands in its own. */
TEST_P(Md5BatchTest, RowsOfOneBatchGoToTheirOwnSums)
{
	std::mt19937 rng(42);
	constexpr int kSums = 5;
	std::vector<std::string> rows[kSums];
	Checksum batched[kSums];
	RowHashBatch batch(GetParam());
	for (int i = 0; i < 333; i++) {
		int bucket = static_cast<int>(rng() % kSums);
		std::string row = RandomBytes(rng, rng() % (i % 50 == 0 ? 2000 : 200));
		batch.Add(batched[bucket], row.data(), row.size());
		rows[bucket].push_back(row);
	}
	batch.Flush();
	for (int b = 0; b < kSums; b++)
		EXPECT_EQ(batched[b], RowByRow(rows[b])) << "sum " << b;
}

INSTANTIATE_TEST_SUITE_P(LaneWidths, Md5BatchTest, ::testing::Values(16, 8, 1),
						 [](const ::testing::TestParamInfo<int> &lanes) {
							 return "lanes" + std::to_string(lanes.param);
						 });

TEST(Md5Batch, WidthNeverExceedsTheCpu)
{
	int lanes = RowHashBatch::Lanes();
	EXPECT_TRUE(lanes == 16 || lanes == 8 || lanes == 1) << lanes;
}

} // namespace

namespace {

/* Rows written through a RowSink, straight into the lanes or spilled when long, hash as row by row does. */
TEST_P(Md5BatchTest, RowsWrittenInPlaceOrSpilled)
{
	std::mt19937 rng(99);
	std::vector<std::string> rows;
	Checksum sum;
	RowHashBatch batch(GetParam());
	pgc::core::RowSink sink;
	for (int i = 0; i < 200; i++) {
		/* fields of random lengths: some rows pass the 1015-byte lane, some spill in the middle of a field */
		std::string row = "(";
		sink.Begin(batch);
		sink.Push('(');
		int fields = 1 + static_cast<int>(rng() % 5);
		for (int f = 0; f < fields; f++) {
			std::string value(rng() % 400, 'a');
			for (auto &ch : value)
				ch = static_cast<char>('a' + rng() % 26);
			if (f > 0) {
				row.push_back(',');
				sink.Push(',');
			}
			pgc::core::AppendRowField(row, value);
			pgc::core::AppendRowFieldTo(sink, value);
		}
		row.push_back(')');
		sink.Push(')');
		sink.End(batch, sum);
		rows.push_back(row);
	}
	batch.Flush(sum);
	EXPECT_EQ(sum, RowByRow(rows));
}

} // namespace
