/*
 * diff.hpp: the comparison migrate_diff runs for one table (see diff.cpp for how it goes). Its bucket bisection
 * is in diff.cpp, the row-by-row comparison of the leaves in diff_rows.cpp, the key it goes by in diff_key.cpp.
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "core/diff.hpp"
#include "diff_key.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"
#include "unmap.hpp"
#include "verify.hpp"

namespace pgc {

/* A range whose (rows, checksum) differ between the sides. */
struct RangeWork {
	core::KeyRange range;
	std::int64_t source_rows = 0;
	std::int64_t target_rows = 0;
	bool leaf = false; /* compare row by row whatever its size (it cannot be cut further) */
};

class Diff
{
  public:
	/* whole_table: compare every row, even where the table's last verification in key ranges says which differ */
	Diff(FunctionCallInfo fcinfo, Oid relid, int max_rows, bool whole_table)
		: fcinfo_(fcinfo), max_rows_(max_rows), whole_table_(whole_table)
	{
		table_ = pg::DescribeTable(relid);
	}

	void Run();

	const std::vector<core::Difference> &
	Differences() const
	{
		return results_;
	}
	bool
	Stopped() const
	{
		return stopped_;
	}
	const pg::TableInfo &
	Table() const
	{
		return table_;
	}
	/* The key ranges compared, when only those that differed at the last verification were */
	const std::optional<DifferingRanges> &
	Ranges() const
	{
		return differing_;
	}

  private:
	/* diff.cpp: the bucket bisection */
	void BuildSides(const std::vector<KeyColumnInfo> &key, const std::vector<core::RemapMode> &modes,
					const std::set<std::string> &source_byte_ordered);
	void KeepToDifferingRanges();
	std::vector<core::KeyValue> FirstThresholds();
	std::vector<RangeWork> CompareBuckets(const core::KeyRange &range, const std::vector<core::KeyValue> &thresholds,
										  bool top);
	std::map<int, core::Checksum> ReadSourceSums();
	void Process(const std::vector<RangeWork> &ranges, int depth);
	void Split(const RangeWork &work, int depth);

	/* diff_rows.cpp: the leaves, row by row */
	void FlushLeaves();
	void AddDifferences(std::vector<core::Difference> differences);
	void NameChangedColumns(std::vector<core::Difference> &differences);

	/* Runs `body(spi)` on the target: as the extension's owner when its key is read through the ID map. */
	template <typename Body>
	void
	OnTarget(Body body)
	{
		if (key_mapped_) {
			pg::AsExtensionOwner owner(fcinfo_);
			pg::Spi spi;
			body(spi);
		} else {
			pg::Spi spi;
			body(spi);
		}
	}

	/* The rows of the query sent to the source last (RowHashesSql or RowValuesSql; with `values`, their columns). */
	std::vector<core::KeyedRow> SourceRows(std::vector<std::vector<std::optional<std::string>>> *values);
	/* The same for the query SPI ran last on the target. */
	std::vector<core::KeyedRow> TargetRows(pg::Spi &spi, std::vector<std::vector<std::optional<std::string>>> *values);

	FunctionCallInfo fcinfo_;
	int max_rows_;
	bool whole_table_;
	pg::TableInfo table_;
	std::optional<DifferingRanges> differing_; /* the only rows read: those of these ranges */
	std::optional<SourceConnection> source_;
	bool stream_ = false; /* the source's bucket sums from its rows, hashed here (pg_cutover.verify_source) */
	std::optional<UnmapScope> scope_;
	bool mapped_ = false;	  /* rows are read back through scope_ */
	bool key_mapped_ = false; /* the key is read through the ID map (as the extension's owner) */
	std::string target_bucket_aggregate_;
	core::DiffSide source_side_;
	core::DiffSide target_side_;
	std::string target_key_joins_; /* the joins the target's key expressions read (for the sample) */
	std::string target_aggregate_args_;
	std::vector<std::string> column_names_;

	std::vector<RangeWork> pending_; /* leaves waiting for FlushLeaves */
	std::int64_t pending_rows_ = 0;
	std::vector<core::Difference> results_;
	bool stopped_ = false;
};

} // namespace pgc
