/*
 * sql.hpp: the SQL texts behind the canonical checksum, built from identifiers the caller already quoted
 * (quote_identifier in the extension, PQescapeIdentifier in the client), and the text[] literals and scan
 * targets both sides put in SQL. Pure C++.
 */
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pgc::core {

/*
 * A column as the checksum sees it: its name, the same name quoted as an SQL identifier, and its base type as
 * format_type prints it.
 */
struct Column {
	std::string name;
	std::string quoted;
	std::string base_type = {};
};

/* Sorts columns by name in byte order (memcmp order), the canonical column order. */
void SortColumnsByName(std::vector<Column> &columns);

/* ROW(alias."c1", alias."c2", ...) over columns already in canonical order. */
std::string CanonicalRowExpression(const std::string &alias, const std::vector<Column> &columns);

/*
 * Arguments of migrate_checksum_agg for one row, columns in canonical order: each column as an argument, or,
 * for tables wider than a function call takes, consecutive runs of columns each as one ROW(...) argument
 * (the aggregate prints ROW arguments without their parentheses, so the row text is the same).
 */
std::string AggregateArguments(const std::string &alias, const std::vector<Column> &columns,
							   std::size_t max_arguments = 99);
/* (max_arguments: what the aggregate has left for columns; migrate_bucket_agg takes a bucket first: 98.) */

/*
 * SET LOCAL statements fixing every setting that changes how values print: search_path (regclass and other
 * reg* types print names relative to it), DateStyle, IntervalStyle, TimeZone, extra_float_digits,
 * bytea_output, lc_monetary, quote_all_identifiers (reg* values again); and row_security = off, so that a
 * row-level security policy that would hide rows raises an error instead of changing the checksum. One
 * statement per line.
 */
std::string FixedSettingsSql();

/*
 * The plain-SQL script the source runs for a table's checksum: BEGIN READ ONLY, the fixed settings, one
 * SELECT returning (rows bigint, checksum text), COMMIT. Uses only built-ins of stock PostgreSQL 13+.
 */
std::string SourceChecksumSql(const std::string &qualified_table, const std::vector<Column> &columns);
/* (qualified_table is what follows FROM: "ONLY schema.name" for an ordinary table, which keeps inheritance
 * children out.) */

/*
 * An array literal ('{"a","b",NULL}') for a text[] (or uuid[]) parameter: each element double-quoted, '"' and
 * '\\' escaped, std::nullopt NULL. The one rule of both sides (the schemas of the catalog's SQL, above all).
 */
std::string TextArrayLiteral(const std::vector<std::optional<std::string>> &values);
std::string TextArrayLiteral(const std::vector<std::string> &values);

/*
 * What FROM, COPY, TRUNCATE and DELETE name for a table (`qualified`: its quoted schema.name) of this relkind:
 * "ONLY schema.name" for an ordinary table ('r'), so that inheritance children are not read or emptied with
 * their parent; the name alone for the others (a partitioned table's rows are its partitions', and a view,
 * materialized view or foreign table is read as it is).
 */
std::string ScanTarget(const std::string &qualified, char relkind);

/*
 * The script whose COPY sends a table's columns (already in canonical order) for a checksum computed by the
 * receiver (pg_cutover.verify_source = stream): BEGIN READ ONLY, the fixed settings, client_encoding UTF8,
 * COPY (SELECT the columns FROM qualified_table) TO STDOUT, COMMIT. Each line is then a row's values as
 * ROW(...)::text would print them.
 */
std::string SourceStreamSql(const std::string &qualified_table, const std::vector<Column> &columns);

/* The SELECT alone, without the transaction and settings around it. */
std::string SourceChecksumSelect(const std::string &qualified_table, const std::vector<Column> &columns);

} // namespace pgc::core
