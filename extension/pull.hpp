/*
 * pull.hpp: what migrate_pull (pull.cpp) shares with the pull of a table in key ranges (pull_ranges.cpp): the
 * table read and checked on both sides, the columns it copies and how, and the load of its rows, whole or one
 * range at a time.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/id_map.hpp"
#include "core/plan.hpp"
#include "core/remap.hpp"
#include "pg/rel.hpp"
#include "source.hpp"

namespace pgc {

/* What a pull reads before it starts: both sides' catalogs of the schema, the remap marks and the ID map. */
struct PullInputs {
	core::Catalog source_catalog;
	core::Catalog target_catalog;
	std::vector<core::RemapMark> marks;
	core::IdMap map;
};

/* The columns a pull copies, and how. */
struct PullColumns {
	std::vector<std::string> names;
	std::vector<core::RemapField> fields; /* the fields whose user IDs are rewritten */
	std::string select;					  /* the names, quoted, for the source's SELECT */
};

/* A pull read and checked, ready to load rows. */
struct PreparedPull {
	pg::TableInfo table;
	bool may_truncate = false;
	PullInputs inputs;
	PullColumns columns;
	core::PlanTable source_table;
	bool binary = false;		/* COPY's binary format (UseBinaryFormat) */
	bool defer_indexes = false; /* the indexes built after the load (ShouldDeferIndexes) */
};

/*
 * The pull's advisory lock on the table (kPullLockKey, catalog.hpp), told at once rather than waited for:
 * exclusive for a whole table, shared by the backends that load its key ranges.
 */
void TakePullLock(Oid relid, bool shared);

/*
 * Checks that the caller may load the table and that the source and target agree on it (preflight, plan
 * problems), and reads what its load needs.
 */
PreparedPull PreparePull(FunctionCallInfo fcinfo, SourceConnection &source, Oid relid);

/* The table's status in cutover.table_state, if it has one; `rows` gets the rows it records. */
std::optional<std::string> TableStatus(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t &rows);

/* The table's state becomes loading, in the caller's transaction. */
void MarkLoading(FunctionCallInfo fcinfo, const pg::TableInfo &table);

/* The table emptied in the caller's transaction (TRUNCATE where it may, DELETE otherwise). */
void EmptyTable(const pg::TableInfo &table, bool may_truncate);

/* The table's state becomes loaded, with its rows. */
void MarkLoaded(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t rows);

/*
 * Copies the source's rows (those matching `where`, SQL over the source's columns, when not empty) into the
 * table on `snapshot`, user IDs rewritten; returns the rows loaded. Errors name the table.
 */
uint64_t LoadRows(SourceConnection &source, const std::optional<std::string> &snapshot, PreparedPull &pull,
				  const std::string &where);

/* The row of migrate_pull (and of migrate_pull_range and migrate_pull_finish): the table, what happened, its
 * rows, the seconds it took. */
Datum PullRow(FunctionCallInfo fcinfo, Oid relid, const std::string &status, int64_t rows, double seconds);

/* Whether an index of the table is left unbuilt (deferred by a pull in key ranges not finished). */
bool HasUnbuiltIndexes(Oid relid);

/* The ranges of a pull in key ranges that stopped before its end forgotten, by a pull of the whole table. */
void ForgetRanges(FunctionCallInfo fcinfo, const pg::TableInfo &table);

} // namespace pgc
