/*
 * sql.cpp: SQL texts for the canonical checksum.
 */
#include "core/sql.hpp"

#include <algorithm>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

std::string
ValueOf(const std::string &alias, const Column &column)
{
	return alias + "." + column.quoted;
}

} // namespace

void
SortColumnsByName(std::vector<Column> &columns)
{
	/* std::string compares through char_traits<char>, which orders bytes as unsigned char: memcmp order. */
	std::sort(columns.begin(), columns.end(), [](const Column &a, const Column &b) { return a.name < b.name; });
}

std::string
CanonicalRowExpression(const std::string &alias, const std::vector<Column> &columns)
{
	std::string sql = "ROW(";
	for (size_t i = 0; i < columns.size(); i++) {
		if (i > 0)
			sql += ", ";
		sql += ValueOf(alias, columns[i]);
	}
	sql += ")";
	return sql;
}

std::string
AggregateArguments(const std::string &alias, const std::vector<Column> &columns, size_t max_arguments)
{
	/* A function takes at most 100 arguments; the aggregate's state takes one. */
	constexpr size_t kColumnsPerRow = 90;
	if (columns.empty())
		return "ROW()";
	if (columns.size() <= max_arguments) {
		std::string sql;
		for (size_t i = 0; i < columns.size(); i++)
			sql += (i > 0 ? ", " : "") + ValueOf(alias, columns[i]);
		return sql;
	}
	std::string sql;
	for (size_t start = 0; start < columns.size(); start += kColumnsPerRow) {
		std::vector<Column> run(columns.begin() + start,
								columns.begin() + std::min(columns.size(), start + kColumnsPerRow));
		sql += (start > 0 ? ", " : "") + CanonicalRowExpression(alias, run);
	}
	return sql;
}

std::string
FixedSettingsSql()
{
	return "SET LOCAL search_path = pg_catalog, pg_temp;\n"
		   "SET LOCAL DateStyle = 'ISO, MDY';\n"
		   "SET LOCAL IntervalStyle = 'postgres';\n"
		   "SET LOCAL TimeZone = 'UTC';\n"
		   "SET LOCAL extra_float_digits = 1;\n"
		   "SET LOCAL bytea_output = 'hex';\n"
		   "SET LOCAL lc_monetary = 'C';\n"
		   "SET LOCAL row_security = off;\n"
		   "SET LOCAL quote_all_identifiers = off;\n";
}

namespace {

/* SQL expression printing the numeric `value` (0 <= value < 2^128) as 32 hex digits. */
std::string
Hex128Sql(const std::string &value)
{
	std::string sql;
	for (int chunk = 3; chunk >= 0; chunk--) {
		if (!sql.empty())
			sql += " || ";
		sql += "lpad(to_hex(mod(div(" + value + ", 2::numeric ^ " + std::to_string(32 * chunk) +
			   "), 4294967296)::bigint), 8, '0')";
	}
	return sql;
}

} // namespace

std::string
SourceChecksumSelect(const std::string &qualified_table, const std::vector<Column> &columns)
{
	/*
	 * md5 of the UTF-8 bytes of the row text; each 16-hex-digit half read as a signed bigint, then made
	 * unsigned by adding 2^64 once per negative value. The sums are exact numerics. The hash comes from a
	 * LATERAL function scan so that it is computed once per row (a plain subquery would be pulled up and
	 * md5() copied into every aggregate that reads it), and the scan stays open to parallel workers.
	 */
	return "SELECT n AS rows, " + Hex128Sql("sum_high") + " || " + Hex128Sql("sum_low") +
		   " AS checksum\n"
		   "FROM (SELECT count(*) AS n,\n"
		   "             coalesce(sum(h), 0) + 18446744073709551616 * count(*) FILTER (WHERE h < 0) AS sum_high,\n"
		   "             coalesce(sum(l), 0) + 18446744073709551616 * count(*) FILTER (WHERE l < 0) AS sum_low\n"
		   "      FROM (SELECT ('x' || substr(r.m, 1, 16))::bit(64)::bigint AS h,\n"
		   "                   ('x' || substr(r.m, 17, 16))::bit(64)::bigint AS l\n"
		   "            FROM " +
		   qualified_table +
		   " AS t\n"
		   "            CROSS JOIN LATERAL unnest(ARRAY[md5(convert_to(" +
		   CanonicalRowExpression("t", columns) + "::text, 'UTF8'))]) AS r(m)) AS halves) AS sums;\n";
}

std::string
TextArrayLiteral(const std::vector<std::optional<std::string>> &values)
{
	std::string out = "{";
	for (std::size_t i = 0; i < values.size(); i++) {
		if (i > 0)
			out += ',';
		if (!values[i]) {
			out += "NULL";
			continue;
		}
		out += '"';
		for (char ch : *values[i]) {
			if (ch == '"' || ch == '\\')
				out += '\\';
			out += ch;
		}
		out += '"';
	}
	return out + "}";
}

std::string
TextArrayLiteral(const std::vector<std::string> &values)
{
	return TextArrayLiteral(std::vector<std::optional<std::string>>(values.begin(), values.end()));
}

std::string
ScanTarget(const std::string &qualified, char relkind)
{
	return (relkind == 'r' ? "ONLY " : "") + qualified;
}

std::string
SourceChecksumSql(const std::string &qualified_table, const std::vector<Column> &columns)
{
	return "BEGIN READ ONLY;\n" + FixedSettingsSql() + SourceChecksumSelect(qualified_table, columns) + "COMMIT;\n";
}

std::string
SourceStreamSql(const std::string &qualified_table, const std::vector<Column> &columns)
{
	std::string select;
	for (const auto &column : columns)
		select += (select.empty() ? "" : ", ") + ValueOf("t", column);
	return "BEGIN READ ONLY;\n" + FixedSettingsSql() + "SET LOCAL client_encoding = 'UTF8';\nCOPY (SELECT " + select +
		   (select.empty() ? "" : " ") + "FROM " + qualified_table + " AS t) TO STDOUT;\nCOMMIT;\n";
}

} // namespace pgc::core
