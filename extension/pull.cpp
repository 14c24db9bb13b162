/*
 * pull.cpp: migrate_pull(tbl, snapshot) copies one table from the source into the target in the caller's
 * transaction, rewriting user IDs inline.
 *
 * The source runs COPY (SELECT <columns> FROM <table>) TO STDOUT in a read-only transaction (on the given
 * exported snapshot, if any). Its lines go straight into PostgreSQL's own COPY FROM machinery through a
 * data-source callback; on the way, the fields of user-ID columns are rewritten from an in-memory copy of the
 * ID map (core/copy_text). Nothing is staged: memory holds one line at a time. The table is emptied, loaded
 * and its state set to loaded in the same transaction, so a failure leaves nothing of it behind.
 */
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/copy_binary.hpp"
#include "core/copy_text.hpp"
#include "core/preflight.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/compat.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "settings.hpp"
#include "source.hpp"

namespace pgc {

namespace {

/* The stream from the source's COPY to the target's COPY FROM, with the user-ID fields rewritten. */
class PullStream
{
  public:
	PullStream(SourceConnection &source, std::string table, std::vector<core::RemapField> fields, core::IdMap map,
			   bool binary)
		: source_(source), table_(std::move(table)), fields_(std::move(fields)), map_(std::move(map)), binary_(binary),
		  remapper_(fields_, map_), rewriter_(map_)
	{
	}

	/* Fills `out` with at least `minread` bytes (fewer only at the end of the data) and at most `maxread`. */
	int
	Read(char *out, int minread, int maxread)
	{
		if (offset_ > 0) {
			pending_.erase(0, offset_);
			offset_ = 0;
		}
		/* Waits for the lines it must deliver, then takes the ones already received, up to maxread. */
		while (static_cast<int>(pending_.size()) < minread && !finished_)
			NextLine(true);
		while (static_cast<int>(pending_.size()) < maxread && !finished_ && NextLine(false)) {
		}
		int n = std::min(maxread, static_cast<int>(pending_.size()));
		std::memcpy(out, pending_.data() + offset_, n);
		offset_ += n;
		return n;
	}

	uint64_t
	Lines() const
	{
		return lines_;
	}

  private:
	/*
	 * Appends the next line of the source's COPY to pending_, or notes the end of the data. Without `wait`,
	 * only a line libpq has already received; returns whether it appended one.
	 */
	bool
	NextLine(bool wait)
	{
		char *buffer = nullptr;
		int len = source_.GetCopyLine(&buffer, wait);
		if (len == 0)
			return false;
		if (len < 0) {
			finished_ = true;
			return false;
		}
		lines_++;
		if (binary_) {
			/* one tuple per message (the first also holds the header): user IDs rewritten in place */
			core::RemapFailure failure;
			bool ok = fields_.empty() || remapper_.Remap(buffer, static_cast<std::size_t>(len), failure);
			if (ok)
				pending_.append(buffer, static_cast<std::size_t>(len));
			PQfreemem(buffer);
			if (!ok)
				ThrowRemapFailure(failure, remapper_.Tuples());
			return true;
		}
		std::string_view line(buffer, static_cast<std::size_t>(len));
		if (!line.empty() && line.back() == '\n')
			line.remove_suffix(1);
		/* written straight after what is pending, user IDs rewritten there; an unmapped ID throws, and the pull
		 * rolls back */
		core::RemapFailure failure;
		bool ok = core::RemapCopyLine(line, fields_, rewriter_, pending_, failure);
		PQfreemem(buffer);
		if (!ok)
			ThrowRemapFailure(failure, lines_);
		pending_.push_back('\n');
		return true;
	}

	/* An unmapped or malformed user ID: the pull rolls back. */
	[[noreturn]] void
	ThrowRemapFailure(const core::RemapFailure &failure, uint64_t row) const
	{
		if (failure.column.empty())
			throw Error(ERRCODE_DATA_CORRUPTED, "table " + table_ + ": " + failure.reason,
						"Nothing of the table was loaded.");
		if (failure.value.empty())
			throw Error(ERRCODE_DATA_CORRUPTED,
						"column " + failure.column + " of table " + table_ + " " + failure.reason + " (source row " +
							std::to_string(row) + ")",
						"Nothing of the table was loaded.");
		throw Error(failure.unmapped ? ERRCODE_NO_DATA_FOUND : ERRCODE_INVALID_TEXT_REPRESENTATION,
					"column " + failure.column + " of table " + table_ + " holds user ID " + failure.value +
						(failure.path.empty() ? "" : " at " + failure.path) + ", which " + failure.reason +
						" (source row " + std::to_string(row) + ")",
					"Nothing of the table was loaded.",
					failure.unmapped
						? "Create the user in Stack Auth first (cutover users), record the pair with migrate_map_put, "
						  "or keep the column out with migrate_remap_column(..., false)."
						: "Write the ID in small or capital letters, 8-4-4-4-12, on the source, or keep the column out "
						  "with migrate_remap_column(..., false).");
	}

	SourceConnection &source_;
	std::string table_;
	std::vector<core::RemapField> fields_;
	core::IdMap map_;
	bool binary_;
	core::BinaryCopyRemapper remapper_;
	core::Rewriter rewriter_;
	std::string pending_;
	std::size_t offset_ = 0;
	uint64_t lines_ = 0;
	bool finished_ = false;
};

/* The stream of the pull running now: COPY FROM's data-source callback takes no argument of its own. */
PullStream *active_stream = nullptr;

/*
 * COPY FROM's data source. C++ runs inside try/catch only; the error is raised after it, from a frame that
 * owns no C++ objects, and lands in the pg::Call around CopyFrom.
 */
extern "C" int
PullDataSource(void *outbuf, int minread, int maxread)
{
	int n = 0;
	bool failed = false;
	try {
		n = active_stream->Read(static_cast<char *>(outbuf), minread, maxread);
	} catch (...) {
		failed = true;
		StashCurrentException();
	}
	if (failed)
		RaiseStashedError();
	return n;
}

/* Clears active_stream however the pull ends. */
struct ActiveStream {
	explicit ActiveStream(PullStream &stream) { active_stream = &stream; }
	~ActiveStream() { active_stream = nullptr; }
	ActiveStream(const ActiveStream &) = delete;
	ActiveStream &operator=(const ActiveStream &) = delete;
};

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

/* One pull of a table at a time, told at once rather than waited for (kPullLockKey, catalog.hpp). */
void
TakePullLock(Oid relid)
{
	pg::Spi spi;
	std::string key = std::to_string(kPullLockKey);
	std::string object = std::to_string(static_cast<int32>(relid));
	spi.Execute("SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)", false, {{INT4OID, key}, {INT4OID, object}});
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

/* Runs COPY FROM on the target table with the stream as its data. Returns the rows loaded. */
uint64
CopyIntoTable(Oid relid, const std::vector<std::string> &columns, bool binary)
{
	Relation rel = pg::Call([&] { return table_open(relid, RowExclusiveLock); });
	ParseState *pstate = pg::Call([] { return make_parsestate(nullptr); });
	List *names = NIL;
	for (const auto &column : columns) {
		const char *name = column.c_str();
		names = pg::Call([&] { return lappend(names, makeString(pstrdup(name))); });
	}
	pg::Call([&] {
		ParseNamespaceItem *item = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
		pg::CheckInsertPrivilege(pstate, item, rel, names);
	});
	/* the source sends the target database's encoding (source.cpp), whatever the caller's client_encoding */
	List *options = pg::Call([&] {
		if (binary)
			return list_make1(makeDefElem(pstrdup("format"), (Node *) makeString(pstrdup("binary")), -1));
		return list_make1(
			makeDefElem(pstrdup("encoding"), (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	});
	CopyFromState state =
		pg::Call([&] { return BeginCopyFrom(pstate, rel, NULL, NULL, false, PullDataSource, names, options); });
	uint64 rows = pg::Call([&] { return CopyFrom(state); });
	pg::Call([&] {
		EndCopyFrom(state);
		table_close(rel, NoLock);
	});
	return rows;
}

/*
 * Below this many rows (by the source's estimate) the indexes are filled row by row, as a plain COPY does:
 * a rebuild costs a sort and a sync of each index file, which only pays off on larger tables.
 */
constexpr int64_t kDeferIndexesFrom = 10000;

/*
 * Marks every index of the table not ready (and so not valid) in this transaction, so that COPY FROM fills
 * the heap alone; RebuildIndexes builds them afterwards by sorting, as pg_restore does by loading data before
 * creating indexes. The change is an ordinary catalog update: a rollback or a crash restores the indexes as
 * they were, and other sessions never see it, as the table is locked until the pull commits.
 */
void
DeferIndexes(Oid relid)
{
	pg::Call([&] {
		Relation rel = table_open(relid, ShareRowExclusiveLock);
		List *indexes = RelationGetIndexList(rel);
		Relation pg_index = table_open(IndexRelationId, RowExclusiveLock);
		ListCell *cell;
		foreach (cell, indexes) {
			HeapTuple tuple = SearchSysCacheCopy1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(cell)));
			if (!HeapTupleIsValid(tuple))
				elog(ERROR, "cache lookup failed for index %u", lfirst_oid(cell));
			Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);
			form->indisvalid = false;
			form->indisready = false;
			CatalogTupleUpdate(pg_index, &tuple->t_self, tuple);
			heap_freetuple(tuple);
		}
		table_close(pg_index, RowExclusiveLock);
		CacheInvalidateRelcache(rel);
		table_close(rel, NoLock);
		CommandCounterIncrement();
	});
}

/*
 * Whether a trigger of the table fires during the pull (ENABLE ALWAYS or ENABLE REPLICA, since the pull runs
 * with session_replication_role = replica): its queries would run against indexes not ready yet, with a
 * scan of the whole table each, so such a table keeps its indexes filled row by row.
 */
bool
HasReplicaTriggers(Oid relid)
{
	pg::Spi spi;
	spi.Execute("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgenabled IN ('A', 'R')", true,
				{{OIDOID, std::to_string(relid)}});
	return spi.Rows() > 0;
}

/*
 * Builds every index of the table from the loaded rows, checking unique and exclusion constraints (a
 * duplicate key fails the pull with 23505), and marks them ready and valid again.
 */
void
RebuildIndexes(Oid relid)
{
	pg::Call([&] {
		pg::ReindexTable(relid);
		CommandCounterIncrement();
	});
}

struct PullResult {
	std::string status;
	int64_t rows = 0;
	double seconds = 0;
};

PullResult
Pull(FunctionCallInfo fcinfo, Oid relid, const std::optional<std::string> &snapshot)
{
	auto started = std::chrono::steady_clock::now();
	TakePullLock(relid); /* before any lock on the table: a pull running holds stronger ones */
	pg::TableInfo table = pg::DescribeTable(relid);
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
		throw Error(ERRCODE_WRONG_OBJECT_TYPE, table.qualified + " is not a table pg_cutover can load",
					"Tables and partitioned tables are pulled; a partition is pulled with its partitioned table.");
	PullResult result;
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		std::optional<std::string> status = StatusOf(spi, table, result.rows);
		if (status && (*status == "loaded" || *status == "verified")) {
			result.status = "skipped";
			return result;
		}
	}

	SourceConnection source = SourceConnection::Open();
	core::Catalog source_catalog = ReadSourceCatalog(source, {table.schema});
	core::Catalog target_catalog;
	std::vector<core::RemapMark> marks;
	core::IdMap map;
	{
		pg::Spi spi;
		target_catalog = ReadTargetCatalog(spi, {table.schema});
	}
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		marks = ReadRemapMarks(spi);
		map = ReadIdMap(spi);
	}
	CheckPreflight(source_catalog, target_catalog, table);

	/* The user-ID columns, as migrate_plan finds them. */
	std::vector<std::string> user_ids;
	if (auto plan = core::PlanOneTable(source_catalog, table.schema, table.name, marks)) {
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

	const core::PlanTable *target_table = FindTable(target_catalog, table);
	const core::PlanTable *source_table = FindTable(source_catalog, table);
	if (target_table == nullptr)
		throw Error(ERRCODE_WRONG_OBJECT_TYPE, table.qualified + " is not a table pg_cutover can load",
					"Tables and partitioned tables are pulled; a partition is pulled with its partitioned table.");
	if (source_table == nullptr)
		throw Error(ERRCODE_UNDEFINED_TABLE, "table " + table.qualified + " does not exist on the source", "",
					"Create it on the source, or leave it out of the pull.");
	auto on_source = [&](const std::string &name) {
		return std::any_of(source_table->columns.begin(), source_table->columns.end(),
						   [&](const core::PlanColumn &column) { return column.name == name; });
	};
	/*
	 * Every column of both sides but generated ones (the target computes those), in the target's order; a
	 * column only the target has takes its default. Each column that can hold a user ID is rewritten by value,
	 * unless a foreign key or a mark says more (a user-ID column; embedded IDs too) or less (kept out).
	 */
	std::vector<std::string> columns;
	std::vector<core::ColumnRemap> remaps;
	std::string select;
	for (const auto &column : target_table->columns) {
		if (column.generated || !on_source(column.name))
			continue;
		remaps.push_back(
			{column.name, column.base_type, core::ColumnMode(marks, table.schema, table.name, column.name, user_ids)});
		select += (columns.empty() ? "" : ", ") + pg::QuoteIdentifier(column.name);
		columns.push_back(column.name);
	}
	std::vector<core::RemapField> fields = core::RemapFieldsOf(remaps);

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
	{
		/*
		 * Emptied in this transaction: with TRUNCATE where the caller may, but a table other tables refer to
		 * cannot be truncated alone, so that one is emptied with DELETE (its foreign-key triggers are quiet).
		 */
		pg::Spi spi;
		spi.Execute("SELECT 1 FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid = $1", true,
					{{OIDOID, std::to_string(relid)}});
		bool truncate = may_truncate && spi.Rows() == 0;
		spi.Execute((truncate ? "TRUNCATE " : "DELETE FROM ") + table.scan, false);
	}

	std::string begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n";
	if (snapshot)
		begin += "SET TRANSACTION SNAPSHOT " + source.Literal(*snapshot) + ";\n";
	bool binary = UseBinaryFormat(relid, columns, *source_table, *target_table) &&
				  std::all_of(fields.begin(), fields.end(),
							  [](const core::RemapField &field) { return core::BinaryRemappable(field.type); });
	const std::string reading = "The source raised it while sending table " + table.qualified + ".";
	try {
		source.Send(begin);
		source.Wait();
		if (!fields.empty())
			AddUsersWithoutPair(source, source_catalog, map);
		source.StartCopy(core::FixedSettingsSql() + "SET LOCAL extra_float_digits = 3;\nCOPY (SELECT " +
						 (select.empty() ? std::string("FROM ") : select + " FROM ") + table.scan + ") TO STDOUT" +
						 (binary ? " (FORMAT binary)" : "") + ";\n");
	} catch (const Error &error) {
		throw NamingTable(error, reading);
	}

	bool defer_indexes = table.relkind == RELKIND_RELATION &&
						 (!source_table->row_estimate || *source_table->row_estimate >= kDeferIndexesFrom) &&
						 !HasReplicaTriggers(relid);
	if (defer_indexes)
		DeferIndexes(relid);

	PullStream stream(source, table.qualified, fields, std::move(map), binary);
	uint64 rows;
	try {
		ActiveStream active(stream);
		rows = CopyIntoTable(relid, columns, binary);
		source.FinishCopy();
	} catch (const Error &error) {
		throw NamingTable(error, reading);
	}
	if (defer_indexes)
		RebuildIndexes(relid);

	result.status = "loaded";
	result.rows = static_cast<int64_t>(rows);
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		spi.Execute("UPDATE cutover.table_state SET status = 'loaded', rows = $3, "
					"finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.now() "
					"WHERE table_schema = $1 AND table_name = $2",
					false, {{TEXTOID, table.schema}, {TEXTOID, table.name}, {INT8OID, std::to_string(result.rows)}});
	}
	result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	return result;
}

} // namespace

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
	std::string name = pg::DescribeTable(relid).qualified;
	Datum values[4] = {pg::TextDatum(name), pg::TextDatum(result.status), Int64GetDatum(result.rows),
					   Float8GetDatum(result.seconds)};
	bool nulls[4] = {false, false, false, false};
	return pg::ResultRow(fcinfo, values, nulls);
}

/* cutover.source_sequences() -> setof (schema_name, sequence_name, last_value): the source's sequences. */
PGC_FUNCTION(migrate_source_sequences)
{
	SourceConnection source = SourceConnection::Open();
	SourceResult result = source.Exec("SELECT schemaname::text, sequencename::text, last_value FROM "
									  "pg_catalog.pg_sequences ORDER BY 1, 2");
	pg::ResultSet set(fcinfo);
	for (int row = 0; row < PQntuples(result.get()); row++) {
		bool no_value = PQgetisnull(result.get(), row, 2);
		int64_t last_value = no_value ? 0 : std::stoll(PQgetvalue(result.get(), row, 2));
		Datum values[3] = {pg::TextDatum(PQgetvalue(result.get(), row, 0)),
						   pg::TextDatum(PQgetvalue(result.get(), row, 1)), Int64GetDatum(last_value)};
		bool nulls[3] = {false, false, no_value};
		set.Add(values, nulls);
	}
	return Datum(0);
}
