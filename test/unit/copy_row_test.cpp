/*
 * copy_row_test.cpp: COPY text lines checksummed as migrate_checksum would checksum the same rows
 * (core/copy_row.hpp), as the stream verification computes the source's side; and which servers are near
 * (core/nearby.hpp), the rule of pg_cutover.verify_source = auto.
 */
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "core/copy_row.hpp"
#include "core/nearby.hpp"

namespace {

using pgc::core::Checksum;
using pgc::core::CopyChecksum;

/* The checksum of the row texts, one by one with OpenSSL's md5. */
Checksum
Expected(const std::vector<std::string> &row_texts)
{
	Checksum sum;
	for (const auto &text : row_texts)
		sum.AddRow(text);
	return sum;
}

TEST(CopyChecksum, LinesInNameOrderGiveTheRowTexts)
{
	/* the COPY sends the columns in name order: "Zeta" < "a" < "b" */
	CopyChecksum sum({"Zeta", "a", "b"});
	std::string error;
	std::vector<std::string> texts;
	for (int i = 0; i < 41; i++) {
		ASSERT_TRUE(sum.Add(std::to_string(i) + "\t\\N\tx y", error)) << error;
		texts.push_back("(" + std::to_string(i) + ",,\"x y\")");
	}
	/* escapes undone before record_out's quoting: a tab, a newline, a backslash, a quote, an empty string */
	ASSERT_TRUE(sum.Add("a\\tb\tc\\nd\te\\\\\"f", error)) << error;
	texts.push_back("(\"a\tb\",\"c\nd\",\"e\\\\\"\"f\")");
	ASSERT_TRUE(sum.Add("\t\t", error)) << error;
	texts.push_back("(\"\",\"\",\"\")");
	/* longer than a lane of the batch */
	ASSERT_TRUE(sum.Add(std::string(3000, 'q') + "\t1\t2", error)) << error;
	texts.push_back("(" + std::string(3000, 'q') + ",1,2)");
	EXPECT_EQ(sum.Result(), Expected(texts));
	EXPECT_EQ(sum.Result().rows, 44);
}

TEST(CopyChecksum, OneByteChangedChangesTheSum)
{
	CopyChecksum a({"k", "v"});
	CopyChecksum b({"k", "v"});
	std::string error;
	ASSERT_TRUE(a.Add("1\thello", error));
	ASSERT_TRUE(b.Add("1\thellp", error));
	EXPECT_NE(a.Result(), b.Result());
	EXPECT_EQ(a.Result().rows, b.Result().rows);
}

TEST(CopyChecksum, RefusesLinesThatAreNoRow)
{
	CopyChecksum sum({"a", "b"});
	std::string error;
	EXPECT_FALSE(sum.Add("1", error));
	EXPECT_EQ(error, "COPY sent 1 values for 2 columns");
	EXPECT_FALSE(sum.Add("1\t2\t3", error));
	EXPECT_EQ(error, "COPY sent 3 values for 2 columns");
	EXPECT_FALSE(sum.Add("1\t2\\", error));
	EXPECT_EQ(error, "cannot read COPY's line: a backslash at the end of the line");
	EXPECT_EQ(sum.Result().rows, 0);
}

TEST(CopyChecksum, TableWithoutColumns)
{
	CopyChecksum sum({});
	std::string error;
	ASSERT_TRUE(sum.Add("", error)) << error;
	ASSERT_TRUE(sum.Add("", error)) << error;
	EXPECT_FALSE(sum.Add("x", error));
	EXPECT_EQ(sum.Result(), Expected({"()", "()"}));
}

TEST(CopyBucketChecksums, EachRowInItsBucket)
{
	pgc::core::CopyBucketChecksums buckets(2);
	std::string error;
	std::map<int, std::vector<std::string>> texts;
	for (int i = 0; i < 50; i++) {
		int bucket = i % 3 - 1; /* -1 is the bucket of NULL keys */
		ASSERT_TRUE(buckets.Add(std::to_string(bucket) + "\t" + std::to_string(i) + "\ta b", error)) << error;
		texts[bucket].push_back("(" + std::to_string(i) + ",\"a b\")");
	}
	std::map<int, Checksum> sums = buckets.Result();
	ASSERT_EQ(sums.size(), 3u);
	for (const auto &[bucket, rows] : texts)
		EXPECT_EQ(sums[bucket], Expected(rows)) << bucket;

	EXPECT_FALSE(buckets.Add("1\t2", error));
	EXPECT_EQ(error, "COPY sent 2 values for a bucket and 2 columns");
	EXPECT_FALSE(buckets.Add("x\t1\t2", error));
	EXPECT_EQ(error, "\"x\" is no bucket number");
	EXPECT_FALSE(buckets.Add("\\N\t1\t2", error));
	EXPECT_EQ(error, "\"NULL\" is no bucket number");
	EXPECT_FALSE(buckets.Add("12a\t1\t2", error));
}

TEST(IsNearby, SocketsLoopbackAndPrivateAddressesAreNear)
{
	using pgc::core::IsNearby;
	EXPECT_TRUE(IsNearby("/var/run/postgresql", ""));
	EXPECT_TRUE(IsNearby("localhost", "127.0.0.1"));
	EXPECT_TRUE(IsNearby("x", "127.3.4.5"));
	EXPECT_TRUE(IsNearby("localhost", "::1"));
	EXPECT_TRUE(IsNearby("db", "10.1.2.3"));
	EXPECT_TRUE(IsNearby("db", "172.16.0.1"));
	EXPECT_TRUE(IsNearby("db", "172.31.255.255"));
	EXPECT_TRUE(IsNearby("db", "192.168.1.20"));
	EXPECT_TRUE(IsNearby("db", "169.254.1.1"));
	EXPECT_TRUE(IsNearby("db", "fd12:3456::1"));
	EXPECT_TRUE(IsNearby("db", "fe80::1"));
	EXPECT_TRUE(IsNearby("db", "::ffff:10.0.0.7"));

	EXPECT_FALSE(IsNearby("db.abcdefgh.supabase.co", "3.120.10.20"));
	EXPECT_FALSE(IsNearby("db", "172.32.0.1"));
	EXPECT_FALSE(IsNearby("db", "172.15.255.255"));
	EXPECT_FALSE(IsNearby("db", "192.169.0.1"));
	EXPECT_FALSE(IsNearby("db", "2a05:d014::1"));
	EXPECT_FALSE(IsNearby("db", "::ffff:8.8.8.8"));
	EXPECT_FALSE(IsNearby("db", "not an address"));
	EXPECT_FALSE(IsNearby("", ""));
}

} // namespace
