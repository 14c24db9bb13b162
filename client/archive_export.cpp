/*
 * archive_export.cpp: cutover export. Every planned table of the source, read in one REPEATABLE READ READ
 * ONLY transaction under the fixed output settings of the checksum with COPY ... TO STDOUT, goes to a file of
 * JSON lines with its canonical checksum and SHA-256 taken on the way; then id_map.json (the target's ID map,
 * when the target is reachable) and manifest.json, which describes them all.
 */
#include "archive.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "archive_files.hpp"
#include "archive_format.hpp"
#include "archive_manifest.hpp"
#include "core/sql.hpp"
#include "output.hpp"

namespace cutover {

namespace {

using nlohmann::json;
namespace core = pgc::core;
using archive::FileWriter;
using archive::PathIn;

/* The directory of the archive: created if missing (not on a dry run); refused if it holds an archive. */
void
PrepareDirectory(const std::string &dir, bool dry_run)
{
	struct stat info;
	if (stat(dir.c_str(), &info) != 0) {
		if (!dry_run && mkdir(dir.c_str(), 0700) != 0)
			throw std::runtime_error("cannot create directory " + dir + ": " + std::strerror(errno));
	} else if (!S_ISDIR(info.st_mode)) {
		throw std::invalid_argument(dir + " is not a directory");
	} else if (stat(PathIn(dir, "manifest.json").c_str(), &info) == 0) {
		throw std::invalid_argument(dir + " already holds an archive (manifest.json): export into a new directory");
	}
}

/* What the target, when reachable, lends the export: its marks (columns holding user IDs without a foreign
 * key) and its ID map. */
struct TargetLoan {
	std::vector<core::RemapMark> marks;
	std::optional<pg::Result> id_map;
};

TargetLoan
BorrowFromTarget(const Settings &settings)
{
	TargetLoan loan;
	try {
		pg::Connection target = ConnectTarget(settings);
		if (archive::HasExtension(target)) {
			loan.marks = archive::ReadMarks(target);
			loan.id_map = target.Exec("SELECT source_id::text, target_id::text, email FROM cutover.id_map ORDER BY 1");
		}
	} catch (const pg::Error &error) {
		Out().Warn(std::string("no target to read the ID map and the marked columns from (") + error.what() +
				   "): user-ID columns come from foreign keys only, and the archive has no id_map.json");
	}
	return loan;
}

/* The sequences of the schemas, so the import can move them as migrate_fix_sequences moves them after a pull. */
json
ReadSequences(const pg::Connection &source, const std::vector<std::string> &schemas)
{
	pg::Result found =
		source.Exec("SELECT schemaname::text, sequencename::text, last_value FROM pg_catalog.pg_sequences "
					"WHERE schemaname = ANY ($1::text[]) AND last_value IS NOT NULL ORDER BY 1, 2",
					{pg::ArrayLiteral(schemas)});
	json sequences = json::array();
	for (int row = 0; row < found.Rows(); row++)
		sequences.push_back(
			{{"schema", found.Text(row, 0)}, {"name", found.Text(row, 1)}, {"last_value", found.Text(row, 2)}});
	return sequences;
}

std::string
NameOf(const core::PlanTable &table)
{
	return table.schema + "." + table.name;
}

/* The manifest's columns of a table: name, type, base type, generated. */
json
ColumnsJson(const core::PlanTable &table)
{
	json columns = json::array();
	for (const auto &column : table.columns)
		columns.push_back({{"name", column.name},
						   {"type", column.type},
						   {"base_type", column.base_type},
						   {"generated", column.generated}});
	return columns;
}

/* The manifest's user-ID columns of a table, each with its kind. */
json
UserIdsJson(const core::PlanTable &table, const core::TablePlan &plan)
{
	json user_ids = json::array();
	for (const auto &column : plan.user_ids) {
		std::string base;
		for (const auto &c : table.columns)
			if (c.name == column.column)
				base = c.base_type;
		user_ids.push_back({{"column", column.column}, {"kind", archive::KindName(core::ValueTypeOf(base))}});
	}
	return user_ids;
}

/* The COPY that reads a table's columns in their order, and its rows alone (ScanTarget). */
std::string
CopyOutSql(const pg::Connection &source, const core::PlanTable &table)
{
	std::string select;
	for (const auto &column : table.columns)
		select += (select.empty() ? "" : ", ") + pg::QuoteIdentifier(source, column.name);
	pg::Result kind = source.Exec("SELECT c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON "
								  "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
								  {table.schema, table.name});
	/* a table gone since the catalog was read is named as it is: COPY says it does not exist */
	char relkind = kind.Rows() > 0 ? kind.Text(0, 0).front() : 'r';
	return "COPY (SELECT " + (select.empty() ? std::string("FROM ") : select + " FROM ") +
		   core::ScanTarget(pg::QuoteQualified(source, table.schema, table.name), relkind) + ") TO STDOUT";
}

std::runtime_error
RowError(const core::PlanTable &table, std::uint64_t row, const std::string &what)
{
	return std::runtime_error("table " + NameOf(table) + ", row " + std::to_string(row) + what);
}

/* The rows of the COPY the source sends, each written to the file as a JSON line and added to the checksum;
 * returns how many. */
std::uint64_t
CopyToFile(const pg::Connection &source, const core::PlanTable &table, FileWriter &writer, core::Checksum &checksum,
		   Progress &progress)
{
	std::vector<std::string> names;
	for (const auto &column : table.columns)
		names.push_back(column.name);
	core::CopyChecksum rows_checksum(names);
	std::string error;
	std::uint64_t rows = 0;
	pg::CopyLine line;
	while (source.NextCopyLine(line)) {
		rows++;
		if (!rows_checksum.Add(line.text(), error))
			throw RowError(table, rows, ": " + error);
		if (!archive::AppendJsonLine(writer.buffer(), rows_checksum.Values(), names.size(), error))
			throw RowError(table, rows,
						   ", column " + names[std::stoul(error.substr(error.find("column ") + 7)) - 1] +
							   ": the value is not valid UTF-8, which JSON cannot hold");
		writer.MaybeFlush();
		if ((rows & 0x3fff) == 0)
			progress.Add(0x4000);
	}
	progress.Add(rows & 0x3fff);
	checksum = rows_checksum.Result();
	return rows;
}

struct ExportedTable {
	json entry;
	std::uint64_t rows = 0;
};

ExportedTable
ExportTable(const pg::Connection &source, const core::PlanTable &table, const core::TablePlan &plan,
			const std::string &dir, const std::string &file, Progress &progress)
{
	source.StartCopy(CopyOutSql(source, table));
	FileWriter writer(PathIn(dir, file), false);
	core::Checksum checksum;
	std::uint64_t rows = CopyToFile(source, table, writer, checksum, progress);
	std::string sha = writer.Close();

	ExportedTable out;
	out.rows = rows;
	out.entry = {{"schema", table.schema},
				 {"name", table.name},
				 {"file", file},
				 {"level", plan.level},
				 {"columns", ColumnsJson(table)},
				 {"user_id_columns", UserIdsJson(table, plan)},
				 {"rows", rows},
				 {"checksum", checksum.Hex()},
				 {"bytes", writer.bytes()},
				 {"sha256", sha}};
	return out;
}

/* What the export wrote: the manifest's entries, a summary of each table, the rows in all. */
struct Exported {
	std::vector<json> entries;
	json summary = json::array();
	std::uint64_t total = 0;
};

/* The rows the source's statistics expect, for the progress. */
std::uint64_t
EstimatedRows(const core::Catalog &catalog, const std::vector<core::TablePlan> &plan)
{
	std::uint64_t estimate = 0;
	for (const auto &table : plan)
		estimate +=
			static_cast<std::uint64_t>(std::max<std::int64_t>(0, catalog.tables[table.table].row_estimate.value_or(0)));
	return estimate;
}

/* Every table of the plan into its file, "0001-schema.name.jsonl" in the order of the plan. */
Exported
ExportTables(const pg::Connection &source, const core::Catalog &catalog, const std::vector<core::TablePlan> &plan,
			 const std::string &dir, Progress &progress, std::uint64_t estimate)
{
	Exported exported;
	for (std::size_t i = 0; i < plan.size(); i++) {
		const core::PlanTable &table = catalog.tables[plan[i].table];
		char prefix[32];
		std::snprintf(prefix, sizeof prefix, "%04zu-", i + 1);
		std::string file = prefix + archive::FileSafe(table.schema) + "." + archive::FileSafe(table.name) + ".jsonl";
		ExportedTable one = ExportTable(source, table, plan[i], dir, file, progress);
		exported.total += one.rows;
		if (estimate < exported.total)
			progress.SetTotal(exported.total);
		Out().Event("table exported", {{"table", NameOf(table)}, {"rows", one.rows}});
		exported.summary.push_back(
			{{"table", NameOf(table)}, {"rows", one.rows}, {"checksum", one.entry["checksum"]}, {"file", file}});
		exported.entries.push_back(std::move(one.entry));
	}
	return exported;
}

/* id_map.json: the target's ID map, one pair a line. */
void
WriteIdMap(const std::string &path, const pg::Result &id_map)
{
	FileWriter writer(path, false);
	std::string &out = writer.buffer();
	out = "[\n";
	for (int row = 0; row < id_map.Rows(); row++)
		out += json({{"source_id", id_map.Text(row, 0)},
					 {"target_id", id_map.Text(row, 1)},
					 {"email", id_map.IsNull(row, 2) ? json() : json(id_map.Text(row, 2))}})
				   .dump() +
			   (row + 1 < id_map.Rows() ? ",\n" : "\n");
	out += "]\n";
	writer.Close();
}

/* The manifest's header: the source (`about`: snapshot time, version, encoding), the schemas, the sequences. */
json
ManifestHeader(const pg::Result &about, const std::vector<std::string> &schemas, bool has_map, const json &sequences)
{
	return {{"format", "pg_cutover archive"},
			{"format_version", archive::kFormatVersion},
			{"source_server_version", about.Text(0, 1)},
			{"source_encoding", about.Text(0, 2)},
			{"snapshot_time", about.Text(0, 0)},
			{"schemas", schemas},
			{"id_map", has_map ? json("id_map.json") : json()},
			{"sequences", sequences},
			{"row_line", "[check of the rest of the line (16 hex digits), then each column's text output or null]"}};
}

void
ReportExport(const std::string &dir, const Exported &exported, bool has_map)
{
	std::ostringstream table;
	for (const auto &row : exported.summary)
		table << row.at("table").get<std::string>() << ": " << row.at("rows").get<std::uint64_t>() << " rows -> "
			  << row.at("file").get<std::string>() << "\n";
	table << "archive: " << dir << "/manifest.json, " << exported.entries.size() << " tables, " << exported.total
		  << " rows" << (has_map ? ", id_map.json" : "") << "\n";
	Out().Result({{"dir", dir}, {"tables", exported.summary}, {"rows", exported.total}, {"id_map", has_map}},
				 table.str());
}

/* The plan's problems as warnings; on a dry run, what the export would write. */
void
TellPlan(const core::Catalog &catalog, const std::vector<core::TablePlan> &plan, bool dry_run)
{
	for (const auto &table : plan)
		for (const auto &problem : table.problems)
			Out().Warn("table " + NameOf(catalog.tables[table.table]) + ": " + problem);
	if (dry_run)
		for (const auto &table : plan)
			Out().Info("dry run: would export " + NameOf(catalog.tables[table.table]) + " (level " +
					   std::to_string(table.level) + ")");
}

} // namespace

int
RunExport(const Settings &settings, const std::string &dir)
{
	PrepareDirectory(dir, settings.dry_run);
	pg::Connection source = ConnectSource(settings);
	TargetLoan loan = BorrowFromTarget(settings);

	source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	source.Exec(core::FixedSettingsSql() + "SET LOCAL extra_float_digits = 3;");
	pg::Result about = source.Exec("SELECT pg_catalog.now()::text, pg_catalog.current_setting('server_version'), "
								   "pg_catalog.current_setting('server_encoding')");
	core::Catalog catalog = archive::ReadCatalog(source, settings.schemas);
	json sequences = ReadSequences(source, settings.schemas);
	std::vector<core::TablePlan> plan = core::PlanLoad(catalog.tables, catalog.keys, loan.marks);
	TellPlan(catalog, plan, settings.dry_run);
	if (settings.dry_run) {
		source.Exec("COMMIT");
		return kExitOk;
	}

	std::uint64_t estimate = EstimatedRows(catalog, plan);
	Progress progress("export", estimate, "rows");
	Exported exported = ExportTables(source, catalog, plan, dir, progress, estimate);
	source.Exec("COMMIT");
	progress.Finish();

	bool has_map = loan.id_map.has_value();
	if (has_map)
		WriteIdMap(PathIn(dir, "id_map.json"), *loan.id_map);
	archive::WriteManifest(PathIn(dir, "manifest.json"), ManifestHeader(about, settings.schemas, has_map, sequences),
						   exported.entries);
	ReportExport(dir, exported, has_map);
	return kExitOk;
}

} // namespace cutover
