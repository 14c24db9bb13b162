/*
 * row_text_test.cpp: FieldNeedsQuotes, AppendRowField and RowText against record_out.
 *
 * Every expected row text here was printed by PostgreSQL 15.20 (lc_ctype C.UTF-8, UTF8) for the ROW(...)::text
 * quoted in the comment above it; the field values given to RowText are what each type's output function
 * prints under the canonical settings (DateStyle ISO, TimeZone UTC, extra_float_digits 1, bytea hex).
 */
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "row_helpers.hpp"

namespace {

using pgc::core::AppendRowField;
using pgc::core::FieldNeedsQuotes;
using pgc::core::Md5Hex;
using pgc::core::RowText;

using pgc::test::Row;

TEST(FieldNeedsQuotes, EmptyStringIsQuoted)
{
	EXPECT_TRUE(FieldNeedsQuotes(""));
}

TEST(FieldNeedsQuotes, PlainValuesAreNot)
{
	for (const char *value : {"a", "abc", "1", "-1.5e+10", "NaN", "t", "{}", "[1:2]", "'quoted'", "a;b", "x.y"})
		EXPECT_FALSE(FieldNeedsQuotes(value)) << value;
}

TEST(FieldNeedsQuotes, EveryByteAloneAndInsideAValue)
{
	/* record_out quotes on '"', '\\', '(', ')', ',' and isspace(): ' ', \t, \n, \v, \f, \r. Nothing else. */
	const std::string quoted_bytes = std::string("\"\\(),") + " \t\n\v\f\r";
	for (int b = 1; b < 256; b++) {
		char ch = static_cast<char>(b);
		bool expected = quoted_bytes.find(ch) != std::string::npos;
		EXPECT_EQ(FieldNeedsQuotes(std::string(1, ch)), expected) << "byte " << b;
		EXPECT_EQ(FieldNeedsQuotes("ab" + std::string(1, ch) + "cd"), expected) << "byte " << b << " inside";
		EXPECT_EQ(FieldNeedsQuotes("abcd" + std::string(1, ch)), expected) << "byte " << b << " last";
	}
}

TEST(FieldNeedsQuotes, NonAsciiIsNotQuoted)
{
	/* U+00E9, U+00A0 (no-break space), U+0085 (next line), U+2003 (em space), U+1F600: bytes > 0x7f. */
	for (const char *value : {"\xc3\xa9", "\xc2\xa0", "\xc2\x85", "\xe2\x80\x83", "\xf0\x9f\x98\x80", "\xff", "\x80"})
		EXPECT_FALSE(FieldNeedsQuotes(value)) << value;
}

TEST(AppendRowField, PlainValueIsAppendedAsIs)
{
	std::string row = "(1,";
	AppendRowField(row, "abc");
	EXPECT_EQ(row, "(1,abc");
}

TEST(AppendRowField, EmptyValueBecomesTwoQuotes)
{
	std::string row;
	AppendRowField(row, "");
	EXPECT_EQ(row, "\"\"");
}

TEST(AppendRowField, QuotesAndBackslashesAreDoubled)
{
	std::string row;
	AppendRowField(row, "x\"y");
	EXPECT_EQ(row, "\"x\"\"y\"");
	row.clear();
	AppendRowField(row, "b\\c");
	EXPECT_EQ(row, "\"b\\\\c\"");
	row.clear();
	AppendRowField(row, "\"\\\"");
	EXPECT_EQ(row, "\"\"\"\\\\\"\"\"");
}

TEST(AppendRowField, OtherSpecialCharactersAreQuotedNotDoubled)
{
	std::string row;
	AppendRowField(row, "a(b)c,d e");
	EXPECT_EQ(row, "\"a(b)c,d e\"");
}

TEST(AppendRowField, AppendsWithoutClearing)
{
	std::string row = "prefix";
	AppendRowField(row, "");
	AppendRowField(row, "z");
	EXPECT_EQ(row, "prefix\"\"z");
}

/* record_out's rules written plainly: the oracle for long values (implementations may scan many bytes at once). */
bool
ReferenceNeedsQuotes(std::string_view value)
{
	if (value.empty())
		return true;
	for (unsigned char ch : value)
		if (ch == '"' || ch == '\\' || ch == '(' || ch == ')' || ch == ',' || ch == ' ' || (ch >= '\t' && ch <= '\r'))
			return true;
	return false;
}

std::string
ReferenceField(std::string_view value)
{
	if (!ReferenceNeedsQuotes(value))
		return std::string(value);
	std::string out = "\"";
	for (char ch : value) {
		if (ch == '"' || ch == '\\')
			out.push_back(ch);
		out.push_back(ch);
	}
	return out + "\"";
}

TEST(FieldNeedsQuotes, EveryByteAtEveryPositionOfALongValue)
{
	for (std::size_t len : {15u, 16u, 17u, 31u, 32u, 33u, 48u, 65u}) {
		for (std::size_t pos = 0; pos < len; pos++) {
			for (int b = 1; b < 256; b++) {
				std::string value(len, 'x');
				value[pos] = static_cast<char>(b);
				ASSERT_EQ(FieldNeedsQuotes(value), ReferenceNeedsQuotes(value))
					<< "byte " << b << " at " << pos << " of " << len;
			}
		}
	}
}

TEST(FieldNeedsQuotes, LongValuesOfHighBytesAreNotQuoted)
{
	/* Bytes 0x80-0xff are negative as signed char: none of them is white space. */
	std::string value;
	for (int b = 0x80; b <= 0xff; b++)
		value.push_back(static_cast<char>(b));
	EXPECT_FALSE(FieldNeedsQuotes(value));
	EXPECT_FALSE(FieldNeedsQuotes(value + value));
	std::string emoji;
	for (int i = 0; i < 20; i++)
		emoji += "\xf0\x9f\x98\x80\xc2\xa0";
	EXPECT_FALSE(FieldNeedsQuotes(emoji));
	std::string row;
	AppendRowField(row, emoji);
	EXPECT_EQ(row, emoji);
}

TEST(AppendRowField, RandomValuesMatchReference)
{
	/* Lengths 0-100 over an alphabet rich in bytes that quote or double, so every fast path and its tail is hit. */
	const std::string alphabet = std::string("\"\\(), \t\n\v\f\rab\x7f\x80\xc3\xa9\xff") + std::string(1, '\0');
	std::mt19937 rng(1234);
	std::uniform_int_distribution<std::size_t> len(0, 100);
	std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
	std::uniform_int_distribution<int> sparse(0, 9);
	for (int round = 0; round < 5000; round++) {
		std::string value(len(rng), 'a');
		bool dense = round % 2 == 0;
		for (auto &ch : value)
			if (dense || sparse(rng) == 0)
				ch = alphabet[pick(rng)];
		std::string row = "(";
		AppendRowField(row, value);
		ASSERT_EQ(row, "(" + ReferenceField(value)) << "round " << round << ", length " << value.size();
		ASSERT_EQ(FieldNeedsQuotes(value), ReferenceNeedsQuotes(value)) << "round " << round;
	}
}

TEST(AppendRowField, LongRunsOfQuotesAndBackslashes)
{
	for (std::size_t n : {1u, 15u, 16u, 17u, 40u}) {
		std::string row;
		AppendRowField(row, std::string(n, '"'));
		EXPECT_EQ(row, "\"" + std::string(2 * n, '"') + "\"") << n;
		row.clear();
		AppendRowField(row, std::string(n, '\\'));
		EXPECT_EQ(row, "\"" + std::string(2 * n, '\\') + "\"") << n;
		row.clear();
		std::string value = std::string(n, 'x') + "\\" + std::string(n, 'y') + "\"";
		AppendRowField(row, value);
		EXPECT_EQ(row, "\"" + std::string(n, 'x') + "\\\\" + std::string(n, 'y') + "\"\"\"") << n;
	}
}

/* SELECT ROW(1,NULL,'',' a','x"y','b\c')::text  ->  (1,,""," a","x""y","b\\c") */
TEST(RowText, MatchesPostgresForQuotingBasics)
{
	EXPECT_EQ(Row({"1", std::nullopt, "", " a", "x\"y", "b\\c"}), "(1,,\"\",\" a\",\"x\"\"y\",\"b\\\\c\")");
}

/*
 * SELECT ROW('a(b','c)d','e,f',E'g\th',E'i\nj','k'||chr(11)||'l',E'm\fn',E'o\rp')::text
 *   -> ("a(b","c)d","e,f","g<TAB>h","i<LF>j","k<VT>l","m<FF>n","o<CR>p")
 */
TEST(RowText, MatchesPostgresForPunctuationAndWhitespace)
{
	EXPECT_EQ(Row({"a(b", "c)d", "e,f", "g\th", "i\nj", "k\vl", "m\fn", "o\rp"}),
			  "(\"a(b\",\"c)d\",\"e,f\",\"g\th\",\"i\nj\",\"k\vl\",\"m\fn\",\"o\rp\")");
}

/*
 * SELECT ROW('k'||chr(11)||'l', 'a'||chr(28)||'b', 'x'||chr(127), 'é', E'\u00a0', E'\u0085', E'\u2003')::text
 * printed (od -c): ( " k \v l " , a 034 b , x 177 , 303 251 , 302 240 , 302 205 , 342 200 203 )
 */
TEST(RowText, MatchesPostgresForControlAndNonAsciiBytes)
{
	EXPECT_EQ(Row({"k\vl",
				   "a\x1c"
				   "b",
				   "x\x7f", "\xc3\xa9", "\xc2\xa0", "\xc2\x85", "\xe2\x80\x83"}),
			  "(\"k\vl\",a\x1c"
			  "b,x\x7f,\xc3\xa9,\xc2\xa0,\xc2\x85,\xe2\x80\x83)");
}

/* SELECT ROW(NULL)::text, ROW('')::text, ROW(NULL,NULL)::text, ROW()::text  ->  () | ("") | (,) | () */
TEST(RowText, MatchesPostgresForNullsAndEmpty)
{
	EXPECT_EQ(Row({std::nullopt}), "()");
	EXPECT_EQ(Row({""}), "(\"\")");
	EXPECT_EQ(Row({std::nullopt, std::nullopt}), "(,)");
	EXPECT_EQ(Row({}), "()");
	EXPECT_EQ(Row({std::nullopt, ""}), "(,\"\")");
	EXPECT_EQ(Row({"", std::nullopt}), "(\"\",)");
}

/*
 * SET TimeZone='UTC'; SET DateStyle='ISO, MDY';
 * SELECT ROW('2024-02-29 12:34:56.789+02'::timestamptz, '1 day 2 hours'::interval, '\xdeadbeef'::bytea,
 *            ARRAY['a b','c'], '{"k": [1, "x y"]}'::jsonb, true)::text
 *   -> ("2024-02-29 10:34:56.789+00","1 day 02:00:00","\\xdeadbeef","{""a b"",c}","{""k"": [1, ""x y""]}",t)
 */
TEST(RowText, MatchesPostgresForTypedValues)
{
	EXPECT_EQ(Row({"2024-02-29 10:34:56.789+00", "1 day 02:00:00", "\\xdeadbeef", "{\"a b\",c}",
				   "{\"k\": [1, \"x y\"]}", "t"}),
			  "(\"2024-02-29 10:34:56.789+00\",\"1 day 02:00:00\",\"\\\\xdeadbeef\",\"{\"\"a b\"\",c}\","
			  "\"{\"\"k\"\": [1, \"\"x y\"\"]}\",t)");
}

/* SELECT ROW(1.50::numeric,'NaN'::float8,'-0'::float8,'Infinity'::float8,0.1::float8,1e100::float8)::text */
TEST(RowText, MatchesPostgresForNumbers)
{
	EXPECT_EQ(Row({"1.50", "NaN", "-0", "Infinity", "0.1", "1e+100"}), "(1.50,NaN,-0,Infinity,0.1,1e+100)");
}

/* SELECT ROW(ROW(1,'a b'), ARRAY[1,2])::text  ->  ("(1,""a b"")","{1,2}") */
TEST(RowText, MatchesPostgresForNestedRowAndArray)
{
	std::string inner = Row({"1", "a b"});
	EXPECT_EQ(inner, "(1,\"a b\")");
	EXPECT_EQ(Row({inner, "{1,2}"}), "(\"(1,\"\"a b\"\")\",\"{1,2}\")");
}

/* SELECT md5(ROW(1,NULL,'',' a','x"y','b\c')::text)  ->  33af72a7a251dcf1e92d89efb270355a */
TEST(RowText, Md5OfRowTextMatchesPostgres)
{
	EXPECT_EQ(Md5Hex(Row({"1", std::nullopt, "", " a", "x\"y", "b\\c"})), "33af72a7a251dcf1e92d89efb270355a");
}

TEST(RowText, BeginStartsAFreshRow)
{
	RowText row;
	row.Begin();
	row.Field("first row");
	row.Null();
	EXPECT_EQ(row.End(), "(\"first row\",)");

	row.Begin();
	row.Field("x");
	EXPECT_EQ(row.End(), "(x)");

	row.Begin();
	row.Null();
	row.Field("y");
	EXPECT_EQ(row.End(), "(,y)");
}

TEST(RowText, NullAndEmptyStringDiffer)
{
	EXPECT_NE(Row({std::nullopt}), Row({""}));
	EXPECT_NE(Row({"a", std::nullopt}), Row({"a", ""}));
}

TEST(RowText, FieldBoundariesAreUnambiguous)
{
	/* Values holding the separator must not collide with two values. */
	EXPECT_NE(Row({"a,b"}), Row({"a", "b"}));
	EXPECT_NE(Row({"a", "b,c"}), Row({"a,b", "c"}));
	EXPECT_NE(Row({"(a)"}), Row({"a"}));
}

} // namespace
