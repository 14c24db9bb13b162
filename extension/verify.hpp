/*
 * verify.hpp: what migrate_verify and migrate_diff share about a table on both sides.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checksum.hpp"

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

} // namespace pgc
