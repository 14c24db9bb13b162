/*
 * archive_test.cpp: the archive's lines (client/archive_format): COPY text fields parsed and written back,
 * JSON lines written and read back (escapes, UTF-8, invalid input refused, an edited line found by its
 * check), and the canonical checksum computed from the values.
 */
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "archive_format.hpp"
#include "core/checksum.hpp"

namespace {

using cutover::archive::AppendCopyField;
using cutover::archive::AppendJsonLine;
using cutover::archive::AppendJsonString;
using cutover::archive::kCheckPrefix;
using cutover::archive::ParseJsonLine;
using cutover::archive::Row;
using cutover::archive::Value;
using pgc::core::AddToChecksum;
using pgc::core::CanonicalOrder;
using pgc::core::ParseCopyLine;

Row
Parse(const std::string &line)
{
	Row row;
	std::size_t count = 0;
	std::string error;
	EXPECT_TRUE(ParseCopyLine(line, row, count, error)) << error;
	row.resize(count);
	return row;
}

std::string
CopyLine(const Row &row)
{
	std::string out;
	for (std::size_t i = 0; i < row.size(); i++) {
		if (i > 0)
			out.push_back('\t');
		AppendCopyField(out, row[i]);
	}
	return out;
}

/* Values with every byte COPY and JSON escape, UTF-8 and edge cases of PostgreSQL's text output. */
const std::vector<std::string> kValues = {
	"",
	"plain",
	"tab\there",
	"new\nline\r\n",
	"back\\slash \\N",
	"\b\f\v\x01\x1f\x7f",
	"quote \" and 'single'",
	"très content 日本語 🙂",
	"\\x00ff10",
	"{\"a\":[1,2.5e300],\"b\":\"x\\\"y\"}",
	"{NULL,\"a b\",\"c\\\\d\"}",
	"123456789012345678901234567890.123456789012345678",
	"-9223372036854775808",
	"1.7976931348623157e+308",
	"2024-02-29 23:59:59.999999+00",
	"-178000000 years -1 mons +00:00:00.000001",
	"NaN",
	"N",
	"\\",
};

TEST(ArchiveCopyText, RoundTrip)
{
	Row row;
	for (const auto &text : kValues)
		row.push_back({text, false});
	row.push_back({"", true});
	std::string line = CopyLine(row);
	EXPECT_EQ(line.find('\n'), std::string::npos) << "a COPY line holds no raw newline";
	Row back = Parse(line);
	ASSERT_EQ(back.size(), row.size());
	for (std::size_t i = 0; i < row.size(); i++) {
		EXPECT_EQ(back[i].null, row[i].null) << i;
		EXPECT_EQ(back[i].text, row[i].text) << i;
	}
}

TEST(ArchiveCopyText, ParsesWhatCopyToWrites)
{
	Row row = Parse("1\t\\N\ta\\tb\\\\c\\nd\t\t\\N");
	ASSERT_EQ(row.size(), 5u);
	EXPECT_EQ(row[0].text, "1");
	EXPECT_TRUE(row[1].null);
	EXPECT_EQ(row[2].text, "a\tb\\c\nd");
	EXPECT_FALSE(row[3].null);
	EXPECT_EQ(row[3].text, "");
	EXPECT_TRUE(row[4].null);
	/* octal and hex escapes, which COPY FROM reads and COPY TO never writes */
	row = Parse("\\101\\x42\\x4");
	EXPECT_EQ(row[0].text, "AB\x04");
	/* \N inside a value is not NULL */
	row = Parse("x\\N");
	EXPECT_FALSE(row[0].null);
	EXPECT_EQ(row[0].text, "xN");
}

TEST(ArchiveCopyText, RefusesABackslashAtTheEnd)
{
	Row row;
	std::size_t count = 0;
	std::string error;
	EXPECT_FALSE(ParseCopyLine("abc\\", row, count, error));
	EXPECT_NE(error.find("backslash"), std::string::npos);
}

TEST(ArchiveJson, LineRoundTrip)
{
	Row row;
	for (const auto &text : kValues)
		row.push_back({text, false});
	row.push_back({"", true});
	std::string line, error;
	ASSERT_TRUE(AppendJsonLine(line, row, row.size(), error)) << error;
	ASSERT_EQ(line.back(), '\n');
	line.pop_back();
	EXPECT_EQ(line.find('\n'), std::string::npos);
	Row back;
	std::size_t count = 0;
	ASSERT_TRUE(ParseJsonLine(line, back, count, error)) << error;
	ASSERT_EQ(count, row.size());
	for (std::size_t i = 0; i < row.size(); i++) {
		EXPECT_EQ(back[i].null, row[i].null) << i;
		EXPECT_EQ(back[i].text, row[i].text) << i;
	}
}

/* Any change to a line, even one that keeps it valid JSON, is found by its check. */
TEST(ArchiveJson, EditedLineFailsItsCheck)
{
	Row row = {{"1", false}, {"alice", false}, {"", true}};
	std::string line, error;
	ASSERT_TRUE(AppendJsonLine(line, row, row.size(), error));
	line.pop_back();
	EXPECT_EQ(line.substr(kCheckPrefix), ",\"1\",\"alice\",null]");
	for (std::string edited : {line.substr(0, kCheckPrefix) + ",\"2\",\"alice\",null]",
							   line.substr(0, kCheckPrefix) + ",\"1\",\"alice\",\"\"]",
							   line.substr(0, kCheckPrefix) + ", \"1\",\"alice\",null]"}) {
		Row back;
		std::size_t count = 0;
		EXPECT_FALSE(ParseJsonLine(edited, back, count, error)) << edited;
		EXPECT_NE(error.find("changed after the export"), std::string::npos) << error;
	}
	Row back;
	std::size_t count = 0;
	EXPECT_FALSE(ParseJsonLine("[\"1\",\"alice\",null]", back, count, error));
	EXPECT_NE(error.find("does not start with its check"), std::string::npos) << error;
}

/* A line written by hand with a correct check is read with JSON's escapes. */
std::string
WithCheck(const std::string &rest)
{
	char hex[17];
	std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(cutover::archive::LineCheck(rest)));
	return std::string("[\"") + hex + "\"" + rest;
}

TEST(ArchiveJson, Escapes)
{
	std::string out;
	ASSERT_TRUE(AppendJsonString(out, "a\"b\\c\n\x01\x7f é"));
	EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\x7f é\"");
}

TEST(ArchiveJson, ReadsEscapesWrittenByOthers)
{
	Row row;
	std::string error;
	std::size_t count = 0;
	ASSERT_TRUE(ParseJsonLine(WithCheck(R"( , "\u00e9\ud83d\ude42\/" , null ] )"), row, count, error)) << error;
	ASSERT_EQ(count, 2u);
	EXPECT_EQ(row[0].text, "é🙂/");
	EXPECT_TRUE(row[1].null);
}

TEST(ArchiveJson, RefusesInvalidUtf8)
{
	for (std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"),
							std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
		std::string out = "kept";
		EXPECT_FALSE(AppendJsonString(out, bad)) << bad;
		EXPECT_EQ(out, "kept") << "nothing appended";
		Row row = {{"ok", false}, {bad, false}};
		std::string line, error;
		EXPECT_FALSE(AppendJsonLine(line, row, 2, error));
		EXPECT_EQ(error, "the value of column 2 is not valid UTF-8");
		EXPECT_TRUE(line.empty());
		/* and on the way in */
		Row back;
		std::size_t count = 0;
		EXPECT_FALSE(ParseJsonLine(WithCheck(",\"" + bad + "\"]"), back, count, error));
		EXPECT_NE(error.find("invalid UTF-8"), std::string::npos) << error;
	}
}

TEST(ArchiveJson, RefusesDamagedLines)
{
	struct Case {
		const char *rest; /* the line after its check */
		const char *error;
	};
	for (const Case &c :
		 {Case{R"(,"abc)", "does not end"}, Case{R"(,"a"])", nullptr}, Case{R"(])", nullptr},
		  Case{R"(,"a"] x)", "text after the array"}, Case{R"(,1])", "a string or null"},
		  Case{R"( "a"])", "a comma or ]"}, Case{R"(,"\q"])", "unknown escape"},
		  Case{R"(,"\ud800"])", "lone UTF-16 surrogate"}, Case{R"(,"\u0000"])", "zero byte"},
		  Case{",\"a\tb\"]", "control character"}, Case{R"(,"\u12"])", "\\u escape"}, Case{"", "a comma or ]"}}) {
		Row row;
		std::string error;
		std::size_t count = 0;
		bool ok = ParseJsonLine(WithCheck(c.rest), row, count, error);
		if (c.error == nullptr) {
			EXPECT_TRUE(ok) << c.rest << ": " << error;
			continue;
		}
		EXPECT_FALSE(ok) << c.rest;
		EXPECT_NE(error.find(c.error), std::string::npos) << c.rest << ": " << error;
		EXPECT_NE(error.find("at byte "), std::string::npos) << error;
	}
}

/* The checksum of parsed values is migrate_checksum's: md5 of ROW(...)::text, columns by name. */
void
CheckSum(const std::vector<Row> &rows, const std::vector<std::string> &names, const std::vector<std::string> &row_texts)
{
	std::vector<std::size_t> order = CanonicalOrder(names);
	for (int lanes : {1, 8, 16}) {
		pgc::core::RowSink sink;
		pgc::core::RowHashBatch batch(lanes);
		pgc::core::Checksum checksum;
		for (const auto &row : rows)
			AddToChecksum(row, order, sink, batch, checksum);
		batch.Flush(checksum);
		pgc::core::Checksum expected;
		for (const auto &text : row_texts)
			expected.AddRow(text);
		EXPECT_EQ(checksum, expected) << lanes;
		EXPECT_EQ(checksum.Hex(), expected.Hex());
	}
}

TEST(ArchiveChecksum, IsTheCanonicalOne)
{
	/* columns in table order; the checksum reads them by name: "Zeta" < "a" < "b" in byte order */
	std::vector<std::string> names = {"b", "a", "Zeta"};
	ASSERT_EQ(CanonicalOrder(names), (std::vector<std::size_t>{2, 1, 0}));
	std::vector<Row> rows;
	std::vector<std::string> texts;
	for (int i = 0; i < 37; i++) {
		rows.push_back({{"x y", false}, {"", true}, {std::to_string(i), false}});
		texts.push_back("(" + std::to_string(i) + ",,\"x y\")");
	}
	rows.push_back({{"2", false}, {std::string(2000, 'a'), false}, {"", false}}); /* longer than a lane */
	texts.push_back("(\"\"," + std::string(2000, 'a') + ",2)");
	CheckSum(rows, names, texts);
}

TEST(ArchiveChecksum, ParsedCopyValuesHashAsTheirText)
{
	/* what COPY TO sends and what ROW()::text prints are the same values: only the escaping differs */
	CheckSum({Parse("a\\tb\t\\N\t{\"x y\",NULL}")}, {"c1", "c2", "c3"}, {"(\"a\tb\",,\"{\"\"x y\"\",NULL}\")"});
}

} // namespace
