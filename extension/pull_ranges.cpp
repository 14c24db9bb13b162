/*
 * pull_ranges.cpp: the pull of a big table in key ranges, each range by its own backend.
 *
 * migrate_pull_split starts it in a transaction of its own: the table emptied, its indexes deferred
 * (pg/indexes.cpp), its state loading and its ranges pending (key_ranges.hpp). Each migrate_pull_range then
 * copies one range from the source, on the snapshot every range shares, with user IDs rewritten as for a whole
 * table, and marks the range loaded in the same transaction as its rows: a range is in once or not at all, and
 * a backend that finds its range being loaded waits for it. migrate_pull_finish builds the indexes once, after
 * the last range, and marks the table loaded. Until then the table says loading, with its ranges in and the
 * total; a rerun loads the ranges still pending, and migrate_reset starts the table over.
 */
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "guard.hpp"
#include "key_ranges.hpp"
#include "pg/datum.hpp"
#include "pg/indexes.hpp"
#include "pg/spi.hpp"
#include "pull.hpp"

namespace pgc {

namespace {

bool
Loaded(const std::optional<std::string> &status)
{
	return status && (*status == "loaded" || *status == "verified");
}

/* A pull in ranges stopped before its end: its state says loading (or failed) and ranges are pending. */
bool
InProgress(const std::optional<std::string> &status, const std::vector<KeyRange> &ranges)
{
	return status && (*status == "loading" || *status == "failed") &&
		   std::any_of(ranges.begin(), ranges.end(), [](const KeyRange &range) { return range.status != "split"; });
}

/* The ranges a pull in ranges has still to load, or none when the table is to be pulled whole. */
std::vector<KeyRange>
SplitForPull(FunctionCallInfo fcinfo, Oid relid, int count, int64_t min_rows, int64_t min_bytes)
{
	/*
	 * Before any lock on the table (a pull of the whole table holds stronger ones): refused at once while one
	 * runs; the ranges of a pull in progress may be loading meanwhile.
	 */
	TakePullLock(relid, true);
	pg::TableInfo table = pg::DescribeTable(relid);
	int64_t rows = 0;
	std::optional<std::string> status = TableStatus(fcinfo, table, rows);
	if (Loaded(status))
		return {};
	std::vector<KeyRange> ranges = ReadRanges(fcinfo, table);
	if (InProgress(status, ranges))
		return ranges;
	if (count < 2 || table.relkind != RELKIND_RELATION)
		return {};

	TakePullLock(relid, false); /* no pull of the table runs, whole or in ranges, in another session */
	SourceConnection source = SourceConnection::Open();
	SourceSize size = SourceTableSize(source, table);
	if (size.rows < static_cast<double>(min_rows) && size.bytes < static_cast<double>(min_bytes))
		return {};
	PreparedPull pull = PreparePull(fcinfo, source, relid);
	ranges = MakeRanges(source, table, size, count);
	if (ranges.size() < 2)
		return {};
	MarkLoading(fcinfo, table);
	EmptyTable(table, pull.may_truncate);
	if (pull.defer_indexes)
		pg::DeferIndexes(relid);
	StoreRanges(fcinfo, table, ranges, "pending");
	for (auto &range : ranges)
		range.status = "pending";
	return ranges;
}

} // namespace

bool
HasUnbuiltIndexes(Oid relid)
{
	pg::Spi spi;
	spi.Execute("SELECT 1 FROM pg_catalog.pg_index WHERE indrelid = $1 AND NOT indisready", true,
				{{OIDOID, std::to_string(relid)}});
	return spi.Rows() > 0;
}

void
ForgetRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("UPDATE cutover.table_ranges SET status = 'split', rows = NULL, finished_at = NULL "
				"WHERE table_schema = $1 AND table_name = $2 AND status <> 'split'",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
}

namespace {

struct RangeResult {
	std::string status;
	int64_t rows = 0;
};

RangeResult
PullRange(FunctionCallInfo fcinfo, Oid relid, int range_no, const std::optional<std::string> &snapshot)
{
	TakePullLock(relid, true); /* shared with the other ranges; a pull of the whole table holds it alone */
	pg::TableInfo table = pg::DescribeTable(relid);
	KeyRange range = ReadRange(fcinfo, table, range_no, true);
	if (range.status == "loaded")
		return {"skipped", range.rows};
	int64_t rows = 0;
	std::optional<std::string> status = TableStatus(fcinfo, table, rows);
	if (range.status != "pending" || Loaded(status) || !status)
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"range " + std::to_string(range_no) + " of table " + table.qualified +
						" is not part of a pull in progress",
					"", "SELECT * FROM migrate_pull_split(...) starts the pull of a table in ranges.");

	SourceConnection source = SourceConnection::Open();
	PreparedPull pull = PreparePull(fcinfo, source, relid);
	uint64_t loaded = LoadRows(source, snapshot, pull, RangeCondition(range, source));
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute(
		"UPDATE cutover.table_ranges SET status = 'loaded', rows = $4, finished_at = pg_catalog.clock_timestamp() "
		"WHERE table_schema = $1 AND table_name = $2 AND range_no = $3",
		false,
		{{TEXTOID, table.schema},
		 {TEXTOID, table.name},
		 {INT4OID, std::to_string(range_no)},
		 {INT8OID, std::to_string(loaded)}});
	return {"loaded", static_cast<int64_t>(loaded)};
}

/* After the last range: the indexes built once, the table loaded with the rows of its ranges. */
RangeResult
FinishPull(FunctionCallInfo fcinfo, Oid relid)
{
	TakePullLock(relid, false); /* no range of it is still loading */
	pg::TableInfo table = pg::DescribeTable(relid);
	int64_t rows = 0;
	std::optional<std::string> status = TableStatus(fcinfo, table, rows);
	if (Loaded(status))
		return {"skipped", rows};
	std::vector<KeyRange> ranges = ReadRanges(fcinfo, table);
	int64_t pending = 0;
	rows = 0;
	for (const auto &range : ranges) {
		pending += range.status == "loaded" ? 0 : 1;
		rows += range.rows;
	}
	if (!InProgress(status, ranges) || pending > 0)
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"table " + table.qualified + " cannot be finished: " +
						(InProgress(status, ranges) ? std::to_string(pending) + " of its " +
														  std::to_string(ranges.size()) + " key ranges are not loaded"
													: std::string("it is not being pulled in key ranges")),
					"", "Pull every range first (SELECT * FROM migrate_pull_range(table, range_no, snapshot)).");
	if (HasUnbuiltIndexes(relid))
		pg::RebuildIndexes(relid);
	MarkLoaded(fcinfo, table, rows);
	return {"loaded", rows};
}

/* The row of migrate_pull for a range or a finish, timed from `started`. */
Datum
RangeRow(FunctionCallInfo fcinfo, Oid relid, const RangeResult &result, std::chrono::steady_clock::time_point started)
{
	return PullRow(fcinfo, relid, result.status, result.rows,
				   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

} // namespace

} // namespace pgc

using namespace pgc;

/* migrate_pull_split(tbl, ranges, min_rows, min_bytes) -> setof (range_no, status, rows) */
PGC_FUNCTION(migrate_pull_split)
{
	std::vector<KeyRange> ranges =
		SplitForPull(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(1), PG_GETARG_INT64(2), PG_GETARG_INT64(3));
	pg::ResultSet out(fcinfo);
	for (const auto &range : ranges) {
		Datum values[3] = {Int32GetDatum(range.range_no), pg::TextDatum(range.status), Int64GetDatum(range.rows)};
		bool nulls[3] = {false, false, range.status != "loaded"};
		out.Add(values, nulls);
	}
	return (Datum) 0;
}

/* migrate_pull_range(tbl, range_no, snapshot) -> (table_name, status, rows, seconds) */
PGC_FUNCTION(migrate_pull_range)
{
	auto started = std::chrono::steady_clock::now();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "the table and the range to pull must not be NULL");
	std::optional<std::string> snapshot;
	if (!PG_ARGISNULL(2))
		snapshot = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(2)); });
	RangeResult result = PullRange(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(1), snapshot);
	return RangeRow(fcinfo, PG_GETARG_OID(0), result, started);
}

/* migrate_pull_finish(tbl) -> (table_name, status, rows, seconds) */
PGC_FUNCTION(migrate_pull_finish)
{
	auto started = std::chrono::steady_clock::now();
	RangeResult result = FinishPull(fcinfo, PG_GETARG_OID(0));
	return RangeRow(fcinfo, PG_GETARG_OID(0), result, started);
}
