/*
 * verify_ranges.cpp: the verification of a big table in key ranges (key_ranges.hpp), each range by its own
 * backend. migrate_split makes (or returns) the ranges; migrate_verify_range computes both sides' checksums
 * of one range, as migrate_verify does for a whole table, and keeps them in cutover.table_ranges;
 * migrate_verify_ranges adds them up (the checksum is a sum: the ranges' sums are the table's) and records
 * the table's verification as migrate_verify does.
 */
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "guard.hpp"
#include "key_ranges.hpp"
#include "pg/datum.hpp"
#include "pg/spi.hpp"
#include "verify.hpp"

namespace pgc {

namespace {

/* The table's ranges: the ones it has, or `count` made from the source's key; their last checksums cleared. */
std::vector<KeyRange>
Split(FunctionCallInfo fcinfo, Oid relid, int count)
{
	pg::TableInfo table = pg::DescribeTable(relid);
	if (count < 1)
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
					"table " + table.qualified + " is split in 1 key range or more, not " + std::to_string(count));
	std::vector<KeyRange> ranges = ReadRanges(fcinfo, table);
	if (ranges.empty()) {
		SourceConnection source = SourceConnection::Open();
		CheckSourceColumns(source, table);
		ranges = MakeRanges(source, table, SourceTableSize(source, table), count);
		StoreRanges(fcinfo, table, ranges, "split");
		for (auto &range : ranges)
			range.status = "split";
	}
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("UPDATE cutover.table_ranges SET verify_started_at = NULL, source_side = NULL, source_rows = NULL, "
				"source_checksum = NULL, target_rows = NULL, target_checksum = NULL, leftovers = NULL "
				"WHERE table_schema = $1 AND table_name = $2",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
	return ranges;
}

struct RangeVerification {
	int64_t source_rows = 0, target_rows = 0;
	bool ok = false;
};

/* Both sides of one range, kept in its row of cutover.table_ranges. */
RangeVerification
VerifyRange(FunctionCallInfo fcinfo, Oid relid, int range_no)
{
	pg::TableInfo table = pg::DescribeTable(relid);
	KeyRange range = ReadRange(fcinfo, table, range_no, false);
	SourceConnection source = SourceConnection::Open();
	CheckSourceColumns(source, table);
	std::vector<std::string> user_ids = UserIdColumns(fcinfo, source, table);
	/* the range's rows on both sides */
	pg::TableInfo part = table;
	part.filter = RangeCondition(range, source);
	BothSides sides = ChecksumBothSides(fcinfo, source, part, user_ids);

	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("UPDATE cutover.table_ranges SET verify_started_at = pg_catalog.statement_timestamp(), "
				"source_side = $4, source_rows = $5, source_checksum = $6, target_rows = $7, target_checksum = $8, "
				"leftovers = $9 WHERE table_schema = $1 AND table_name = $2 AND range_no = $3",
				false,
				{{TEXTOID, table.schema},
				 {TEXTOID, table.name},
				 {INT4OID, std::to_string(range_no)},
				 {TEXTOID, std::string(sides.source_side)},
				 {INT8OID, std::to_string(sides.source_rows)},
				 {TEXTOID, sides.source_checksum},
				 {INT8OID, std::to_string(sides.target.checksum.rows)},
				 {TEXTOID, sides.target.checksum.checksum},
				 {TEXTOID,
				  sides.target.leftovers.empty() ? std::nullopt : std::optional<std::string>(sides.target.leftovers)}});
	return {sides.source_rows, sides.target.checksum.rows,
			sides.source_rows == sides.target.checksum.rows &&
				sides.source_checksum == sides.target.checksum.checksum && sides.target.leftovers.empty()};
}

/* The table's verification from its ranges' checksums, added up; every range must have been verified. */
Verification
VerifyFromRanges(FunctionCallInfo fcinfo, Oid relid)
{
	pg::TableInfo table = pg::DescribeTable(relid);
	pg::Spi spi;
	{
		pg::AsExtensionOwner owner(fcinfo);
		spi.Execute("SELECT range_no, source_rows, source_checksum, target_rows, target_checksum, leftovers, "
					"source_side, extract(epoch FROM pg_catalog.clock_timestamp() - verify_started_at) "
					"FROM cutover.table_ranges WHERE table_schema = $1 AND table_name = $2 ORDER BY range_no",
					true, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
	}
	if (spi.Rows() == 0)
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "table " + table.qualified + " has no key ranges", "",
					"SELECT * FROM migrate_split(table, ranges) makes them; verify each with migrate_verify_range.");
	core::Checksum source, target;
	std::string leftovers, side = "sql";
	double seconds = 0;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		if (spi.IsNull(row, 1))
			throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						"key range " + spi.GetText(row, 0) + " of table " + table.qualified + " is not verified", "",
						"SELECT * FROM migrate_verify_range(table, range_no) for each range first.");
		std::optional<core::Checksum> s = core::Checksum::FromHex(spi.GetInt64(row, 1), spi.GetText(row, 2));
		std::optional<core::Checksum> t = core::Checksum::FromHex(spi.GetInt64(row, 3), spi.GetText(row, 4));
		if (!s || !t)
			throw Error(ERRCODE_DATA_CORRUPTED, "key range " + spi.GetText(row, 0) + " of table " + table.qualified +
													" holds a checksum that is not one");
		source.Combine(*s);
		target.Combine(*t);
		if (!spi.IsNull(row, 5))
			leftovers += (leftovers.empty() ? "" : "; ") + spi.GetText(row, 5);
		side = spi.GetText(row, 6);
		seconds = std::max(seconds, std::stod(spi.GetText(row, 7)));
	}
	TargetSide sides{{target.rows, target.Hex()}, leftovers};
	auto started = std::chrono::steady_clock::now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
														  std::chrono::duration<double>(seconds));
	return Conclude(fcinfo, table, source.rows, source.Hex(), sides, started, side == "stream" ? "stream" : "sql");
}

} // namespace

} // namespace pgc

using namespace pgc;

/* migrate_split(tbl, ranges) -> setof (range_no, lower, upper, status, rows) */
PGC_FUNCTION(migrate_split)
{
	std::vector<KeyRange> ranges = Split(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(1));
	pg::ResultSet out(fcinfo);
	for (const auto &range : ranges) {
		Datum values[5] = {Int32GetDatum(range.range_no), pg::TextArrayDatum(range.lower),
						   pg::TextArrayDatum(range.upper), pg::TextDatum(range.status), Int64GetDatum(range.rows)};
		bool nulls[5] = {false, range.lower.empty(), range.upper.empty(), false, range.status != "loaded"};
		out.Add(values, nulls);
	}
	return (Datum) 0;
}

/* migrate_verify_range(tbl, range_no) -> (source_rows, target_rows, ok, seconds) */
PGC_FUNCTION(migrate_verify_range)
{
	auto started = std::chrono::steady_clock::now();
	RangeVerification v = VerifyRange(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(1));
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	Datum values[4] = {Int64GetDatum(v.source_rows), Int64GetDatum(v.target_rows), BoolGetDatum(v.ok),
					   Float8GetDatum(seconds)};
	bool nulls[4] = {false, false, false, false};
	return pg::ResultRow(fcinfo, values, nulls);
}

/* migrate_verify_ranges(tbl) -> the row of migrate_verify */
PGC_FUNCTION(migrate_verify_ranges)
{
	Verification v = VerifyFromRanges(fcinfo, PG_GETARG_OID(0));
	return VerificationRow(fcinfo, v);
}
