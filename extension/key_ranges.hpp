/*
 * key_ranges.hpp: a table split in key ranges (cutover.table_ranges), for the pull and the verification of a
 * big table by several backends at once (pull_ranges.cpp, verify_ranges.cpp).
 *
 * A range holds the rows whose primary key k has lower <= k < upper, compared as a row in the source's own
 * order; a bound left out is unbounded, so the ranges cover every key whatever the data. The boundaries come
 * from a sample of the source's keys, evenly by rows however the keys are spread (uuid, skewed integers). A
 * table without a primary key is split by blocks of the source's heap (ctid), which only the source's own
 * snapshot makes stable.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/rel.hpp"
#include "source.hpp"

namespace pgc {

struct KeyRange {
	int range_no = 0;
	std::vector<std::string> key_columns;  /* empty: block ranges of the heap */
	std::vector<std::string> lower, upper; /* empty: unbounded */
	std::string status;					   /* split, pending or loaded */
	int64_t rows = 0;
};

/* The table's ranges in cutover.table_ranges, in order; none when it was never split. */
std::vector<KeyRange> ReadRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table);

/* The source's table: its main fork's bytes and blocks, and its rows as the planner estimates them (-1: never
 * counted). */
struct SourceSize {
	double bytes = 0;
	double blocks = 0;
	double rows = -1;
};
SourceSize SourceTableSize(SourceConnection &source, const pg::TableInfo &table);

/* `count` ranges of the source's table made from a sample of its key (fewer when it has fewer rows). */
std::vector<KeyRange> MakeRanges(SourceConnection &source, const pg::TableInfo &table, const SourceSize &size,
								 int count);

/* The ranges stored in cutover.table_ranges with `status`, in place of the ones there. */
void StoreRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table, const std::vector<KeyRange> &ranges,
				 const std::string &status);

/* The condition on a row of the range, as SQL over the table's columns (`alias.` before each when given;
 * literals quoted by the source). */
std::string RangeCondition(const KeyRange &range, const SourceConnection &source, const std::string &alias = "");

/* The range `range_no` of the table (locked FOR UPDATE in the caller's transaction with `lock`, waiting for a
 * backend that loads it); 55000 if it has none. */
KeyRange ReadRange(FunctionCallInfo fcinfo, const pg::TableInfo &table, int range_no, bool lock);

} // namespace pgc
