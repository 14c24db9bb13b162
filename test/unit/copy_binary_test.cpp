/*
 * copy_binary_test.cpp: user IDs rewritten in COPY binary messages, built here byte by byte as the server
 * sends them: header with the first tuple, one tuple per message, the trailer.
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/copy_binary.hpp"
#include "row_helpers.hpp"

namespace {

using pgc::core::BinaryCopyRemapper;
using pgc::core::IdMap;
using pgc::core::RemapFailure;
using pgc::core::RemapField;
using namespace pgc::test; /* the shared COPY rows, maps and column kinds of row_helpers.hpp */

const std::string kTrailer = Be16(0xffff);

/* A one-dimensional array of uuid (oid 2950) or text (oid 25) elements, as array_send writes it. */
std::string
Array(std::uint32_t elemtype, const std::vector<std::string> &elements, bool has_null = false)
{
	std::string out =
		Be32(1) + Be32(has_null ? 1 : 0) + Be32(elemtype) + Be32(std::uint32_t(elements.size())) + Be32(1);
	for (const auto &element : elements)
		out += element;
	return out;
}

IdMap
Map()
{
	IdMap map;
	map.Add(kA, kA2);
	map.Add(kB, kB2);
	return map;
}

TEST(BinaryCopyRemapper, UuidTextAndArraysAcrossMessages)
{
	IdMap map = Map();
	std::vector<RemapField> fields = {{1, kUuid, kStrict, "owner"},
									  {2, kText, kStrict, "actor"},
									  {3, kUuidArray, kStrict, "members"},
									  {4, kTextArray, kStrict, "tags"}};
	BinaryCopyRemapper remapper(fields, map);
	std::string first =
		Header() + Tuple({Field(Be32(7)), Field(UuidBytes(kA)), Field(Upper(kB)),
						  Field(Array(2950, {Field(UuidBytes(kB)), kNullField, Field(UuidBytes(kA))}, true)),
						  Field(Array(25, {Field("system"), Field(kA)}))});
	std::string expected =
		Header() + Tuple({Field(Be32(7)), Field(UuidBytes(kA2)), Field(Upper(kB2)),
						  Field(Array(2950, {Field(UuidBytes(kB2)), kNullField, Field(UuidBytes(kA2))}, true)),
						  Field(Array(25, {Field("system"), Field(kA2)}))});
	RemapFailure failure;
	ASSERT_TRUE(remapper.Remap(first.data(), first.size(), failure)) << failure.column << " " << failure.reason;
	EXPECT_EQ(first, expected);

	std::string second = Tuple({Field(Be32(8)), kNullField, Field("system"), kNullField, Field(Array(25, {}))});
	std::string kept = second;
	ASSERT_TRUE(remapper.Remap(second.data(), second.size(), failure));
	EXPECT_EQ(second, kept); /* NULLs, text that is no UUID and empty arrays stay */
	std::string trailer = kTrailer;
	ASSERT_TRUE(remapper.Remap(trailer.data(), trailer.size(), failure));
	EXPECT_EQ(remapper.Tuples(), 2u);
}

TEST(BinaryCopyRemapper, EmptyTableIsHeaderAndTrailer)
{
	IdMap map = Map();
	std::vector<RemapField> fields = {{0, kUuid, kStrict, "id"}};
	BinaryCopyRemapper remapper(fields, map);
	std::string only = Header() + kTrailer;
	RemapFailure failure;
	EXPECT_TRUE(remapper.Remap(only.data(), only.size(), failure));
	EXPECT_EQ(remapper.Tuples(), 0u);
	std::string more = Tuple({Field(UuidBytes(kA))});
	EXPECT_FALSE(remapper.Remap(more.data(), more.size(), failure));
	EXPECT_EQ(failure.reason, "the source sent data after the end of its binary COPY");
}

TEST(BinaryCopyRemapper, FailuresNameColumnValueAndRow)
{
	IdMap map = Map();
	std::vector<RemapField> fields = {{0, kUuid, kStrict, "owner"}, {1, kText, kStrict, "actor"}};
	RemapFailure failure;
	{
		BinaryCopyRemapper remapper(fields, map);
		std::string data = Header() + Tuple({Field(UuidBytes(kA)), Field("x")});
		ASSERT_TRUE(remapper.Remap(data.data(), data.size(), failure));
		std::string unmapped = Tuple({Field(UuidBytes(kUnknown)), Field("x")});
		std::string before = unmapped;
		EXPECT_FALSE(remapper.Remap(unmapped.data(), unmapped.size(), failure));
		EXPECT_EQ(failure.column, "owner");
		EXPECT_EQ(failure.value, kUnknown);
		EXPECT_TRUE(failure.unmapped);
		EXPECT_EQ(remapper.Tuples(), 2u);
	}
	{
		BinaryCopyRemapper remapper(fields, map);
		std::string mixed = Header() + Tuple({Field(UuidBytes(kA)), Field("6F1c1a7e-2b9a-4f3e-9a51-3c1e2d4b5a60")});
		EXPECT_FALSE(remapper.Remap(mixed.data(), mixed.size(), failure));
		EXPECT_EQ(failure.column, "actor");
		EXPECT_FALSE(failure.unmapped);
		EXPECT_NE(failure.reason.find("mixed letter case"), std::string::npos);
	}
	{
		BinaryCopyRemapper remapper(fields, map);
		std::string text_unmapped = Header() + Tuple({kNullField, Field(Upper(kUnknown))});
		EXPECT_FALSE(remapper.Remap(text_unmapped.data(), text_unmapped.size(), failure));
		EXPECT_EQ(failure.value, Upper(kUnknown));
		EXPECT_TRUE(failure.unmapped);
	}
}

TEST(BinaryCopyRemapper, MalformedDataIsRefused)
{
	IdMap map = Map();
	std::vector<RemapField> fields = {{0, kUuid, kStrict, "owner"}, {1, kUuidArray, kStrict, "members"}};
	RemapFailure failure;
	auto refused = [&](std::string data) {
		BinaryCopyRemapper remapper(fields, map);
		return !remapper.Remap(data.data(), data.size(), failure);
	};
	EXPECT_TRUE(refused("PGCOPZ\n\377\r\n" + std::string(9, '\0')));
	EXPECT_TRUE(refused(Header().substr(0, 15)));
	EXPECT_TRUE(refused(Header() + Tuple({Field("short"), kNullField})));					/* no uuid */
	EXPECT_TRUE(refused(Header() + Tuple({Field(UuidBytes(kA))})));							/* a field missing */
	EXPECT_TRUE(refused(Header() + Tuple({Field(UuidBytes(kA)), Be32(40) + "abc"})));		/* truncated */
	EXPECT_TRUE(refused(Header() + Tuple({kNullField, Field(Array(2950, {Field("x")}))}))); /* element size */
	EXPECT_TRUE(
		refused(Header() + Tuple({kNullField, Field(Array(2950, {Field(UuidBytes(kUnknown))}))}))); /* unmapped */
	EXPECT_EQ(failure.value, kUnknown);
	EXPECT_FALSE(refused(Header() + Tuple({kNullField, Field(Array(2950, {Field(UuidBytes(kB))}))})));
}

} // namespace
