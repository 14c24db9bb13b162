/*
 * sql_test.cpp: canonical column order, the ROW expression, the plain-SQL script the source runs and what a
 * scan of a table names (ONLY or not), text[] literals.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/sql.hpp"

namespace {

using pgc::core::AggregateArguments;
using pgc::core::CanonicalRowExpression;
using pgc::core::Column;
using pgc::core::FixedSettingsSql;
using pgc::core::ScanTarget;
using pgc::core::SortColumnsByName;
using pgc::core::SourceChecksumSelect;
using pgc::core::SourceChecksumSql;
using pgc::core::SourceStreamSql;
using pgc::core::TextArrayLiteral;

std::vector<std::string>
Names(const std::vector<Column> &columns)
{
	std::vector<std::string> names;
	for (const auto &column : columns)
		names.push_back(column.name);
	return names;
}

/* Quotes like quote_identifier for the names used here: lowercase, digits and '_' stay bare. */
Column
Col(const std::string &name)
{
	bool bare = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
				std::all_of(name.begin(), name.end(),
							[](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }) &&
				name != "select" && name != "order";
	if (bare)
		return {name, name};
	std::string quoted = "\"";
	for (char c : name) {
		if (c == '"')
			quoted += '"';
		quoted += c;
	}
	return {name, quoted + "\""};
}

std::size_t
CountOf(const std::string &haystack, const std::string &needle)
{
	std::size_t count = 0;
	for (std::size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
		count++;
	return count;
}

TEST(SortColumnsByName, ByteOrderNotCollation)
{
	/* Uppercase before lowercase, "Z" (0x5a) < "_" (0x5f) < "a" (0x61), "é" (0xc3 0xa9) after "z" (0x7a). */
	std::vector<Column> columns = {Col("b"), Col("\xc3\xa9"), Col("a"), Col("_"),
								   Col("Z"), Col("z"),		  Col("B"), Col("A")};
	SortColumnsByName(columns);
	EXPECT_EQ(Names(columns), (std::vector<std::string>{"A", "B", "Z", "_", "a", "b", "z", "\xc3\xa9"}));
}

TEST(SortColumnsByName, PrefixesComeFirst)
{
	std::vector<Column> columns = {Col("ab"), Col("a_"), Col("a"), Col("a b"), Col("aB")};
	SortColumnsByName(columns);
	/* "a" < "a b" (0x20) < "aB" (0x42) < "a_" (0x5f) < "ab" (0x62) */
	EXPECT_EQ(Names(columns), (std::vector<std::string>{"a", "a b", "aB", "a_", "ab"}));
}

TEST(SortColumnsByName, HighBytesSortAsUnsigned)
{
	/* As signed char 0xc3 would sort before 'A'; memcmp order puts it after everything ASCII. */
	std::vector<Column> columns = {Col("\xc3\xa9t\xc3\xa9"), Col("\x7f"), Col("~"), Col("\xe6\x97\xa5"), Col("A")};
	SortColumnsByName(columns);
	EXPECT_EQ(Names(columns), (std::vector<std::string>{"A", "~", "\x7f", "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5"}));
}

TEST(SortColumnsByName, QuotedNameTravelsWithItsName)
{
	std::vector<Column> columns = {Col("select"), Col("Mixed Case"), Col("plain"), Col("has\"quote")};
	SortColumnsByName(columns);
	ASSERT_EQ(Names(columns), (std::vector<std::string>{"Mixed Case", "has\"quote", "plain", "select"}));
	EXPECT_EQ(columns[0].quoted, "\"Mixed Case\"");
	EXPECT_EQ(columns[1].quoted, "\"has\"\"quote\"");
	EXPECT_EQ(columns[2].quoted, "plain");
	EXPECT_EQ(columns[3].quoted, "\"select\"");
}

TEST(SortColumnsByName, InputOrderDoesNotMatter)
{
	std::vector<Column> columns = {Col("c"), Col("B"), Col("a"), Col("_x"), Col("\xc3\xa9")};
	std::vector<Column> reversed(columns.rbegin(), columns.rend());
	SortColumnsByName(columns);
	SortColumnsByName(reversed);
	EXPECT_EQ(Names(columns), Names(reversed));
}

TEST(CanonicalRowExpression, QuotedNamesInTheGivenOrder)
{
	std::vector<Column> columns = {Col("A"), Col("a"), Col("b"), Col("select")};
	EXPECT_EQ(CanonicalRowExpression("t", columns), "ROW(t.\"A\", t.a, t.b, t.\"select\")");
}

TEST(CanonicalRowExpression, OneAndNoColumns)
{
	EXPECT_EQ(CanonicalRowExpression("t", {Col("id")}), "ROW(t.id)");
	EXPECT_EQ(CanonicalRowExpression("t", {}), "ROW()");
}

TEST(CanonicalRowExpression, UsesTheAlias)
{
	EXPECT_EQ(CanonicalRowExpression("src", {Col("x"), Col("Y")}), "ROW(src.x, src.\"Y\")");
}

TEST(FixedSettingsSql, FixesEverySettingThatChangesOutput)
{
	std::string sql = FixedSettingsSql();
	for (const char *line : {"SET LOCAL DateStyle = 'ISO, MDY';\n", "SET LOCAL IntervalStyle = 'postgres';\n",
							 "SET LOCAL TimeZone = 'UTC';\n", "SET LOCAL extra_float_digits = 1;\n",
							 "SET LOCAL bytea_output = 'hex';\n", "SET LOCAL lc_monetary = 'C';\n"})
		EXPECT_EQ(CountOf(sql, line), 1u) << line;
}

TEST(FixedSettingsSql, OneSetLocalPerLine)
{
	std::string sql = FixedSettingsSql();
	ASSERT_FALSE(sql.empty());
	EXPECT_EQ(sql.back(), '\n');
	std::size_t start = 0;
	while (start < sql.size()) {
		std::size_t end = sql.find('\n', start);
		ASSERT_NE(end, std::string::npos);
		std::string line = sql.substr(start, end - start);
		EXPECT_EQ(line.rfind("SET LOCAL ", 0), 0u) << line;
		EXPECT_EQ(CountOf(line, ";"), 1u) << line;
		EXPECT_EQ(line.back(), ';') << line;
		start = end + 1;
	}
}

TEST(SourceChecksumSql, TransactionAroundSettingsAndSelect)
{
	std::vector<Column> columns = {Col("a")};
	std::string table = "public.t";
	std::string sql = SourceChecksumSql(table, columns);
	std::string expected =
		"BEGIN READ ONLY;\n" + FixedSettingsSql() + SourceChecksumSelect(table, columns) + "COMMIT;\n";
	EXPECT_EQ(sql, expected);
}

TEST(SourceStreamSql, CopyOfSortedQuotedColumnsInsideTheSettings)
{
	std::vector<Column> columns = {Col("select"), Col("b"), Col("A")};
	SortColumnsByName(columns);
	std::string sql = SourceStreamSql("ONLY public.\"Mixed t\"", columns);
	EXPECT_EQ(sql, "BEGIN READ ONLY;\n" + FixedSettingsSql() +
					   "SET LOCAL client_encoding = 'UTF8';\n"
					   "COPY (SELECT t.\"A\", t.b, t.\"select\" FROM ONLY public.\"Mixed t\" AS t) TO STDOUT;\n"
					   "COMMIT;\n");
	/* no hashing on the source: that is the point */
	EXPECT_EQ(sql.find("md5"), std::string::npos);
	/* a table without columns: COPY sends an empty line per row */
	EXPECT_NE(SourceStreamSql("public.t", {}).find("COPY (SELECT FROM public.t AS t) TO STDOUT;"), std::string::npos);
}

TEST(SourceChecksumSelect, NoTransactionOrSettings)
{
	std::string sql = SourceChecksumSelect("public.t", {Col("a")});
	EXPECT_EQ(sql.find("BEGIN"), std::string::npos);
	EXPECT_EQ(sql.find("SET "), std::string::npos);
	EXPECT_EQ(sql.find("COMMIT"), std::string::npos);
	EXPECT_EQ(sql.rfind("SELECT ", 0), 0u);
}

TEST(SourceChecksumSelect, RowOfSortedQuotedColumnsOverTheTable)
{
	std::vector<Column> columns = {Col("select"), Col("b"), Col("a"), Col("A")};
	SortColumnsByName(columns);
	std::string sql = SourceChecksumSelect("public.\"Mixed t\"", columns);
	EXPECT_EQ(CountOf(sql, "md5(convert_to(ROW(t.\"A\", t.a, t.b, t.\"select\")::text, 'UTF8'))"), 1u) << sql;
	EXPECT_EQ(CountOf(sql, "FROM public.\"Mixed t\" AS t"), 1u) << sql;
	EXPECT_EQ(CountOf(sql, "ROW("), 1u) << sql;
}

TEST(SourceChecksumSelect, OnlyBuiltinsOfStockPostgres)
{
	std::string sql = SourceChecksumSelect("public.t", {Col("a")});
	for (const char *name : {"migrate_", "pg_cutover", "cutover."})
		EXPECT_EQ(sql.find(name), std::string::npos) << name;
	EXPECT_NE(sql.find("md5("), std::string::npos);
	EXPECT_NE(sql.find("::bit(64)::bigint"), std::string::npos);
}

TEST(SourceChecksumSelect, SumsAreMadeUnsigned)
{
	/* Each 64-bit half is read as a signed bigint; 2^64 must be added back for the negative ones. */
	std::string sql = SourceChecksumSelect("public.t", {Col("a")});
	EXPECT_NE(sql.find("18446744073709551616"), std::string::npos) << sql;
	EXPECT_NE(sql.find("::bit(64)::bigint"), std::string::npos) << sql;
}

/*
 * AggregateArguments: each column as an argument up to 99 columns (a function call takes 100 arguments and the
 * aggregate's state is one of them), runs of columns as ROW(...) beyond that.
 */
std::vector<Column>
Numbered(int count)
{
	std::vector<Column> columns;
	for (int i = 0; i < count; i++) {
		std::string digits = std::to_string(i);
		columns.push_back(Col("c" + std::string(3 - digits.size(), '0') + digits));
	}
	return columns;
}

TEST(AggregateArguments, ColumnsAsArguments)
{
	EXPECT_EQ(AggregateArguments("t", {Col("A"), Col("a"), Col("select")}), "t.\"A\", t.a, t.\"select\"");
	EXPECT_EQ(AggregateArguments("t", {Col("id")}), "t.id");
}

TEST(AggregateArguments, NoColumnsIsAnEmptyRow)
{
	EXPECT_EQ(AggregateArguments("t", {}), "ROW()");
}

TEST(AggregateArguments, NinetyNineColumnsStillPlain)
{
	std::string sql = AggregateArguments("t", Numbered(99));
	EXPECT_EQ(CountOf(sql, "ROW("), 0u);
	EXPECT_EQ(CountOf(sql, "t.c"), 99u);
	EXPECT_EQ(sql.rfind("t.c000, t.c001, ", 0), 0u) << sql.substr(0, 40);
	EXPECT_EQ(sql.substr(sql.size() - 6), "t.c098");
}

TEST(AggregateArguments, WideTableInRunsOfRows)
{
	for (int count : {100, 181, 250}) {
		std::vector<Column> columns = Numbered(count);
		std::string sql = AggregateArguments("t", columns);
		EXPECT_EQ(CountOf(sql, "t.c"), static_cast<std::size_t>(count)) << count;
		/* At most 99 arguments, every column once, in order. */
		std::size_t rows = CountOf(sql, "ROW(");
		EXPECT_GE(rows, 2u) << count;
		EXPECT_LE(rows, 99u) << count;
		std::size_t last = 0;
		for (const auto &column : columns) {
			std::size_t pos = sql.find("t." + column.quoted + ",");
			if (pos == std::string::npos)
				pos = sql.find("t." + column.quoted + ")");
			ASSERT_NE(pos, std::string::npos) << column.name;
			EXPECT_GE(pos, last) << column.name;
			last = pos;
		}
		EXPECT_EQ(sql.rfind("ROW(t.c000, ", 0), 0u) << count;
		EXPECT_EQ(sql.back(), ')') << count;
	}
}

TEST(ScanTarget, OnlyForAnOrdinaryTable)
{
	/* an ordinary table keeps its inheritance children out */
	EXPECT_EQ(ScanTarget("public.t", 'r'), "ONLY public.t");
	EXPECT_EQ(ScanTarget("\"My Schema\".\"T\"", 'r'), "ONLY \"My Schema\".\"T\"");
	/* a partitioned table's rows are its partitions'; views, materialized views and foreign tables as they are */
	for (char relkind : {'p', 'v', 'm', 'f'})
		EXPECT_EQ(ScanTarget("public.t", relkind), "public.t") << relkind;
}

TEST(TextArrayLiteral, QuotesEachElementAndKeepsNull)
{
	EXPECT_EQ(TextArrayLiteral(std::vector<std::string>{}), "{}");
	EXPECT_EQ(TextArrayLiteral(std::vector<std::string>{"public", "My Schema"}), "{\"public\",\"My Schema\"}");
	/* '"' and '\' escaped; commas, braces and the word NULL are safe inside the quotes */
	EXPECT_EQ(TextArrayLiteral(std::vector<std::string>{"a\"b", "c\\d", "{x,y}", "NULL"}),
			  "{\"a\\\"b\",\"c\\\\d\",\"{x,y}\",\"NULL\"}");
	EXPECT_EQ(TextArrayLiteral(std::vector<std::optional<std::string>>{"a", std::nullopt, ""}), "{\"a\",NULL,\"\"}");
}

} // namespace
