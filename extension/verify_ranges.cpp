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

/* One range's last verification, as cutover.table_ranges keeps it. */
struct RangeCheck {
	int range_no = 0;
	bool verified = false;
	core::Checksum source, target;
	std::string leftovers, side;
	double seconds = 0; /* since it started */

	bool
	Differs() const
	{
		return !(source == target) || !leftovers.empty();
	}
};

/* The last verification of each of the table's ranges, in order. */
std::vector<RangeCheck>
ReadRangeChecks(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("SELECT range_no, source_rows, source_checksum, target_rows, target_checksum, leftovers, "
				"source_side, extract(epoch FROM pg_catalog.clock_timestamp() - verify_started_at) "
				"FROM cutover.table_ranges WHERE table_schema = $1 AND table_name = $2 ORDER BY range_no",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
	std::vector<RangeCheck> checks;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		RangeCheck check;
		check.range_no = static_cast<int>(spi.GetInt64(row, 0));
		check.verified = !spi.IsNull(row, 1);
		if (check.verified) {
			std::optional<core::Checksum> s = core::Checksum::FromHex(spi.GetInt64(row, 1), spi.GetText(row, 2));
			std::optional<core::Checksum> t = core::Checksum::FromHex(spi.GetInt64(row, 3), spi.GetText(row, 4));
			if (!s || !t)
				throw Error(ERRCODE_DATA_CORRUPTED, "key range " + std::to_string(check.range_no) + " of table " +
														table.qualified + " holds a checksum that is not one");
			check.source = *s;
			check.target = *t;
			check.leftovers = spi.IsNull(row, 5) ? "" : spi.GetText(row, 5);
			check.side = spi.GetText(row, 6);
			check.seconds = std::stod(spi.GetText(row, 7));
		}
		checks.push_back(std::move(check));
	}
	return checks;
}

/* The table's verification from its ranges' checksums, added up; every range must have been verified. */
Verification
VerifyFromRanges(FunctionCallInfo fcinfo, Oid relid)
{
	pg::TableInfo table = pg::DescribeTable(relid);
	std::vector<RangeCheck> checks = ReadRangeChecks(fcinfo, table);
	if (checks.empty())
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "table " + table.qualified + " has no key ranges", "",
					"SELECT * FROM migrate_split(table, ranges) makes them; verify each with migrate_verify_range.");
	core::Checksum source, target;
	std::string leftovers, side = "sql";
	double seconds = 0;
	for (const auto &check : checks) {
		if (!check.verified)
			throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						"key range " + std::to_string(check.range_no) + " of table " + table.qualified +
							" is not verified",
						"", "SELECT * FROM migrate_verify_range(table, range_no) for each range first.");
		source.Combine(check.source);
		target.Combine(check.target);
		if (!check.leftovers.empty())
			leftovers += (leftovers.empty() ? "" : "; ") + check.leftovers;
		side = check.side;
		seconds = std::max(seconds, check.seconds);
	}
	TargetSide sides{{target.rows, target.Hex()}, leftovers};
	auto started = std::chrono::steady_clock::now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
														  std::chrono::duration<double>(seconds));
	return Conclude(fcinfo, table, source.rows, source.Hex(), sides, started, side == "stream" ? "stream" : "sql");
}

} // namespace

std::optional<DifferingRanges>
RangesThatDiffered(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	std::vector<KeyRange> ranges = ReadRanges(fcinfo, table);
	std::vector<RangeCheck> checks = ReadRangeChecks(fcinfo, table);
	/* block ranges hold other rows once a row moves (an UPDATE, VACUUM FULL): only key ranges are kept to */
	if (ranges.empty() || ranges.front().key_columns.empty() || checks.size() != ranges.size())
		return std::nullopt;
	core::Checksum source, target;
	DifferingRanges differing;
	differing.of = ranges.size();
	for (std::size_t i = 0; i < checks.size(); i++) {
		if (!checks[i].verified)
			return std::nullopt;
		source.Combine(checks[i].source);
		target.Combine(checks[i].target);
		if (checks[i].Differs()) {
			differing.ranges.push_back(ranges[i]);
			differing.rows += std::max(checks[i].source.rows, checks[i].target.rows);
		}
	}
	/* the state's figures must be the ranges' sums: a pull since, or another verification, changed them */
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("SELECT v.verified_at::text FROM cutover.table_state AS s "
				"CROSS JOIN LATERAL (SELECT * FROM cutover.verification AS v WHERE v.table_name = $3 "
				"                    ORDER BY v.id DESC LIMIT 1) AS v "
				"WHERE s.table_schema = $1 AND s.table_name = $2 AND s.status = 'failed' AND NOT v.ok "
				"AND s.rows = $5 AND s.source_checksum = $6 AND s.target_checksum = $7 "
				"AND v.source_rows = $4 AND v.source_checksum = $6 AND v.target_checksum = $7",
				false,
				{{TEXTOID, table.schema},
				 {TEXTOID, table.name},
				 {TEXTOID, table.qualified},
				 {INT8OID, std::to_string(source.rows)},
				 {INT8OID, std::to_string(target.rows)},
				 {TEXTOID, source.Hex()},
				 {TEXTOID, target.Hex()}});
	if (spi.Rows() == 0 || differing.ranges.empty())
		return std::nullopt;
	differing.verified_at = spi.GetText(0, 0);
	return differing;
}

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
