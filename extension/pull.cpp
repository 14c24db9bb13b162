/*
 * pull.cpp: migrate_pull(tbl, snapshot) copies one table from the source into the target in the caller's
 * transaction, rewriting user IDs inline.
 *
 * The source runs COPY (SELECT <columns> FROM <table>) TO STDOUT in a read-only transaction (on the given
 * exported snapshot, if any). Its lines go straight into PostgreSQL's own COPY FROM machinery (pg/copy_from.cpp)
 * through a PullStream (pull_stream.cpp); on the way, the fields of user-ID columns are rewritten from an
 * in-memory copy of the ID map (core/copy_text). Nothing is staged: memory holds one line at a time. The table
 * is emptied, loaded and its state set to loaded in the same transaction, so a failure leaves nothing of it
 * behind; a larger table's indexes are built once after the load (pg/indexes.cpp).
 */
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/preflight.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/indexes.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "settings.hpp"
#include "pull.hpp"
#include "pull_stream.hpp"
#include "source.hpp"

namespace pgc {

namespace {

const core::PlanTable *
FindTable(const core::Catalog &catalog, const pg::TableInfo &table)
{
	for (const auto &candidate : catalog.tables)
		if (candidate.schema == table.schema && candidate.name == table.name)
			return &candidate;
	return nullptr;
}

/* Refuses to start while preflight finds an error for this table. */
void
CheckPreflight(const core::Catalog &source, const core::Catalog &target, const pg::TableInfo &table)
{
	std::string errors;
	for (const auto &mismatch : core::ComparePreflight(source, target, &pg::QuoteIdentifier))
		if (mismatch.error && mismatch.table == table.qualified)
			errors += (errors.empty() ? "" : "; ") + (mismatch.column.empty() ? "" : mismatch.column + ": ") +
					  mismatch.problem;
	if (!errors.empty())
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"table " + table.qualified + " cannot be pulled: source and target differ", errors,
					"SELECT * FROM migrate_preflight() lists every difference; fix them first.");
}

/* The table's status in cutover.table_state, if it has one. */
std::optional<std::string>
StatusOf(pg::Spi &spi, const pg::TableInfo &table, int64_t &rows)
{
	spi.Execute("SELECT status, rows FROM cutover.table_state WHERE table_schema = $1 AND table_name = $2", true,
				{{TEXTOID, table.schema}, {TEXTOID, table.name}});
	if (spi.Rows() == 0)
		return std::nullopt;
	rows = spi.GetInt64(0, 1);
	return spi.GetText(0, 0);
}

} // namespace

void
TakePullLock(Oid relid, bool shared)
{
	pg::Spi spi;
	std::string key = std::to_string(kPullLockKey);
	std::string object = std::to_string(static_cast<int32>(relid));
	spi.Execute(shared ? "SELECT pg_catalog.pg_try_advisory_xact_lock_shared($1, $2)"
					   : "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
				false, {{INT4OID, key}, {INT4OID, object}});
	if (spi.GetText(0, 0) == "t")
		return;
	spi.Execute("SELECT $2::regclass::text, (SELECT pid FROM pg_catalog.pg_locks WHERE locktype = 'advisory' "
				"AND classid = $1::int4::oid AND objid = $2 AND objsubid = 2 AND granted LIMIT 1)",
				true, {{INT4OID, key}, {OIDOID, std::to_string(relid)}});
	std::string pid = spi.IsNull(0, 1) ? "?" : spi.GetText(0, 1);
	throw Error(ERRCODE_LOCK_NOT_AVAILABLE,
				"table " + spi.GetText(0, 0) + " is being pulled by another session (backend " + pid + ")", "",
				"Wait for that pull to end (migrate_status() shows the table loading), or stop it with "
				"SELECT pg_cancel_backend(" +
					pid + ").");
}

namespace {

core::IdMap
ReadIdMap(pg::Spi &spi)
{
	spi.Execute("SELECT source_id::text, target_id::text FROM cutover.id_map", true);
	core::IdMap map;
	map.reserve(spi.Rows());
	for (uint64_t row = 0; row < spi.Rows(); row++)
		map.Add(spi.GetText(row, 0), spi.GetText(row, 1));
	return map;
}

/*
 * The Supabase users of the source that the map does not know (no Stack Auth user yet): an ID of theirs on
 * the way stops the pull, in any column, instead of passing unnoticed where no foreign key points. Read in the
 * pull's own transaction on the source, so in its snapshot.
 */
void
AddUsersWithoutPair(SourceConnection &source, const core::Catalog &catalog, core::IdMap &map)
{
	core::UserIdRoot root;
	bool found = std::any_of(catalog.tables.begin(), catalog.tables.end(), [&](const core::PlanTable &table) {
		return table.schema == root.schema && table.name == root.table;
	});
	if (!found)
		return;
	SourceResult ids = source.Exec("SELECT " + pg::QuoteIdentifier(root.column) + "::text FROM " +
								   pg::QuoteIdentifier(root.schema) + "." + pg::QuoteIdentifier(root.table));
	for (int row = 0; row < PQntuples(ids.get()); row++) {
		core::Uuid id, target;
		if (!PQgetisnull(ids.get(), row, 0) && core::ParseCanonicalUuid(PQgetvalue(ids.get(), row, 0), id) &&
			map.Lookup(id, target) == core::IdMap::Found::No)
			map.AddAlone(id);
	}
}

/*
 * Whether the table can travel in COPY's binary format, which spares both sides printing and parsing values:
 * when every column has the same type on both sides and that type is built in (its binary form and, for an
 * array, the element type's OID inside it are the same on every server), and when text arrives as the target
 * database stores it (binary text is converted with the session's client_encoding). SET
 * pg_cutover.pull_format = 'text' turns it off.
 */
bool
UseBinaryFormat(Oid relid, const std::vector<std::string> &columns, const core::PlanTable &source,
				const core::PlanTable &target)
{
	if (PullFormatSetting() == PullFormat::Text)
		return false;
	if (pg::Call([] { return pg_get_client_encoding() != GetDatabaseEncoding(); }))
		return false;
	auto type_of = [](const core::PlanTable &table, const std::string &name) -> const std::string * {
		for (const auto &column : table.columns)
			if (column.name == name)
				return &column.type;
		return nullptr;
	};
	for (const auto &name : columns) {
		const std::string *source_type = type_of(source, name);
		const std::string *target_type = type_of(target, name);
		if (source_type == nullptr || target_type == nullptr || *source_type != *target_type)
			return false;
	}
	pg::Spi spi;
	/*
	 * Not in binary: a type of this database (an enum, a domain, ...), whose OID differs on the source; a type
	 * without binary input or output; and the reg* types, whose binary form is an OID of the source's catalogs
	 * where the text form is a name the target resolves.
	 */
	spi.Execute("SELECT a.attname::text FROM pg_catalog.pg_attribute AS a "
				"JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid "
				"LEFT JOIN pg_catalog.pg_type AS e ON e.oid = t.typelem AND t.typlen = -1 "
				"WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
				"AND (a.atttypid >= $2 OR t.typelem >= $2 OR t.typsend = 0 OR t.typreceive = 0 "
				"     OR e.typsend = 0 OR e.typreceive = 0 "
				"     OR coalesce(e.typname, t.typname) IN ('regproc', 'regprocedure', 'regoper', 'regoperator', "
				"         'regclass', 'regtype', 'regconfig', 'regdictionary', 'regnamespace', 'regrole', "
				"         'regcollation'))",
				true, {{OIDOID, std::to_string(relid)}, {OIDOID, std::to_string(FirstNormalObjectId)}});
	for (uint64_t row = 0; row < spi.Rows(); row++)
		if (std::find(columns.begin(), columns.end(), spi.GetText(row, 0)) != columns.end())
			return false;
	return true;
}

/* A view, a partition or another relation that is not a table pg_cutover loads: 42809. */
[[noreturn]] void
ThrowNotLoadable(const pg::TableInfo &table)
{
	throw Error(ERRCODE_WRONG_OBJECT_TYPE, table.qualified + " is not a table pg_cutover can load",
				"Tables and partitioned tables are pulled; a partition is pulled with its partitioned table.");
}

/*
 * Below this many rows (by the source's estimate) the indexes are filled row by row, as a plain COPY does:
 * a rebuild costs a sort and a sync of each index file, which only pays off on larger tables.
 */
constexpr int64_t kDeferIndexesFrom = 10000;

/*
 * Refuses a table the caller may not load (INSERT and DELETE, no row-level security applying), or that is not
 * a table. Returns whether the caller may TRUNCATE it.
 */
bool
CheckMayLoad(const pg::TableInfo &table)
{
	Oid relid = table.relid;
	auto has = [&](AclMode mode) {
		return pg::Call([&] { return pg_class_aclcheck(relid, GetUserId(), mode); }) == ACLCHECK_OK;
	};
	if (!has(ACL_INSERT) || !has(ACL_DELETE))
		throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to load table " + table.qualified, "",
					"The role running migrate_pull needs INSERT and DELETE on the tables it loads.");
	bool may_truncate = has(ACL_TRUNCATE);
	/* as COPY FROM itself: rows a policy would refuse or hide cannot be loaded or emptied around it */
	if (pg::Call([&] { return check_enable_rls(relid, InvalidOid, true); }) == RLS_ENABLED)
		throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
					"table " + table.qualified + " has row-level security that applies to this role", "",
					"Pull as the table's owner, a superuser or a role with BYPASSRLS.");

	/* only tables are loaded (a view or a partition has no state of its own to skip by) */
	if ((table.relkind != RELKIND_RELATION && table.relkind != RELKIND_PARTITIONED_TABLE) ||
		pg::Call([&] { return get_rel_relispartition(relid); }))
		ThrowNotLoadable(table);
	return may_truncate;
}

/* Whether the table is loaded (or verified) already; `rows` gets the rows its state records. */
bool
AlreadyLoaded(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t &rows)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	std::optional<std::string> status = StatusOf(spi, table, rows);
	return status && (*status == "loaded" || *status == "verified");
}

PullInputs
ReadInputs(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table)
{
	PullInputs inputs;
	inputs.source_catalog = ReadSourceCatalog(source, {table.schema});
	{
		pg::Spi spi;
		inputs.target_catalog = ReadTargetCatalog(spi, {table.schema});
	}
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		inputs.marks = ReadRemapMarks(spi);
		inputs.map = ReadIdMap(spi);
	}
	return inputs;
}

/* The user-ID columns, as migrate_plan finds them. */
std::vector<std::string>
PlannedUserIds(const PullInputs &inputs, const pg::TableInfo &table)
{
	std::vector<std::string> user_ids;
	if (auto plan = core::PlanOneTable(inputs.source_catalog, table.schema, table.name, inputs.marks)) {
		/* a user-ID column the pull cannot rewrite would keep its Supabase IDs: refuse instead */
		std::string problems;
		for (const auto &problem : plan->problems)
			problems += (problems.empty() ? "" : "; ") + problem;
		if (!problems.empty())
			throw Error(
				ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
				"table " + table.qualified + " cannot be pulled: its plan has problems", problems,
				"SELECT * FROM migrate_plan() shows them; migrate_remap_column(..., false) keeps a column out.");
		for (const auto &column : plan->user_ids)
			user_ids.push_back(column.column);
	}
	return user_ids;
}

/*
 * Every column of both sides but generated ones (the target computes those), in the target's order; a
 * column only the target has takes its default. Each column that can hold a user ID is rewritten by value,
 * unless a foreign key or a mark says more (a user-ID column; embedded IDs too) or less (kept out).
 */
PullColumns
ChooseColumns(const pg::TableInfo &table, const core::PlanTable &source_table, const core::PlanTable &target_table,
			  const std::vector<core::RemapMark> &marks, const std::vector<std::string> &user_ids)
{
	auto on_source = [&](const std::string &name) {
		return std::any_of(source_table.columns.begin(), source_table.columns.end(),
						   [&](const core::PlanColumn &column) { return column.name == name; });
	};
	PullColumns columns;
	std::vector<core::ColumnRemap> remaps;
	for (const auto &column : target_table.columns) {
		if (column.generated || !on_source(column.name))
			continue;
		remaps.push_back(
			{column.name, column.base_type, core::ColumnMode(marks, table.schema, table.name, column.name, user_ids)});
		columns.select += (columns.names.empty() ? "" : ", ") + pg::QuoteIdentifier(column.name);
		columns.names.push_back(column.name);
	}
	columns.fields = core::RemapFieldsOf(remaps);
	return columns;
}

/*
 * Opens the source's read-only transaction (on `snapshot`, if given), adds the users without a pair to the
 * map where IDs are rewritten, and starts the COPY of the table's columns (of the rows matching `where`).
 */
void
StartSourceCopy(SourceConnection &source, const std::optional<std::string> &snapshot, const pg::TableInfo &table,
				const std::string &where, const PullColumns &columns, bool binary, PullInputs &inputs)
{
	std::string begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n";
	if (snapshot)
		begin += "SET TRANSACTION SNAPSHOT " + source.Literal(*snapshot) + ";\n";
	source.Send(begin);
	source.Wait();
	if (!columns.fields.empty())
		AddUsersWithoutPair(source, inputs.source_catalog, inputs.map);
	source.StartCopy(core::FixedSettingsSql() + "SET LOCAL extra_float_digits = 3;\nCOPY (SELECT " +
					 (columns.select.empty() ? std::string("FROM ") : columns.select + " FROM ") + table.scan +
					 (where.empty() ? "" : " WHERE " + where) + ") TO STDOUT" + (binary ? " (FORMAT binary)" : "") +
					 ";\n");
}

/*
 * Whether to defer the table's indexes (pg::DeferIndexes) while it loads. Not when a trigger of the table
 * fires during the pull (ENABLE ALWAYS or ENABLE REPLICA, since the pull runs with session_replication_role =
 * replica): its queries would run against indexes not ready yet, with a scan of the whole table each, so such
 * a table keeps its indexes filled row by row.
 */
bool
ShouldDeferIndexes(const pg::TableInfo &table, const core::PlanTable &source_table)
{
	return table.relkind == RELKIND_RELATION &&
		   (!source_table.row_estimate || *source_table.row_estimate >= kDeferIndexesFrom) &&
		   !pg::HasReplicaTriggers(table.relid);
}

} // namespace

std::optional<std::string>
TableStatus(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t &rows)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	return StatusOf(spi, table, rows);
}

PreparedPull
PreparePull(FunctionCallInfo fcinfo, SourceConnection &source, Oid relid)
{
	PreparedPull pull;
	pull.table = pg::DescribeTable(relid);
	const pg::TableInfo &table = pull.table;
	pull.may_truncate = CheckMayLoad(table);
	pull.inputs = ReadInputs(fcinfo, source, table);
	CheckPreflight(pull.inputs.source_catalog, pull.inputs.target_catalog, table);
	std::vector<std::string> user_ids = PlannedUserIds(pull.inputs, table);
	const core::PlanTable *target_table = FindTable(pull.inputs.target_catalog, table);
	const core::PlanTable *source_table = FindTable(pull.inputs.source_catalog, table);
	if (target_table == nullptr)
		ThrowNotLoadable(table);
	if (source_table == nullptr)
		throw Error(ERRCODE_UNDEFINED_TABLE, "table " + table.qualified + " does not exist on the source", "",
					"Create it on the source, or leave it out of the pull.");
	pull.source_table = *source_table;
	pull.columns = ChooseColumns(table, *source_table, *target_table, pull.inputs.marks, user_ids);
	pull.binary = UseBinaryFormat(relid, pull.columns.names, *source_table, *target_table) &&
				  std::all_of(pull.columns.fields.begin(), pull.columns.fields.end(),
							  [](const core::RemapField &field) { return core::BinaryRemappable(field.type); });
	pull.defer_indexes = ShouldDeferIndexes(table, *source_table);
	return pull;
}

void
MarkLoading(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("INSERT INTO cutover.table_state AS s (table_schema, table_name, status, started_at) "
				"VALUES ($1, $2, 'loading', pg_catalog.clock_timestamp()) "
				"ON CONFLICT (table_schema, table_name) DO UPDATE SET status = 'loading', rows = NULL, "
				"source_checksum = NULL, target_checksum = NULL, started_at = EXCLUDED.started_at, "
				"finished_at = NULL, last_error = NULL, updated_at = pg_catalog.now()",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
}

/*
 * With TRUNCATE where the caller may, but a table other tables refer to cannot be truncated alone, so that
 * one is emptied with DELETE (its foreign-key triggers are quiet).
 */
void
EmptyTable(const pg::TableInfo &table, bool may_truncate)
{
	pg::Spi spi;
	spi.Execute("SELECT 1 FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid = $1", true,
				{{OIDOID, std::to_string(table.relid)}});
	bool truncate = may_truncate && spi.Rows() == 0;
	spi.Execute((truncate ? "TRUNCATE " : "DELETE FROM ") + table.scan, false);
}

void
MarkLoaded(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t rows)
{
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("UPDATE cutover.table_state SET status = 'loaded', rows = $3, "
				"finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.now() "
				"WHERE table_schema = $1 AND table_name = $2",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}, {INT8OID, std::to_string(rows)}});
}

uint64_t
LoadRows(SourceConnection &source, const std::optional<std::string> &snapshot, PreparedPull &pull,
		 const std::string &where)
{
	const pg::TableInfo &table = pull.table;
	const std::string reading = "The source raised it while sending table " + table.qualified + ".";
	try {
		StartSourceCopy(source, snapshot, table, where, pull.columns, pull.binary, pull.inputs);
	} catch (const Error &error) {
		throw NamingTable(error, reading);
	}
	PullStream stream(source, table.qualified, pull.columns.fields, std::move(pull.inputs.map), pull.binary);
	try {
		uint64 rows = pg::CopyIntoTable(table.relid, pull.columns.names, pull.binary, stream);
		source.FinishCopy();
		return rows;
	} catch (const Error &error) {
		throw NamingTable(error, reading);
	}
}

namespace {

struct PullResult {
	std::string status;
	int64_t rows = 0;
	double seconds = 0;
};

PullResult
Pull(FunctionCallInfo fcinfo, Oid relid, const std::optional<std::string> &snapshot)
{
	auto started = std::chrono::steady_clock::now();
	TakePullLock(relid, false); /* before any lock on the table: a pull running holds stronger ones */
	PullResult result;
	{
		pg::TableInfo table = pg::DescribeTable(relid);
		CheckMayLoad(table);
		if (AlreadyLoaded(fcinfo, table, result.rows)) {
			result.status = "skipped";
			return result;
		}
	}

	SourceConnection source = SourceConnection::Open();
	PreparedPull pull = PreparePull(fcinfo, source, relid);
	const pg::TableInfo &table = pull.table;
	MarkLoading(fcinfo, table);
	ForgetRanges(fcinfo, table);
	bool unbuilt = HasUnbuiltIndexes(relid); /* left so by a pull in ranges that stopped */
	EmptyTable(table, pull.may_truncate);
	if (pull.defer_indexes)
		pg::DeferIndexes(relid);
	uint64_t rows = LoadRows(source, snapshot, pull, "");
	if (pull.defer_indexes || unbuilt)
		pg::RebuildIndexes(relid);

	result.status = "loaded";
	result.rows = static_cast<int64_t>(rows);
	MarkLoaded(fcinfo, table, result.rows);
	result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	return result;
}

} // namespace

Datum
PullRow(FunctionCallInfo fcinfo, Oid relid, const std::string &status, int64_t rows, double seconds)
{
	Datum values[4] = {pg::TextDatum(pg::DescribeTable(relid).qualified), pg::TextDatum(status), Int64GetDatum(rows),
					   Float8GetDatum(seconds)};
	bool nulls[4] = {false, false, false, false};
	return pg::ResultRow(fcinfo, values, nulls);
}

} // namespace pgc

using namespace pgc;

/* migrate_pull(tbl regclass, snapshot text default null) -> (table_name, status, rows, seconds) */
PGC_FUNCTION(migrate_pull)
{
	if (PG_ARGISNULL(0))
		throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "the table to pull must not be NULL");
	std::optional<std::string> snapshot;
	if (!PG_ARGISNULL(1))
		snapshot = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });
	Oid relid = PG_GETARG_OID(0);
	PullResult result = Pull(fcinfo, relid, snapshot);
	return PullRow(fcinfo, relid, result.status, result.rows, result.seconds);
}
