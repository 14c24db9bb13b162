/*
 * archive_import.cpp: cutover import. Each table of the manifest, checked against the target's catalog, is
 * loaded in one transaction of its own (archive_load.cpp); a table refused is recorded and the others go on.
 * The pairs of id_map.json the target lacks are recorded first, the sequences set to the source's values
 * last, and the foreign keys checked over everything loaded.
 */
#include "archive.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "archive_files.hpp"
#include "archive_load.hpp"
#include "archive_manifest.hpp"
#include "output.hpp"

namespace cutover {

namespace {

using nlohmann::json;
namespace core = pgc::core;
using archive::ArchiveError;
using archive::Field;
using archive::Manifest;
using archive::ManifestTable;
using archive::PathIn;

/* The target's table for a manifest entry must have the same columns with the same types. */
void
CheckTargetTable(const core::Catalog &target, const ManifestTable &table, const std::string &manifest_path)
{
	const core::PlanTable *found = nullptr;
	for (const auto &candidate : target.tables)
		if (candidate.schema == table.schema && candidate.name == table.name)
			found = &candidate;
	if (found == nullptr)
		throw ArchiveError(manifest_path, table.line, table.Qualified(), "the target has no such table");
	std::string problems;
	for (const auto &column : table.columns) {
		const core::PlanColumn *there = nullptr;
		for (const auto &candidate : found->columns)
			if (candidate.name == column.name)
				there = &candidate;
		if (there == nullptr)
			problems += (problems.empty() ? "" : "; ") + ("column " + column.name + " is not on the target");
		else if (there->type != column.type)
			problems += (problems.empty() ? "" : "; ") + ("column " + column.name + " is " + column.type +
														  " in the archive but " + there->type + " on the target");
		else if (there->generated != column.generated)
			problems += (problems.empty() ? "" : "; ") + ("column " + column.name + " is generated on one side only");
	}
	for (const auto &candidate : found->columns)
		if (std::none_of(table.columns.begin(), table.columns.end(),
						 [&](const core::PlanColumn &column) { return column.name == candidate.name; }))
			problems += (problems.empty() ? "" : "; ") + ("column " + candidate.name + " is not in the archive");
	if (!problems.empty())
		throw ArchiveError(manifest_path, table.line, table.Qualified(),
						   "the manifest does not match the target's table: " + problems);
}

/* The table's file must be there, as the manifest's line names it. */
void
RequireTableFile(const std::string &dir, const ManifestTable &table)
{
	struct stat info;
	if (stat(PathIn(dir, table.file).c_str(), &info) != 0)
		throw ArchiveError(PathIn(dir, table.file), 0, table.Qualified(),
						   std::string("missing (") + std::strerror(errno) + "), named on line " +
							   std::to_string(table.line) + " of manifest.json");
}

core::IdMap
ReadIdMap(const pg::Connection &target)
{
	pg::Result rows = target.Exec("SELECT source_id::text, target_id::text FROM cutover.id_map");
	core::IdMap map;
	map.reserve(static_cast<std::size_t>(rows.Rows()));
	for (int row = 0; row < rows.Rows(); row++)
		map.Add(rows.Text(row, 0), rows.Text(row, 1));
	return map;
}

/* The pairs of id_map.json, parsed. */
json
ReadIdMapFile(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ArchiveError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
	json pairs;
	try {
		pairs = json::parse(in);
	} catch (const json::parse_error &error) {
		throw ArchiveError(path, 0, "", std::string("not JSON: ") + error.what());
	}
	if (!pairs.is_array())
		throw ArchiveError(path, 1, "", "not a list of ID pairs");
	return pairs;
}

/* Records the pairs of id_map.json the target does not have yet (migrate_map_put refuses a conflicting pair). */
int
ImportIdMap(const pg::Connection &target, const std::string &path)
{
	json pairs = ReadIdMapFile(path);
	int added = 0;
	target.Exec("BEGIN");
	for (std::size_t i = 0; i < pairs.size(); i++) {
		int line = static_cast<int>(i) + 2;
		std::string source_id = Field<std::string>(pairs[i], "source_id", path, line, "");
		std::string target_id = Field<std::string>(pairs[i], "target_id", path, line, "");
		std::optional<std::string> email;
		if (pairs[i].contains("email") && pairs[i]["email"].is_string())
			email = pairs[i]["email"].get<std::string>();
		try {
			pg::Result put =
				target.Exec("SELECT migrate_map_put($1::uuid, $2::uuid, $3)", {source_id, target_id, email});
			added += put.Bool(0, 0) ? 1 : 0;
		} catch (const pg::Error &error) {
			target.Exec("ROLLBACK");
			throw ArchiveError(path, line, "", error.what());
		}
	}
	target.Exec("COMMIT");
	return added;
}

/* The archive's id_map.json, when it has one, into the target's ID map (not on a dry run). */
void
RecordArchiveIdMap(const pg::Connection &target, const Manifest &manifest, const std::string &dir, bool dry_run)
{
	if (!manifest.header.contains("id_map") || !manifest.header["id_map"].is_string())
		return;
	std::string map_path = PathIn(dir, manifest.header["id_map"].get<std::string>());
	if (dry_run)
		Out().Info("dry run: would record the pairs of " + map_path + " the target does not have");
	else
		Out().Info("ID map: " + std::to_string(ImportIdMap(target, map_path)) + " pairs recorded from " + map_path);
}

/* What the import tells at its end: each table's result, the text table, the count of problems. */
struct ImportReport {
	json results = json::array();
	std::ostringstream out;
	int failed = 0;

	void
	Problem(const std::string &name, const std::string &status, const std::string &label, const std::string &message)
	{
		failed++;
		Out().Error(message);
		results.push_back({{"table", name}, {"status", status}, {"error", message}});
		out << name << ": " << label << "\n";
	}
};

/* The table's failure recorded on the target (migrate_import_failed), when the target can take it. */
void
RecordFailure(const pg::Connection &target, const std::string &sql, const pg::Params &params)
{
	try {
		target.Exec(sql, params);
	} catch (const pg::Error &) {
	}
}

/* What every table's import reads once. */
struct ImportRun {
	const Settings &settings;
	const std::string &dir;
	const pg::Connection &target;
	std::string manifest_path;
	core::IdMap map;
	std::vector<core::RemapMark> marks;
	core::Catalog catalog;
};

/* One table of the archive into the target; a refusal or a failure reported and recorded, the others go on. */
void
ImportOne(const ImportRun &run, const ManifestTable &table, Progress &progress, ImportReport &report)
{
	std::string name = table.Qualified();
	try {
		CheckTargetTable(run.catalog, table, run.manifest_path);
		RequireTableFile(run.dir, table);
		if (run.settings.dry_run) {
			Out().Info("dry run: would import " + name + " (" + std::to_string(table.rows) + " rows)");
			return;
		}
		archive::Imported imported = archive::LoadTable(run.target, table, run.dir, run.map, run.marks, progress);
		report.results.push_back({{"table", name}, {"status", imported.status}, {"rows", imported.rows}});
		report.out << name << ": " << imported.status << ", " << imported.rows << " rows\n";
		Out().Event("table imported", report.results.back());
	} catch (const ArchiveError &error) {
		std::string message = std::string(error.what()) + ". Nothing of the table was loaded.";
		report.Problem(name, "refused", "REFUSED", message);
		RecordFailure(run.target,
					  "SELECT migrate_import_failed(c.oid, $3) FROM pg_catalog.pg_class c JOIN "
					  "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
					  "c.relname = $2",
					  {table.schema, table.name, message});
	} catch (const pg::Error &error) {
		std::string message = "table " + name + ": " + error.what() +
							  (error.detail().empty() ? "" : " (" + error.detail() + ")") +
							  ". Nothing of the table was loaded.";
		report.Problem(name, "failed", "FAILED", message);
		if (error.sqlstate().rfind("08", 0) == 0)
			throw;
		RecordFailure(run.target, "SELECT migrate_import_failed($1::regclass, $2)",
					  {pg::QuoteQualified(run.target, table.schema, table.name), message});
	}
}

/* The sequences of the archive set to the source's values; one the target lacks is left out. */
void
SetSequences(const pg::Connection &target, const Manifest &manifest, const std::string &manifest_path)
{
	int moved = 0;
	for (const auto &sequence : manifest.header.value("sequences", json::array())) {
		std::string schema = Field<std::string>(sequence, "schema", manifest_path, 1, "");
		std::string name = Field<std::string>(sequence, "name", manifest_path, 1, "");
		std::string value = Field<std::string>(sequence, "last_value", manifest_path, 1, "");
		std::string qualified = pg::QuoteQualified(target, schema, name);
		if (target.Exec("SELECT pg_catalog.to_regclass($1)", {qualified}).IsNull(0, 0)) {
			Out().Warn("sequence " + schema + "." + name + " of the archive is not on the target: left out");
			continue;
		}
		target.Exec("SELECT pg_catalog.setval($1::regclass, $2::bigint)", {qualified, value});
		moved++;
	}
	Out().Info("sequences set to the source's values: " + std::to_string(moved));
}

/* The foreign keys checked over everything loaded, then the result; the exit code. */
int
ReportImport(const pg::Connection &target, const Manifest &manifest, ImportReport &report)
{
	pg::Result fks =
		target.Exec("SELECT * FROM migrate_check_fks($1::text[]) WHERE NOT ok", {pg::ArrayLiteral(manifest.schemas)});
	if (fks.Rows() > 0) {
		report.out << "\n" << fks.Rows() << " foreign keys violated after the import\n";
		report.failed++;
	}
	Out().Result({{"tables", report.results}, {"foreign_key_violations", fks.Rows()}}, report.out.str());
	if (report.failed > 0) {
		Out().Error(std::to_string(report.failed) + " problems: see above; fix the archive and run the import again "
													"(loaded tables are not loaded twice)");
		return kExitProblem;
	}
	return kExitOk;
}

std::uint64_t
TotalRows(const Manifest &manifest)
{
	std::uint64_t total_rows = 0;
	for (const auto &table : manifest.tables)
		total_rows += static_cast<std::uint64_t>(std::max<std::int64_t>(0, table.rows));
	return total_rows;
}

} // namespace

int
RunImport(const Settings &settings, const std::string &dir)
{
	Manifest manifest = archive::ReadManifest(dir);
	pg::Connection target = ConnectTarget(settings);
	if (!archive::HasExtension(target))
		throw pg::Error("55000", "the pg_cutover extension is not installed in the target database", "",
						"Run `cutover init`, or CREATE EXTENSION pg_cutover CASCADE as a superuser.");
	RecordArchiveIdMap(target, manifest, dir, settings.dry_run);
	/* (a braced list is evaluated in order: the ID map, the marks, then the catalog) */
	ImportRun run{settings,
				  dir,
				  target,
				  PathIn(dir, "manifest.json"),
				  ReadIdMap(target),
				  archive::ReadMarks(target),
				  archive::ReadCatalog(target, manifest.schemas)};

	Progress progress("import", TotalRows(manifest), "rows");
	ImportReport report;
	for (const auto &table : manifest.tables)
		ImportOne(run, table, progress, report);
	progress.Finish();
	if (settings.dry_run)
		return kExitOk;
	SetSequences(target, manifest, run.manifest_path);
	return ReportImport(target, manifest, report);
}

} // namespace cutover
