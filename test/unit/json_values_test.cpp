/*
 * json_values_test.cpp: PostgreSQL text forms as typed JSON, as every --json document of the client prints
 * them (client/json_values).
 */
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "json_values.hpp"

namespace {

using cutover::ArrayJson;
using cutover::ValueJson;
using nlohmann::json;

constexpr unsigned kBool = 16, kInt8 = 20, kInt4 = 23, kText = 25, kJson = 114, kFloat8 = 701, kNumeric = 1700,
				   kJsonb = 3802, kUuid = 2950, kTimestamptz = 1184, kBoolArray = 1000, kInt4Array = 1007,
				   kTextArray = 1009, kUuidArray = 2951, kJsonbArray = 3807, kNumericArray = 1231;

TEST(ValueJson, BooleansAreJsonBooleans)
{
	EXPECT_EQ(ValueJson(kBool, std::string("t")), json(true));
	EXPECT_EQ(ValueJson(kBool, std::string("f")), json(false));
	EXPECT_TRUE(ValueJson(kBool, std::string("t")).is_boolean());
	/* not psql's text forms */
	EXPECT_NE(ValueJson(kBool, std::string("t")), json("t"));
}

TEST(ValueJson, NullIsNullWhateverTheType)
{
	for (unsigned type : {kBool, kInt8, kText, kJsonb, kTextArray})
		EXPECT_TRUE(ValueJson(type, std::nullopt).is_null()) << type;
	/* an empty string is no NULL */
	EXPECT_EQ(ValueJson(kText, std::string()), json(""));
}

TEST(ValueJson, IntegersAndNumbers)
{
	EXPECT_EQ(ValueJson(kInt8, std::string("40")), json(40));
	EXPECT_TRUE(ValueJson(kInt8, std::string("40")).is_number_integer());
	EXPECT_EQ(ValueJson(kInt8, std::string("-9223372036854775808")).get<long long>(), -9223372036854775807LL - 1);
	EXPECT_EQ(ValueJson(kInt4, std::string("0")), json(0));
	EXPECT_TRUE(ValueJson(kNumeric, std::string("0.125")).is_number());
	EXPECT_DOUBLE_EQ(ValueJson(kNumeric, std::string("0.125")).get<double>(), 0.125);
	EXPECT_DOUBLE_EQ(ValueJson(kFloat8, std::string("1e-05")).get<double>(), 1e-05);
	EXPECT_EQ(ValueJson(kNumeric, std::string("3")), json(3));
}

TEST(ValueJson, NumbersJsonCannotHoldStayText)
{
	EXPECT_EQ(ValueJson(kNumeric, std::string("NaN")), json("NaN"));
	EXPECT_EQ(ValueJson(kFloat8, std::string("Infinity")), json("Infinity"));
	EXPECT_EQ(ValueJson(kFloat8, std::string("-Infinity")), json("-Infinity"));
	/* an integer column never turns a fraction into an integer or the reverse */
	EXPECT_EQ(ValueJson(kInt8, std::string("1.5")), json("1.5"));
}

TEST(ValueJson, JsonIsNested)
{
	json value = ValueJson(kJsonb, std::string(R"({"by": "a", "n": [1, 2]})"));
	ASSERT_TRUE(value.is_object());
	EXPECT_EQ(value.at("n"), json::array({1, 2}));
	EXPECT_EQ(ValueJson(kJson, std::string("[true]")), json::array({true}));
	/* a malformed text (no server sends one) stays text */
	EXPECT_EQ(ValueJson(kJson, std::string("{")), json("{"));
}

TEST(ValueJson, OtherTypesAreText)
{
	EXPECT_EQ(ValueJson(kText, std::string("t")), json("t"));
	EXPECT_EQ(ValueJson(kText, std::string("40")), json("40"));
	EXPECT_EQ(ValueJson(kUuid, std::string("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
			  json("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
	EXPECT_EQ(ValueJson(kTimestamptz, std::string("2026-12-07 05:00:00+00")), json("2026-12-07 05:00:00+00"));
}

TEST(ValueJson, ArraysAreJsonArrays)
{
	EXPECT_EQ(ValueJson(kTextArray, std::string("{}")), json::array());
	EXPECT_EQ(ValueJson(kTextArray, std::string("{public.sites,public.orgs}")),
			  json::array({"public.sites", "public.orgs"}));
	EXPECT_EQ(ValueJson(kTextArray, std::string(R"({"a b","say \"hi\"","back\\slash",NULL,"NULL",""})")),
			  json::array({"a b", "say \"hi\"", "back\\slash", nullptr, "NULL", ""}));
	EXPECT_EQ(ValueJson(kInt4Array, std::string("{1,-2,3}")), json::array({1, -2, 3}));
	EXPECT_EQ(ValueJson(kBoolArray, std::string("{t,f,NULL}")), json::array({true, false, nullptr}));
	EXPECT_EQ(ValueJson(kUuidArray, std::string("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}")),
			  json::array({"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}));
	EXPECT_EQ(ValueJson(kNumericArray, std::string("{1.5,NaN}")), json::array({1.5, "NaN"}));
	EXPECT_EQ(ValueJson(kJsonbArray, std::string(R"({"{\"a\": 1}",NULL})")), json::array({{{"a", 1}}, nullptr}));
}

TEST(ValueJson, ArraysOfMoreDimensionsAndBounds)
{
	EXPECT_EQ(ValueJson(kInt4Array, std::string("{{1,2},{3,4}}")), json::array({{1, 2}, {3, 4}}));
	EXPECT_EQ(ValueJson(kTextArray, std::string("[0:1][1:1]={{a},{b}}")), json::array({{"a"}, {"b"}}));
}

TEST(ArrayJson, MalformedLiteralsAreRefused)
{
	for (const char *bad : {"", "{", "{a", "{a,}x", "{\"a}", "a}", "[1:2]{a,b}", "{a}{b}"})
		EXPECT_THROW(ArrayJson(kText, bad), std::invalid_argument) << bad;
	/* and kept as text by ValueJson, rather than lost */
	EXPECT_EQ(ValueJson(kTextArray, std::string("{a")), json("{a"));
}

} // namespace
