/*
 * key_ranges.cpp: the key ranges of a big table (key_ranges.hpp).
 */
#include "key_ranges.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/spi.hpp"

namespace pgc {

namespace {

/* About this many blocks of the source's table are sampled for the boundaries (a few ten thousand keys). */
constexpr double kSampleBlocks = 400;

/* The source's primary key of the table, in the key's order; none when it has no primary key. */
std::vector<std::string>
SourceKey(SourceConnection &source, const pg::TableInfo &table)
{
	SourceResult key =
		source.Exec("SELECT a.attname FROM pg_catalog.pg_index AS i "
					"CROSS JOIN LATERAL unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord) "
					"JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
					"WHERE i.indrelid = $1::pg_catalog.regclass AND i.indisprimary ORDER BY k.ord",
					{table.qualified});
	std::vector<std::string> columns;
	for (int row = 0; row < PQntuples(key.get()); row++)
		columns.push_back(PQgetvalue(key.get(), row, 0));
	return columns;
}

/* Each key column, quoted (after `alias.` when given), joined by commas. */
std::string
KeyList(const std::vector<std::string> &columns, const std::string &alias)
{
	std::string list;
	for (const auto &column : columns)
		list += (list.empty() ? "" : ", ") + (alias.empty() ? "" : alias + ".") + pg::QuoteIdentifier(column);
	return list;
}

/* One side of a range: the key (a row of columns when it has several) against the bound. */
std::string
Bound(const KeyRange &range, const std::vector<std::string> &bound, const char *op, const SourceConnection &source,
	  const std::string &alias)
{
	if (range.key_columns.empty())
		return (alias.empty() ? "" : alias + ".") + "ctid " + op + " " + source.Literal("(" + bound.at(0) + ",0)") +
			   "::pg_catalog.tid";
	std::string values;
	for (const auto &value : bound)
		values += (values.empty() ? "" : ", ") + source.Literal(value);
	if (range.key_columns.size() == 1)
		return KeyList(range.key_columns, alias) + " " + op + " " + values;
	return "ROW(" + KeyList(range.key_columns, alias) + ") " + op + " ROW(" + values + ")";
}

} // namespace

std::string
RangeCondition(const KeyRange &range, const SourceConnection &source, const std::string &alias)
{
	std::string condition;
	if (!range.lower.empty())
		condition = Bound(range, range.lower, ">=", source, alias);
	if (!range.upper.empty())
		condition += (condition.empty() ? "" : " AND ") + Bound(range, range.upper, "<", source, alias);
	return condition.empty() ? "true" : condition;
}

SourceSize
SourceTableSize(SourceConnection &source, const pg::TableInfo &table)
{
	SourceResult size = source.Exec(
		"SELECT pg_catalog.pg_relation_size(c.oid), "
		"pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::float8, c.reltuples "
		"FROM pg_catalog.pg_class AS c WHERE c.oid = $1::pg_catalog.regclass",
		{table.qualified});
	return {std::atof(PQgetvalue(size.get(), 0, 0)), std::atof(PQgetvalue(size.get(), 0, 1)),
			std::atof(PQgetvalue(size.get(), 0, 2))};
}

std::vector<KeyRange>
MakeRanges(SourceConnection &source, const pg::TableInfo &table, const SourceSize &size, int count)
{
	std::vector<std::string> key = SourceKey(source, table);
	double blocks = size.blocks;
	std::vector<std::vector<std::string>> bounds;
	if (key.empty()) {
		/* by blocks of the heap: the last range takes what lies past the end seen now */
		for (int i = 1; i < count && blocks >= count; i++)
			bounds.push_back({std::to_string(static_cast<int64_t>(blocks * i / count))});
	} else {
		/* ordered by the key's own values, not by their text (an output column of the same name) */
		std::string columns, order;
		for (const auto &column : key) {
			columns += (columns.empty() ? "" : ", ") + pg::QuoteIdentifier(column) + "::pg_catalog.text";
			order += (order.empty() ? "s." : ", s.") + pg::QuoteIdentifier(column);
		}
		double percent = blocks <= kSampleBlocks ? 100 : 100 * kSampleBlocks / blocks;
		source.Send("BEGIN READ ONLY;\n" + core::FixedSettingsSql() + "SET LOCAL extra_float_digits = 3;\nSELECT " +
					columns + " FROM " + table.scan + " AS s TABLESAMPLE SYSTEM (" + std::to_string(percent) +
					") ORDER BY " + order + ";\nCOMMIT;\n");
		SourceResult sample = source.Wait();
		int taken = PQntuples(sample.get());
		for (int i = 1; i < count && taken >= count; i++) {
			int row = static_cast<int>(static_cast<int64_t>(taken) * i / count);
			std::vector<std::string> bound;
			for (int column = 0; column < static_cast<int>(key.size()); column++)
				bound.push_back(PQgetvalue(sample.get(), row, column));
			if (bounds.empty() || bounds.back() != bound)
				bounds.push_back(std::move(bound));
		}
	}
	std::vector<KeyRange> ranges(bounds.size() + 1);
	for (std::size_t i = 0; i < ranges.size(); i++) {
		ranges[i].range_no = static_cast<int>(i) + 1;
		ranges[i].key_columns = key;
		if (i > 0)
			ranges[i].lower = bounds[i - 1];
		if (i < bounds.size())
			ranges[i].upper = bounds[i];
	}
	return ranges;
}

void
StoreRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table, const std::vector<KeyRange> &ranges,
			const std::string &status)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("DELETE FROM cutover.table_ranges WHERE table_schema = $1 AND table_name = $2", false,
				{{TEXTOID, table.schema}, {TEXTOID, table.name}});
	auto array = [](const std::vector<std::string> &values) -> std::optional<std::string> {
		if (values.empty())
			return std::nullopt;
		return core::TextArrayLiteral(values);
	};
	for (const auto &range : ranges)
		spi.Execute("INSERT INTO cutover.table_ranges (table_schema, table_name, range_no, key_columns, lower, upper, "
					"status) VALUES ($1, $2, $3, $4, $5, $6, $7)",
					false,
					{{TEXTOID, table.schema},
					 {TEXTOID, table.name},
					 {INT4OID, std::to_string(range.range_no)},
					 {TEXTARRAYOID, core::TextArrayLiteral(range.key_columns)},
					 {TEXTARRAYOID, array(range.lower)},
					 {TEXTARRAYOID, array(range.upper)},
					 {TEXTOID, status}});
}

namespace {

/* The ranges of the query's rows: one row per range and key column (the bounds' elements side by side). */
std::vector<KeyRange>
RangesOf(pg::Spi &spi)
{
	std::vector<KeyRange> ranges;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		int range_no = static_cast<int>(spi.GetInt64(row, 0));
		if (ranges.empty() || ranges.back().range_no != range_no) {
			KeyRange range;
			range.range_no = range_no;
			range.status = spi.GetText(row, 1);
			range.rows = spi.IsNull(row, 2) ? 0 : spi.GetInt64(row, 2);
			ranges.push_back(std::move(range));
		}
		KeyRange &range = ranges.back();
		if (!spi.IsNull(row, 3))
			range.key_columns.push_back(spi.GetText(row, 3));
		if (!spi.IsNull(row, 4))
			range.lower.push_back(spi.GetText(row, 4));
		if (!spi.IsNull(row, 5))
			range.upper.push_back(spi.GetText(row, 5));
	}
	return ranges;
}

const char *const kRangesQuery =
	"SELECT g.range_no, g.status, g.rows, k.name, g.lower[k.ord], g.upper[k.ord] "
	"FROM cutover.table_ranges AS g "
	"CROSS JOIN LATERAL (SELECT c.name, c.ord FROM unnest(g.key_columns) WITH ORDINALITY AS c(name, ord) "
	"                    UNION ALL SELECT NULL, 1 WHERE g.key_columns = '{}') AS k "
	"WHERE g.table_schema = $1 AND g.table_name = $2";

} // namespace

std::vector<KeyRange>
ReadRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	/* not read-only: ranges written earlier in the caller's statement count (migrate_split beside
	 * migrate_verify_range in one query), as in every read of cutover.table_ranges */
	spi.Execute(std::string(kRangesQuery) + " ORDER BY g.range_no, k.ord", false,
				{{TEXTOID, table.schema}, {TEXTOID, table.name}});
	return RangesOf(spi);
}

KeyRange
ReadRange(FunctionCallInfo fcinfo, const pg::TableInfo &table, int range_no, bool lock)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	std::vector<pg::SpiArg> args = {
		{TEXTOID, table.schema}, {TEXTOID, table.name}, {INT4OID, std::to_string(range_no)}};
	/* a range another backend loads is waited for: it is then loaded, or pending again */
	if (lock)
		spi.Execute("SELECT 1 FROM cutover.table_ranges WHERE table_schema = $1 AND table_name = $2 "
					"AND range_no = $3 FOR UPDATE",
					false, args);
	spi.Execute(std::string(kRangesQuery) + " AND g.range_no = $3 ORDER BY k.ord", false, args);
	std::vector<KeyRange> ranges = RangesOf(spi);
	if (ranges.empty())
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"table " + table.qualified + " has no key range " + std::to_string(range_no), "",
					"SELECT * FROM migrate_pull_split(...) or migrate_split(...) lists the table's ranges.");
	return ranges.front();
}

} // namespace pgc
