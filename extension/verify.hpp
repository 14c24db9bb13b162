/*
 * verify.hpp: what migrate_verify and migrate_diff share about a table on both sides.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checksum.hpp"

#include "key_ranges.hpp"
#include "pg/rel.hpp"
#include "source.hpp"

namespace pgc {

/* Fails (42P01, 42703) unless the source has the same table with the same set of column names. */
void CheckSourceColumns(SourceConnection &source, const pg::TableInfo &table);

/* The table's user-ID columns, as migrate_plan finds them: foreign keys on the source, marks on the target. */
std::vector<std::string> UserIdColumns(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table);

/* A verification's outcome, as cutover.verification records it. */
struct Verification {
	std::string table_name;
	int64_t source_rows = 0;
	int64_t target_rows = 0;
	std::string source_checksum;
	std::string target_checksum;
	bool ok = false;
	double seconds = 0;
	const char *source_side = "sql"; /* sql, stream or given (cutover.verification.source_side) */
};

/* What the target side of a verification found: its checksum and the Supabase IDs left on it, in words. */
struct TargetSide {
	TableChecksum checksum;
	std::string leftovers;
};

/* Both sides of a verification of the table's rows (those its `scan` reads), computed at the same time. */
struct BothSides {
	int64_t source_rows = 0;
	std::string source_checksum;
	const char *source_side = "sql";
	TargetSide target;
};
BothSides ChecksumBothSides(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table,
							const std::vector<std::string> &user_id_columns);

/* The target's checksum with the user IDs mapped back to Supabase IDs (`strict`: the user-ID columns). */
TargetSide ChecksumTarget(FunctionCallInfo fcinfo, const pg::TableInfo &table, const std::vector<std::string> &strict);

/* The row of migrate_verify (and of migrate_verify_checksum and migrate_verify_ranges) for an outcome. */
Datum VerificationRow(FunctionCallInfo fcinfo, const Verification &v);

/* Compares the two sides, records the result (cutover.verification and the state) and returns it. */
Verification Conclude(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t source_rows,
					  std::string source_checksum, const TargetSide &side,
					  std::chrono::steady_clock::time_point started, const char *source_side);

/* The key ranges whose checksums differed at the table's last verification (verify_ranges.cpp). */
struct DifferingRanges {
	std::vector<KeyRange> ranges;
	std::size_t of = 0;		 /* the table's ranges */
	int64_t rows = 0;		 /* the rows in them, on the side with more */
	std::string verified_at; /* when that verification was recorded */
};

/*
 * The ranges of the table that differed, when its state records a failed verification made from the ranges'
 * checksums (migrate_verify_ranges, or a migrate_verify whose sums are theirs) and nothing was loaded since;
 * none otherwise (never split, split by blocks, a range unverified, verified whole since with other figures).
 */
std::optional<DifferingRanges> RangesThatDiffered(FunctionCallInfo fcinfo, const pg::TableInfo &table);

} // namespace pgc
