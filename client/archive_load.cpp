/*
 * archive_load.cpp: one table of an archive into the target, in one transaction: state loading, the table
 * emptied, COPY FROM STDIN with the user IDs rewritten from the target's ID map (as the pull rewrites them),
 * every line checked against its own check, then the row count, checksum and SHA-256 against the manifest,
 * then migrate_verify_checksum over what was loaded. Any mismatch rolls the table back and names the file,
 * the line and the table.
 */
#include "archive_load.hpp"

#include "archive_files.hpp"
#include "archive_format.hpp"
#include "core/copy_text.hpp"
#include "core/sql.hpp"

namespace cutover::archive {

namespace {

namespace core = pgc::core;

/* Whether an earlier import loaded the table already: it is not loaded twice. */
bool
AlreadyLoaded(const pg::Connection &target, const ManifestTable &table)
{
	pg::Result state = target.Exec("SELECT status FROM cutover.table_state WHERE table_schema = $1 AND table_name = $2",
								   {table.schema, table.name});
	return state.Rows() > 0 && (state.Text(0, 0) == "loaded" || state.Text(0, 0) == "verified");
}

LineReader
OpenTableFile(const std::string &path, const std::string &name)
{
	try {
		return LineReader(path);
	} catch (const std::runtime_error &error) {
		throw ArchiveError(path, 0, name, std::string("cannot open: ") + error.what());
	}
}

/*
 * The loaded columns (generated ones are computed by the target), each that can hold a user ID rewritten by
 * value as the pull does: user-ID columns of the manifest strictly, the target's marks first.
 */
struct LoadColumns {
	std::vector<std::size_t> loaded; /* indexes into the manifest's columns */
	std::string list;				 /* their names, quoted, for COPY */
	std::vector<core::RemapField> fields;
	std::vector<std::size_t> order; /* the canonical order of all the columns, for the checksum */
};

LoadColumns
LoadColumnsOf(const pg::Connection &target, const ManifestTable &table, const std::vector<core::RemapMark> &marks)
{
	LoadColumns out;
	std::vector<std::string> names;
	std::vector<core::ColumnRemap> remaps;
	for (std::size_t i = 0; i < table.columns.size(); i++) {
		const auto &column = table.columns[i];
		names.push_back(column.name);
		if (column.generated)
			continue;
		remaps.push_back({column.name, column.base_type,
						  core::ColumnMode(marks, table.schema, table.name, column.name, table.user_ids)});
		out.list += (out.loaded.empty() ? "" : ", ") + pg::QuoteIdentifier(target, column.name);
		out.loaded.push_back(i);
	}
	out.fields = core::RemapFieldsOf(remaps);
	out.order = core::CanonicalOrder(names);
	return out;
}

/* As the pull: TRUNCATE, or DELETE for a table other tables refer to; foreign keys checked at the end. */
void
EmptyTable(const pg::Connection &target, const std::string &qualified)
{
	pg::Result about = target.Exec("SELECT c.relkind, EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE "
								   "contype = 'f' AND confrelid = c.oid) FROM pg_catalog.pg_class c WHERE c.oid = "
								   "$1::regclass",
								   {qualified});
	/* a partitioned table holds no rows of its own: its partitions are emptied with it */
	target.Exec((about.Bool(0, 1) ? "DELETE FROM " : "TRUNCATE ") +
				core::ScanTarget(qualified, about.Text(0, 0).front()));
}

/* Foreign-key triggers off for the load (a cycle loads in any order); a role that may not (not a superuser)
 * loads with them on, as the pull does. Whether they are off. */
bool
ReplicaRoleForLoad(const pg::Connection &target)
{
	bool replica = true;
	target.Exec("SAVEPOINT cutover_replica");
	try {
		target.Exec("SET LOCAL session_replication_role = replica");
	} catch (const pg::Error &) {
		target.Exec("ROLLBACK TO SAVEPOINT cutover_replica");
		replica = false;
	}
	target.Exec("RELEASE SAVEPOINT cutover_replica");
	return replica;
}

/* The lines of a table's file turned into COPY lines: each checked, its row added to the checksum, its user
 * IDs rewritten. What is wrong is an ArchiveError naming the line. */
class RowConverter
{
  public:
	RowConverter(const ManifestTable &table, const std::string &path, const LoadColumns &columns,
				 const core::IdMap &map)
		: table_(table), path_(path), columns_(columns), rewriter_(map)
	{
	}
	/* Line `number` of the file appended to `data` as a COPY line. */
	void Convert(std::string_view line, long number, std::string &data);
	/* The rows against the manifest: their count, their checksum, the file's SHA-256. */
	void CheckTotals(long after, const std::string &sha256);
	[[noreturn]] void
	Refuse(long line, const std::string &what) const
	{
		throw ArchiveError(path_, line, table_.Qualified(), what);
	}

  private:
	void Rewrite(long number, std::string &data);

	const ManifestTable &table_;
	const std::string &path_;
	const LoadColumns &columns_;
	core::Rewriter rewriter_;
	Row row_;
	std::string error_, copy_line_;
	core::RowSink sink_;
	core::RowHashBatch batch_;
	core::Checksum checksum_;
};

void
RowConverter::Convert(std::string_view line, long number, std::string &data)
{
	std::size_t count = 0;
	if (!ParseJsonLine(line, row_, count, error_))
		Refuse(number, error_.find("changed after the export") != std::string::npos
						   ? error_
						   : "not a row of the archive: " + error_);
	if (count != table_.columns.size())
		Refuse(number, "the row has " + std::to_string(count) + " values, the table " +
						   std::to_string(table_.columns.size()) + " columns");
	core::AddToChecksum(row_, columns_.order, sink_, batch_, checksum_);
	copy_line_.clear();
	for (std::size_t i = 0; i < columns_.loaded.size(); i++) {
		if (i > 0)
			copy_line_.push_back('\t');
		AppendCopyField(copy_line_, row_[columns_.loaded[i]]);
	}
	if (columns_.fields.empty())
		data += copy_line_;
	else
		Rewrite(number, data);
	data.push_back('\n');
}

void
RowConverter::Rewrite(long number, std::string &data)
{
	core::RemapFailure failure;
	if (!core::RemapCopyLine(copy_line_, columns_.fields, rewriter_, data, failure))
		Refuse(number, "column " + failure.column + " " +
						   (failure.value.empty() ? failure.reason
												  : "holds user ID " + failure.value +
														(failure.path.empty() ? "" : " at " + failure.path) +
														", which " + failure.reason) +
						   "; create the user in Stack Auth first (cutover users) or import the archive's "
						   "id_map.json");
}

void
RowConverter::CheckTotals(long after, const std::string &sha256)
{
	batch_.Flush(checksum_);
	if (checksum_.rows != table_.rows)
		Refuse(after, "the file has " + std::to_string(checksum_.rows) + " rows and the manifest says " +
						  std::to_string(table_.rows) + ": rows are missing or were added");
	if (checksum_.Hex() != table_.checksum)
		Refuse(after, "the checksum of the rows is " + checksum_.Hex() + " and the manifest says " + table_.checksum +
						  ": the file or the manifest was changed after the export");
	if (sha256 != table_.sha256)
		Refuse(after, "the file's SHA-256 differs from the manifest's: it was changed after the export");
}

/* Every line of the file into the COPY the target waits on, then the file against the manifest as a whole. */
void
CopyFile(const pg::Connection &target, LineReader &reader, RowConverter &rows, Progress &progress)
{
	std::string data;
	std::string_view line;
	bool complete = true;
	long number = 0;
	while (reader.Next(line, complete)) {
		number++;
		if (!complete)
			rows.Refuse(number, "the last line has no newline: the file is cut short");
		rows.Convert(line, number, data);
		if (data.size() >= kFlushBytes)
			target.PutCopyData(data);
		if ((number & 0x3fff) == 0)
			progress.Add(0x4000);
	}
	progress.Add(static_cast<std::uint64_t>(number) & 0x3fff);
	rows.CheckTotals(number + 1, reader.Sha256Hex());
	target.PutCopyData(data);
}

/* What was loaded, verified by the target itself against the manifest (migrate_verify_checksum). */
void
VerifyLoaded(const pg::Connection &target, const ManifestTable &table, const std::string &qualified,
			 const std::string &path)
{
	pg::Result verified =
		target.Exec("SELECT ok, target_rows, target_checksum FROM "
					"migrate_verify_checksum($1::regclass, $2::bigint, $3, $4::text[])",
					{qualified, std::to_string(table.rows), table.checksum, pg::ArrayLiteral(table.user_ids)});
	if (!verified.Bool(0, 0))
		throw ArchiveError(path, 0, table.Qualified(),
						   "what was loaded does not verify against the manifest: " + verified.Text(0, 1) +
							   " rows, checksum " + verified.Text(0, 2) + "; the manifest says " +
							   std::to_string(table.rows) + " rows, checksum " + table.checksum);
}

} // namespace

Imported
LoadTable(const pg::Connection &target, const ManifestTable &table, const std::string &dir, const core::IdMap &map,
		  const std::vector<core::RemapMark> &marks, Progress &progress)
{
	std::string path = PathIn(dir, table.file);
	std::string qualified = pg::QuoteQualified(target, table.schema, table.name);
	if (AlreadyLoaded(target, table))
		return {"skipped", 0};
	LineReader reader = OpenTableFile(path, table.Qualified());
	LoadColumns columns = LoadColumnsOf(target, table, marks);
	RowConverter rows(table, path, columns, map);

	target.Exec("BEGIN");
	try {
		target.Exec("SELECT migrate_import_started($1::regclass)", {qualified});
		EmptyTable(target, qualified);
		bool replica = ReplicaRoleForLoad(target);
		target.StartCopy("COPY " + qualified + " (" + columns.list + ") FROM STDIN");
		CopyFile(target, reader, rows, progress);
		if (std::optional<std::string> refused = target.EndCopy())
			throw ArchiveError(path, 0, table.Qualified(), "the target refused the rows: " + *refused);
		if (replica)
			target.Exec("SET LOCAL session_replication_role = DEFAULT");
		VerifyLoaded(target, table, qualified, path);
		target.Exec("COMMIT");
	} catch (...) {
		/* a refused line leaves the COPY open: ended with an error, so the server discards it */
		if (target.Copying())
			target.AbortCopy("cutover import refused the archive");
		try {
			target.Exec("ROLLBACK");
		} catch (const pg::Error &) {
		}
		throw;
	}
	return {"verified", table.rows};
}

} // namespace cutover::archive
