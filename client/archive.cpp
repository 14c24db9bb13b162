/*
 * archive.cpp: cutover export and cutover import, the archive of JSON files for a move without a network
 * path between source and target.
 *
 * Export reads every planned table of the source in one REPEATABLE READ READ ONLY transaction, under the
 * fixed output settings of the checksum, with COPY ... TO STDOUT, and writes each row as one JSON line
 * (archive_format.hpp) while it computes the table's canonical checksum and the file's SHA-256 on the way:
 * memory holds one buffer, whatever the size of the table. manifest.json describes the archive: one table
 * per line, so that an error can name the line. The ID map of the target, when reachable, goes to
 * id_map.json.
 *
 * Import loads each table in one transaction on the target: state loading, the table emptied, COPY FROM
 * STDIN with the user IDs rewritten from the target's ID map (as the pull rewrites them), every line checked
 * against its own check, then the row count, checksum and SHA-256 against the manifest, then
 * migrate_verify_checksum over what was loaded. Any mismatch rolls the table back and names the file, the
 * line and the table.
 */
#include "archive.hpp"

#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "archive_format.hpp"
#include "core/copy_text.hpp"
#include "core/remap.hpp"
#include "core/plan.hpp"
#include "core/sql.hpp"
#include "output.hpp"
#include "sha256.hpp"

namespace cutover {

namespace {

using nlohmann::json;
namespace core = pgc::core;

constexpr std::size_t kFlushBytes = 1 << 20;

/* A PGresult that frees itself, for the COPY calls pg::Connection does not wrap. */
class RawResult
{
  public:
	explicit RawResult(PGresult *result) : result_(result) {}
	~RawResult()
	{
		if (result_ != nullptr)
			PQclear(result_);
	}
	RawResult(const RawResult &) = delete;
	RawResult &operator=(const RawResult &) = delete;
	PGresult *
	raw() const
	{
		return result_;
	}

  private:
	PGresult *result_;
};

/* The kind of a user-ID column in the manifest: its type's name as far as user IDs go ("uuid", "text[]"). */
std::string
KindName(core::ValueType type)
{
	std::string name = type.element == core::ValueClass::Uuid ? "uuid" : "text";
	return type.array ? name + "[]" : name;
}

/* The type of a kind the manifest names; none for a kind that cannot be a user-ID column. */
core::ValueType
KindOfName(const std::string &name)
{
	core::ValueType type = core::ValueTypeOf(name);
	return core::HoldsWholeIds(type) && KindName(type) == name ? type : core::ValueType();
}

/* The marks of the target's cutover.remap_column. */
std::vector<core::RemapMark>
ReadMarks(const pg::Connection &target)
{
	std::vector<core::RemapMark> marks;
	pg::Result rows = target.Exec("SELECT table_schema, table_name, column_name, mode FROM cutover.remap_column");
	for (int row = 0; row < rows.Rows(); row++) {
		core::RemapMode mode = core::RemapMode::Strict;
		core::RemapModeOfName(rows.Text(row, 3), mode);
		marks.push_back({rows.Text(row, 0), rows.Text(row, 1), rows.Text(row, 2), mode});
	}
	return marks;
}

/* A file written through one buffer, its SHA-256 taken on the way. */
class FileWriter
{
  public:
	/* `exclusive`: fail when the file exists (the manifest); a table file left by an export that stopped is
	 * written over. */
	FileWriter(const std::string &path, bool exclusive)
		: path_(path), file_(std::fopen(path.c_str(), exclusive ? "wbx" : "wb"), &std::fclose)
	{
		if (!file_)
			throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
		buffer_.reserve(kFlushBytes + (64 << 10));
	}
	std::string &
	buffer()
	{
		return buffer_;
	}
	void
	MaybeFlush()
	{
		if (buffer_.size() >= kFlushBytes)
			Flush();
	}
	void
	Flush()
	{
		sha_.Update(buffer_.data(), buffer_.size());
		if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size())
			throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
		bytes_ += buffer_.size();
		buffer_.clear();
	}
	/* Flushes, closes (checking the close) and returns the SHA-256. Not synced to disk: the archive is copied
	 * somewhere else anyway, and the import checks every byte. */
	std::string
	Close()
	{
		Flush();
		FILE *file = file_.release();
		if (std::fflush(file) != 0 || std::fclose(file) != 0)
			throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
		return sha_.Hex();
	}
	std::uint64_t
	bytes() const
	{
		return bytes_;
	}

  private:
	std::string path_;
	std::unique_ptr<FILE, decltype(&std::fclose)> file_;
	std::string buffer_;
	Sha256 sha_;
	std::uint64_t bytes_ = 0;
};

/* A file's lines, read through one buffer, its SHA-256 taken on the way. A last line without its newline is
 * returned too, marked. */
class LineReader
{
  public:
	explicit LineReader(const std::string &path) : path_(path), file_(std::fopen(path.c_str(), "rb"), &std::fclose)
	{
		if (!file_)
			throw std::runtime_error(std::strerror(errno));
		buffer_.resize(kFlushBytes);
	}
	/* The next line without its newline; false at the end. */
	bool
	Next(std::string_view &line, bool &complete)
	{
		for (;;) {
			const char *start = buffer_.data() + begin_;
			const void *newline = std::memchr(start, '\n', end_ - begin_);
			if (newline != nullptr) {
				std::size_t len = static_cast<const char *>(newline) - start;
				line = std::string_view(start, len);
				begin_ += len + 1;
				complete = true;
				return true;
			}
			if (eof_) {
				if (begin_ == end_)
					return false;
				line = std::string_view(start, end_ - begin_);
				begin_ = end_;
				complete = false;
				return true;
			}
			/* keep the partial line, read more after it */
			std::memmove(buffer_.data(), start, end_ - begin_);
			end_ -= begin_;
			begin_ = 0;
			if (end_ == buffer_.size())
				buffer_.resize(buffer_.size() * 2);
			std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_.get());
			if (got == 0) {
				if (std::ferror(file_.get()))
					throw std::runtime_error(std::string("cannot read: ") + std::strerror(errno));
				eof_ = true;
			}
			sha_.Update(buffer_.data() + end_, got);
			end_ += got;
		}
	}
	std::string
	Sha256Hex()
	{
		return sha_.Hex();
	}

  private:
	std::string path_;
	std::unique_ptr<FILE, decltype(&std::fclose)> file_;
	std::string buffer_;
	std::size_t begin_ = 0, end_ = 0;
	bool eof_ = false;
	Sha256 sha_;
};

std::string
SchemasLiteral(const std::vector<std::string> &schemas)
{
	return pg::ArrayLiteral(std::vector<std::optional<std::string>>(schemas.begin(), schemas.end()));
}

core::TextRows
TextRowsOf(const pg::Result &result)
{
	core::TextRows rows;
	for (int row = 0; row < result.Rows(); row++) {
		std::vector<std::optional<std::string>> fields;
		for (int column = 0; column < result.Columns(); column++)
			fields.push_back(result.Optional(row, column));
		rows.push_back(std::move(fields));
	}
	return rows;
}

/* The catalog of `schemas`; a schema the database lacks is refused, as the extension refuses it on the source. */
core::Catalog
ReadCatalog(const pg::Connection &conn, const std::vector<std::string> &schemas)
{
	pg::Result missing = conn.Exec(core::MissingSchemasSql(), {SchemasLiteral(schemas)});
	if (missing.Rows() > 0)
		throw std::invalid_argument("schema \"" + missing.Text(0, 0) + "\" does not exist on the " + conn.what() +
									"\nhint: Schema names are case-sensitive and given without quotes (--schema).");
	pg::Result tables = conn.Exec(core::CatalogTablesSql(), {SchemasLiteral(schemas)});
	pg::Result keys = conn.Exec(core::CatalogKeysSql());
	return core::BuildCatalog(TextRowsOf(tables), TextRowsOf(keys));
}

bool
HasExtension(const pg::Connection &conn)
{
	return conn.Exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cutover'").Rows() > 0;
}

/* A name that is safe as part of a file name: letters, digits, '.', '_' and '-' kept, the rest '_'. */
std::string
FileSafe(const std::string &name)
{
	std::string out;
	for (unsigned char c : name)
		out.push_back((std::isalnum(c) != 0 && c < 0x80) || c == '_' || c == '-' ? static_cast<char>(c) : '_');
	return out;
}

std::string
Join(const std::string &dir, const std::string &file)
{
	return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

struct ExportedTable {
	json entry;
	std::uint64_t rows = 0;
};

ExportedTable
ExportTable(const pg::Connection &source, const core::PlanTable &table, const core::TablePlan &plan,
			const std::string &dir, const std::string &file, Progress &progress)
{
	std::vector<std::string> names;
	std::string select;
	json columns = json::array();
	for (const auto &column : table.columns) {
		select += (names.empty() ? "" : ", ") + pg::QuoteIdentifier(source, column.name);
		names.push_back(column.name);
		columns.push_back({{"name", column.name},
						   {"type", column.type},
						   {"base_type", column.base_type},
						   {"generated", column.generated}});
	}
	json user_ids = json::array();
	for (const auto &column : plan.user_ids) {
		std::string base;
		for (const auto &c : table.columns)
			if (c.name == column.column)
				base = c.base_type;
		user_ids.push_back({{"column", column.column}, {"kind", KindName(core::ValueTypeOf(base))}});
	}
	std::string qualified = pg::QuoteIdentifier(source, table.schema) + "." + pg::QuoteIdentifier(source, table.name);
	pg::Result kind = source.Exec("SELECT c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON "
								  "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
								  {table.schema, table.name});
	bool partitioned = kind.Rows() > 0 && kind.Text(0, 0) == "p";
	std::string sql = "COPY (SELECT " + (select.empty() ? std::string("FROM ") : select + " FROM ") +
					  (partitioned ? "" : "ONLY ") + qualified + ") TO STDOUT";

	RawResult started(PQexec(source.raw(), sql.c_str()));
	if (PQresultStatus(started.raw()) != PGRES_COPY_OUT)
		source.Exec(sql); /* throws the server's error */

	FileWriter writer(Join(dir, file), false);
	std::vector<std::size_t> order = archive::CanonicalOrder(names);
	archive::Row row;
	core::RowSink sink;
	core::RowHashBatch batch;
	core::Checksum checksum;
	std::string error;
	std::uint64_t rows = 0;
	for (;;) {
		char *buffer = nullptr;
		int len = PQgetCopyData(source.raw(), &buffer, 0);
		if (len == -1)
			break;
		if (len < 0)
			source.Exec("SELECT 1"); /* the connection's error */
		std::string_view line(buffer, static_cast<std::size_t>(len));
		if (!line.empty() && line.back() == '\n')
			line.remove_suffix(1);
		std::size_t count = 0;
		bool ok = archive::ParseCopyLine(line, row, count, error);
		PQfreemem(buffer);
		rows++;
		if (!ok)
			throw std::runtime_error("table " + table.schema + "." + table.name + ", row " + std::to_string(rows) +
									 ": cannot read COPY's line: " + error);
		if (names.empty())
			count = 0;
		if (count != names.size())
			throw std::runtime_error("table " + table.schema + "." + table.name + ", row " + std::to_string(rows) +
									 ": COPY sent " + std::to_string(count) + " values for " +
									 std::to_string(names.size()) + " columns");
		archive::AddToChecksum(row, order, sink, batch, checksum);
		if (!archive::AppendJsonLine(writer.buffer(), row, count, error))
			throw std::runtime_error("table " + table.schema + "." + table.name + ", row " + std::to_string(rows) +
									 ", column " + names[std::stoul(error.substr(error.find("column ") + 7)) - 1] +
									 ": the value is not valid UTF-8, which JSON cannot hold");
		writer.MaybeFlush();
		if ((rows & 0x3fff) == 0)
			progress.Add(0x4000);
	}
	progress.Add(rows & 0x3fff);
	RawResult finished(PQgetResult(source.raw()));
	if (PQresultStatus(finished.raw()) != PGRES_COMMAND_OK)
		source.Exec(sql);
	while (PGresult *more = PQgetResult(source.raw()))
		PQclear(more);
	std::string sha = writer.Close();
	batch.Flush(checksum);

	ExportedTable out;
	out.rows = rows;
	out.entry = {{"schema", table.schema}, {"name", table.name},		 {"file", file},
				 {"level", plan.level},	   {"columns", columns},		 {"user_id_columns", user_ids},
				 {"rows", rows},		   {"checksum", checksum.Hex()}, {"bytes", writer.bytes()},
				 {"sha256", sha}};
	return out;
}

/* The manifest: the header on the first line, then one table per line, so that each table has a line. */
void
WriteManifest(const std::string &path, const json &header, const std::vector<json> &tables)
{
	std::string text = header.dump();
	text.pop_back(); /* the closing brace: the tables come before it */
	text += ",\"tables\":[\n";
	for (std::size_t i = 0; i < tables.size(); i++)
		text += tables[i].dump() + (i + 1 < tables.size() ? ",\n" : "\n");
	text += "]}\n";
	FileWriter writer(path, true);
	writer.buffer() = text;
	writer.Close();
}

} // namespace

int
RunExport(const Settings &settings, const std::string &dir)
{
	struct stat info;
	if (stat(dir.c_str(), &info) != 0) {
		if (!settings.dry_run && mkdir(dir.c_str(), 0700) != 0)
			throw std::runtime_error("cannot create directory " + dir + ": " + std::strerror(errno));
	} else if (!S_ISDIR(info.st_mode)) {
		throw std::invalid_argument(dir + " is not a directory");
	} else if (stat(Join(dir, "manifest.json").c_str(), &info) == 0) {
		throw std::invalid_argument(dir + " already holds an archive (manifest.json): export into a new directory");
	}

	pg::Connection source = ConnectSource(settings);
	/* The target, when reachable, lends its marks (columns holding user IDs without a foreign key) and its ID
	 * map. */
	std::vector<core::RemapMark> marks;
	std::optional<pg::Result> id_map;
	try {
		pg::Connection target = ConnectTarget(settings);
		if (HasExtension(target)) {
			marks = ReadMarks(target);
			id_map = target.Exec("SELECT source_id::text, target_id::text, email FROM cutover.id_map ORDER BY 1");
		}
	} catch (const pg::Error &error) {
		Out().Warn(std::string("no target to read the ID map and the marked columns from (") + error.what() +
				   "): user-ID columns come from foreign keys only, and the archive has no id_map.json");
	}

	source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	source.Exec(core::FixedSettingsSql() + "SET LOCAL extra_float_digits = 3;");
	pg::Result about = source.Exec("SELECT pg_catalog.now()::text, pg_catalog.current_setting('server_version'), "
								   "pg_catalog.current_setting('server_encoding')");
	core::Catalog catalog = ReadCatalog(source, settings.schemas);
	/* the sequences of the schemas, so the import can move them as migrate_fix_sequences moves them after a pull */
	pg::Result sequences_found =
		source.Exec("SELECT schemaname::text, sequencename::text, last_value FROM pg_catalog.pg_sequences "
					"WHERE schemaname = ANY ($1::text[]) AND last_value IS NOT NULL ORDER BY 1, 2",
					{SchemasLiteral(settings.schemas)});
	json sequences = json::array();
	for (int row = 0; row < sequences_found.Rows(); row++)
		sequences.push_back({{"schema", sequences_found.Text(row, 0)},
							 {"name", sequences_found.Text(row, 1)},
							 {"last_value", sequences_found.Text(row, 2)}});
	std::vector<core::TablePlan> plan = core::PlanLoad(catalog.tables, catalog.keys, marks);
	for (const auto &table : plan)
		for (const auto &problem : table.problems)
			Out().Warn("table " + catalog.tables[table.table].schema + "." + catalog.tables[table.table].name + ": " +
					   problem);

	if (settings.dry_run) {
		for (const auto &table : plan)
			Out().Info("dry run: would export " + catalog.tables[table.table].schema + "." +
					   catalog.tables[table.table].name + " (level " + std::to_string(table.level) + ")");
		source.Exec("COMMIT");
		return kExitOk;
	}

	std::uint64_t estimate = 0;
	for (const auto &table : plan)
		estimate +=
			static_cast<std::uint64_t>(std::max<std::int64_t>(0, catalog.tables[table.table].row_estimate.value_or(0)));
	Progress progress("export", estimate, "rows");
	std::vector<json> entries;
	std::uint64_t total = 0;
	json summary = json::array();
	for (std::size_t i = 0; i < plan.size(); i++) {
		const core::PlanTable &table = catalog.tables[plan[i].table];
		char prefix[32];
		std::snprintf(prefix, sizeof prefix, "%04zu-", i + 1);
		std::string file = prefix + FileSafe(table.schema) + "." + FileSafe(table.name) + ".jsonl";
		ExportedTable exported = ExportTable(source, table, plan[i], dir, file, progress);
		total += exported.rows;
		if (estimate < total)
			progress.SetTotal(total);
		Out().Event("table exported", {{"table", table.schema + "." + table.name}, {"rows", exported.rows}});
		summary.push_back({{"table", table.schema + "." + table.name},
						   {"rows", exported.rows},
						   {"checksum", exported.entry["checksum"]},
						   {"file", file}});
		entries.push_back(std::move(exported.entry));
	}
	source.Exec("COMMIT");
	progress.Finish();

	bool has_map = id_map.has_value();
	if (has_map) {
		FileWriter writer(Join(dir, "id_map.json"), false);
		std::string &out = writer.buffer();
		out = "[\n";
		for (int row = 0; row < id_map->Rows(); row++)
			out += json({{"source_id", id_map->Text(row, 0)},
						 {"target_id", id_map->Text(row, 1)},
						 {"email", id_map->IsNull(row, 2) ? json() : json(id_map->Text(row, 2))}})
					   .dump() +
				   (row + 1 < id_map->Rows() ? ",\n" : "\n");
		out += "]\n";
		writer.Close();
	}
	json header = {
		{"format", "pg_cutover archive"},
		{"format_version", archive::kFormatVersion},
		{"source_server_version", about.Text(0, 1)},
		{"source_encoding", about.Text(0, 2)},
		{"snapshot_time", about.Text(0, 0)},
		{"schemas", settings.schemas},
		{"id_map", has_map ? json("id_map.json") : json()},
		{"sequences", sequences},
		{"row_line", "[check of the rest of the line (16 hex digits), then each column's text output or null]"}};
	WriteManifest(Join(dir, "manifest.json"), header, entries);

	std::ostringstream table;
	for (const auto &row : summary)
		table << row.at("table").get<std::string>() << ": " << row.at("rows").get<std::uint64_t>() << " rows -> "
			  << row.at("file").get<std::string>() << "\n";
	table << "archive: " << dir << "/manifest.json, " << entries.size() << " tables, " << total << " rows"
		  << (has_map ? ", id_map.json" : "") << "\n";
	Out().Result({{"dir", dir}, {"tables", summary}, {"rows", total}, {"id_map", has_map}}, table.str());
	return kExitOk;
}

namespace {

/* What the manifest says of one table, and the line it is on. */
struct ManifestTable {
	std::string schema, name, file, checksum, sha256;
	std::int64_t rows = 0;
	int line = 0;
	std::vector<core::PlanColumn> columns;
	std::vector<std::string> user_ids; /* the user-ID columns (foreign keys and marks of the export's target) */
	std::string
	Qualified() const
	{
		return schema + "." + name;
	}
};

struct Manifest {
	json header;
	std::vector<ManifestTable> tables;
	std::vector<std::string> schemas;
};

/* An archive refused: the file, the line, the table and what is wrong. */
class ArchiveError : public std::runtime_error
{
  public:
	ArchiveError(const std::string &file, long line, const std::string &table, const std::string &what)
		: std::runtime_error("archive file " + file + (line > 0 ? ", line " + std::to_string(line) : "") +
							 (table.empty() ? "" : ", table " + table) + ": " + what)
	{
	}
};

template <typename T>
T
Field(const json &object, const char *key, const std::string &file, int line, const std::string &table)
{
	auto found = object.find(key);
	if (found == object.end())
		throw ArchiveError(file, line, table, std::string("no \"") + key + "\"");
	try {
		return found->get<T>();
	} catch (const json::exception &) {
		throw ArchiveError(file, line, table, std::string("\"") + key + "\" has the wrong type");
	}
}

Manifest
ReadManifest(const std::string &dir)
{
	std::string path = Join(dir, "manifest.json");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ArchiveError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
	std::stringstream whole;
	whole << in.rdbuf();
	std::string text = whole.str();
	Manifest manifest;
	json parsed;
	try {
		parsed = json::parse(text);
	} catch (const json::parse_error &error) {
		throw ArchiveError(path, 0, "", std::string("not JSON: ") + error.what());
	}
	if (!parsed.is_object() || parsed.value("format", "") != "pg_cutover archive")
		throw ArchiveError(path, 1, "", "not the manifest of a pg_cutover archive");
	int version = Field<int>(parsed, "format_version", path, 1, "");
	if (version != archive::kFormatVersion)
		throw ArchiveError(path, 1, "",
						   "format version " + std::to_string(version) + ", and this cutover reads version " +
							   std::to_string(archive::kFormatVersion) + " only");
	manifest.schemas = parsed.value("schemas", std::vector<std::string>{"public"});

	/* the line of each table: the line whose object names it, as WriteManifest writes them */
	std::map<std::pair<std::string, std::string>, int> lines;
	std::istringstream by_line(text);
	std::string line_text;
	for (int line = 1; std::getline(by_line, line_text); line++) {
		while (!line_text.empty() && (line_text.back() == ',' || line_text.back() == '\r'))
			line_text.pop_back();
		if (line_text.empty() || line_text.front() != '{')
			continue;
		json object = json::parse(line_text, nullptr, false);
		if (object.is_object() && object.contains("schema") && object.contains("name") &&
			object["schema"].is_string() && object["name"].is_string())
			lines.emplace(std::make_pair(object["schema"].get<std::string>(), object["name"].get<std::string>()), line);
	}

	if (!parsed.contains("tables") || !parsed["tables"].is_array())
		throw ArchiveError(path, 0, "", "no list of tables");
	for (const auto &entry : parsed["tables"]) {
		ManifestTable table;
		table.schema = Field<std::string>(entry, "schema", path, 0, "");
		table.name = Field<std::string>(entry, "name", path, 0, "");
		auto found = lines.find({table.schema, table.name});
		table.line = found == lines.end() ? 0 : found->second;
		std::string name = table.Qualified();
		table.file = Field<std::string>(entry, "file", path, table.line, name);
		if (table.file.find('/') != std::string::npos || table.file == ".." || table.file.empty())
			throw ArchiveError(path, table.line, name, "file \"" + table.file + "\" is not a file of the archive");
		table.rows = Field<std::int64_t>(entry, "rows", path, table.line, name);
		table.checksum = Field<std::string>(entry, "checksum", path, table.line, name);
		table.sha256 = Field<std::string>(entry, "sha256", path, table.line, name);
		for (const auto &column : Field<json>(entry, "columns", path, table.line, name)) {
			core::PlanColumn c;
			c.name = Field<std::string>(column, "name", path, table.line, name);
			c.type = Field<std::string>(column, "type", path, table.line, name);
			c.base_type = column.value("base_type", c.type);
			c.generated = column.value("generated", false);
			table.columns.push_back(c);
		}
		for (const auto &column : entry.value("user_id_columns", json::array())) {
			std::string column_name = Field<std::string>(column, "column", path, table.line, name);
			std::string kind = Field<std::string>(column, "kind", path, table.line, name);
			if (KindOfName(kind).element == core::ValueClass::None)
				throw ArchiveError(path, table.line, name,
								   "column " + column_name + " holds user IDs of an unknown kind \"" + kind + "\"");
			table.user_ids.push_back(column_name);
		}
		manifest.tables.push_back(std::move(table));
	}
	parsed.erase("tables");
	manifest.header = parsed;
	return manifest;
}

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

/* Records the pairs of id_map.json the target does not have yet (migrate_map_put refuses a conflicting pair). */
int
ImportIdMap(const pg::Connection &target, const std::string &path)
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

struct Imported {
	std::string status;
	std::int64_t rows = 0;
};

/* Sends the buffered COPY data. */
void
PutCopyData(const pg::Connection &target, std::string &data)
{
	if (!data.empty() && PQputCopyData(target.raw(), data.data(), static_cast<int>(data.size())) != 1)
		target.Exec("SELECT 1"); /* the connection's error */
	data.clear();
}

/* Ends the COPY with an error, so the server discards it, and rolls the transaction back. */
void
AbortCopy(const pg::Connection &target)
{
	PQputCopyEnd(target.raw(), "cutover import refused the archive");
	while (PGresult *result = PQgetResult(target.raw()))
		PQclear(result);
}

Imported
ImportTable(const pg::Connection &target, const ManifestTable &table, const std::string &dir, const core::IdMap &map,
			const std::vector<core::RemapMark> &marks, Progress &progress)
{
	std::string path = Join(dir, table.file);
	std::string name = table.Qualified();
	std::string qualified = pg::QuoteIdentifier(target, table.schema) + "." + pg::QuoteIdentifier(target, table.name);

	pg::Result state = target.Exec("SELECT status FROM cutover.table_state WHERE table_schema = $1 AND table_name = $2",
								   {table.schema, table.name});
	if (state.Rows() > 0 && (state.Text(0, 0) == "loaded" || state.Text(0, 0) == "verified"))
		return {"skipped", 0};

	LineReader reader = [&] {
		try {
			return LineReader(path);
		} catch (const std::runtime_error &error) {
			throw ArchiveError(path, 0, name, std::string("cannot open: ") + error.what());
		}
	}();

	/*
	 * The loaded columns (generated ones are computed by the target), each that can hold a user ID rewritten by
	 * value as the pull does: user-ID columns of the manifest strictly, the target's marks first.
	 */
	std::vector<std::string> names;
	std::vector<std::size_t> loaded;
	std::vector<core::ColumnRemap> remaps;
	std::string column_list;
	for (std::size_t i = 0; i < table.columns.size(); i++) {
		const auto &column = table.columns[i];
		names.push_back(column.name);
		if (column.generated)
			continue;
		remaps.push_back({column.name, column.base_type,
						  core::ColumnMode(marks, table.schema, table.name, column.name, table.user_ids)});
		column_list += (loaded.empty() ? "" : ", ") + pg::QuoteIdentifier(target, column.name);
		loaded.push_back(i);
	}
	std::vector<core::RemapField> fields = core::RemapFieldsOf(remaps);
	core::Rewriter rewriter(map);
	std::vector<std::size_t> order = archive::CanonicalOrder(names);

	target.Exec("BEGIN");
	try {
		target.Exec("SELECT migrate_import_started($1::regclass)", {qualified});
		/* as the pull: TRUNCATE, or DELETE for a table other tables refer to; foreign keys checked at the end */
		pg::Result about = target.Exec("SELECT c.relkind = 'p', EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE "
									   "contype = 'f' AND confrelid = c.oid) FROM pg_catalog.pg_class c WHERE c.oid = "
									   "$1::regclass",
									   {qualified});
		/* a partitioned table holds no rows of its own: its partitions are emptied with it */
		std::string only = about.Bool(0, 0) ? "" : "ONLY ";
		target.Exec((about.Bool(0, 1) ? "DELETE FROM " : "TRUNCATE ") + only + qualified);
		/* foreign-key triggers off for the load (a cycle loads in any order); a role that may not (not a superuser)
		 * loads with them on, as the pull does */
		bool replica = true;
		target.Exec("SAVEPOINT cutover_replica");
		try {
			target.Exec("SET LOCAL session_replication_role = replica");
		} catch (const pg::Error &) {
			target.Exec("ROLLBACK TO SAVEPOINT cutover_replica");
			replica = false;
		}
		target.Exec("RELEASE SAVEPOINT cutover_replica");
		std::string copy = "COPY " + qualified + " (" + column_list + ") FROM STDIN";
		RawResult started(PQexec(target.raw(), copy.c_str()));
		if (PQresultStatus(started.raw()) != PGRES_COPY_IN)
			target.Exec(copy); /* throws the server's error */

		archive::Row row;
		std::string error, data, copy_line;
		core::RowSink sink;
		core::RowHashBatch batch;
		core::Checksum checksum;
		std::string_view line;
		bool complete = true;
		long number = 0;
		auto refuse = [&](long at, const std::string &what) {
			AbortCopy(target);
			throw ArchiveError(path, at, name, what);
		};
		while (reader.Next(line, complete)) {
			number++;
			std::size_t count = 0;
			if (!complete)
				refuse(number, "the last line has no newline: the file is cut short");
			if (!archive::ParseJsonLine(line, row, count, error))
				refuse(number, error.find("changed after the export") != std::string::npos
								   ? error
								   : "not a row of the archive: " + error);
			if (count != table.columns.size())
				refuse(number, "the row has " + std::to_string(count) + " values, the table " +
								   std::to_string(table.columns.size()) + " columns");
			archive::AddToChecksum(row, order, sink, batch, checksum);
			copy_line.clear();
			for (std::size_t i = 0; i < loaded.size(); i++) {
				if (i > 0)
					copy_line.push_back('\t');
				archive::AppendCopyField(copy_line, row[loaded[i]]);
			}
			if (fields.empty()) {
				data += copy_line;
			} else {
				core::RemapFailure failure;
				if (!core::RemapCopyLine(copy_line, fields, rewriter, data, failure))
					refuse(number,
						   "column " + failure.column + " " +
							   (failure.value.empty() ? failure.reason
													  : "holds user ID " + failure.value +
															(failure.path.empty() ? "" : " at " + failure.path) +
															", which " + failure.reason) +
							   "; create the user in Stack Auth first (cutover users) or import the archive's "
							   "id_map.json");
			}
			data.push_back('\n');
			if (data.size() >= kFlushBytes)
				PutCopyData(target, data);
			if ((number & 0x3fff) == 0)
				progress.Add(0x4000);
		}
		progress.Add(static_cast<std::uint64_t>(number) & 0x3fff);
		batch.Flush(checksum);
		if (checksum.rows != table.rows)
			refuse(number + 1, "the file has " + std::to_string(checksum.rows) + " rows and the manifest says " +
								   std::to_string(table.rows) + ": rows are missing or were added");
		if (checksum.Hex() != table.checksum)
			refuse(number + 1, "the checksum of the rows is " + checksum.Hex() + " and the manifest says " +
								   table.checksum + ": the file or the manifest was changed after the export");
		if (reader.Sha256Hex() != table.sha256)
			refuse(number + 1, "the file's SHA-256 differs from the manifest's: it was changed after the export");
		PutCopyData(target, data);
		if (PQputCopyEnd(target.raw(), nullptr) != 1)
			target.Exec("SELECT 1");
		RawResult copied(PQgetResult(target.raw()));
		if (PQresultStatus(copied.raw()) != PGRES_COMMAND_OK) {
			std::string message = PQresultErrorMessage(copied.raw());
			while (PGresult *more = PQgetResult(target.raw()))
				PQclear(more);
			throw ArchiveError(path, 0, name, "the target refused the rows: " + message);
		}
		while (PGresult *more = PQgetResult(target.raw()))
			PQclear(more);
		if (replica)
			target.Exec("SET LOCAL session_replication_role = DEFAULT");

		std::vector<std::optional<std::string>> user_id_names(table.user_ids.begin(), table.user_ids.end());
		pg::Result verified =
			target.Exec("SELECT ok, target_rows, target_checksum FROM "
						"migrate_verify_checksum($1::regclass, $2::bigint, $3, $4::text[])",
						{qualified, std::to_string(table.rows), table.checksum, pg::ArrayLiteral(user_id_names)});
		if (!verified.Bool(0, 0))
			throw ArchiveError(path, 0, name,
							   "what was loaded does not verify against the manifest: " + verified.Text(0, 1) +
								   " rows, checksum " + verified.Text(0, 2) + "; the manifest says " +
								   std::to_string(table.rows) + " rows, checksum " + table.checksum);
		target.Exec("COMMIT");
	} catch (...) {
		if (PQtransactionStatus(target.raw()) == PQTRANS_ACTIVE)
			AbortCopy(target);
		try {
			target.Exec("ROLLBACK");
		} catch (const pg::Error &) {
		}
		throw;
	}
	return {"verified", table.rows};
}

} // namespace

int
RunImport(const Settings &settings, const std::string &dir)
{
	Manifest manifest = ReadManifest(dir);
	std::string manifest_path = Join(dir, "manifest.json");
	pg::Connection target = ConnectTarget(settings);
	if (!HasExtension(target))
		throw pg::Error("55000", "the pg_cutover extension is not installed in the target database", "",
						"Run `cutover init`, or CREATE EXTENSION pg_cutover CASCADE as a superuser.");

	if (manifest.header.contains("id_map") && manifest.header["id_map"].is_string()) {
		std::string map_path = Join(dir, manifest.header["id_map"].get<std::string>());
		if (settings.dry_run)
			Out().Info("dry run: would record the pairs of " + map_path + " the target does not have");
		else
			Out().Info("ID map: " + std::to_string(ImportIdMap(target, map_path)) + " pairs recorded from " + map_path);
	}
	core::IdMap map = ReadIdMap(target);
	std::vector<core::RemapMark> marks = ReadMarks(target);
	core::Catalog catalog = ReadCatalog(target, manifest.schemas);

	std::uint64_t total_rows = 0;
	for (const auto &table : manifest.tables)
		total_rows += static_cast<std::uint64_t>(std::max<std::int64_t>(0, table.rows));
	Progress progress("import", total_rows, "rows");
	json results = json::array();
	std::ostringstream out;
	int failed = 0;
	for (const auto &table : manifest.tables) {
		std::string name = table.Qualified();
		try {
			CheckTargetTable(catalog, table, manifest_path);
			struct stat info;
			if (stat(Join(dir, table.file).c_str(), &info) != 0)
				throw ArchiveError(Join(dir, table.file), 0, name,
								   std::string("missing (") + std::strerror(errno) + "), named on line " +
									   std::to_string(table.line) + " of manifest.json");
			if (settings.dry_run) {
				Out().Info("dry run: would import " + name + " (" + std::to_string(table.rows) + " rows)");
				continue;
			}
			Imported imported = ImportTable(target, table, dir, map, marks, progress);
			results.push_back({{"table", name}, {"status", imported.status}, {"rows", imported.rows}});
			out << name << ": " << imported.status << ", " << imported.rows << " rows\n";
			Out().Event("table imported", results.back());
		} catch (const ArchiveError &error) {
			failed++;
			std::string message = std::string(error.what()) + ". Nothing of the table was loaded.";
			Out().Error(message);
			results.push_back({{"table", name}, {"status", "refused"}, {"error", message}});
			out << name << ": REFUSED\n";
			try {
				target.Exec("SELECT migrate_import_failed(c.oid, $3) FROM pg_catalog.pg_class c JOIN "
							"pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
							"c.relname = $2",
							{table.schema, table.name, message});
			} catch (const pg::Error &) {
			}
		} catch (const pg::Error &error) {
			failed++;
			std::string message = "table " + name + ": " + error.what() +
								  (error.detail().empty() ? "" : " (" + error.detail() + ")") +
								  ". Nothing of the table was loaded.";
			Out().Error(message);
			results.push_back({{"table", name}, {"status", "failed"}, {"error", message}});
			out << name << ": FAILED\n";
			if (error.sqlstate().rfind("08", 0) == 0)
				throw;
			try {
				target.Exec("SELECT migrate_import_failed($1::regclass, $2)",
							{pg::QuoteIdentifier(target, table.schema) + "." + pg::QuoteIdentifier(target, table.name),
							 message});
			} catch (const pg::Error &) {
			}
		}
	}
	progress.Finish();
	if (settings.dry_run)
		return kExitOk;
	int moved = 0;
	for (const auto &sequence : manifest.header.value("sequences", json::array())) {
		std::string schema = Field<std::string>(sequence, "schema", manifest_path, 1, "");
		std::string name = Field<std::string>(sequence, "name", manifest_path, 1, "");
		std::string value = Field<std::string>(sequence, "last_value", manifest_path, 1, "");
		std::string qualified = pg::QuoteIdentifier(target, schema) + "." + pg::QuoteIdentifier(target, name);
		if (target.Exec("SELECT pg_catalog.to_regclass($1)", {qualified}).IsNull(0, 0)) {
			Out().Warn("sequence " + schema + "." + name + " of the archive is not on the target: left out");
			continue;
		}
		target.Exec("SELECT pg_catalog.setval($1::regclass, $2::bigint)", {qualified, value});
		moved++;
	}
	Out().Info("sequences set to the source's values: " + std::to_string(moved));
	pg::Result fks =
		target.Exec("SELECT * FROM migrate_check_fks($1::text[]) WHERE NOT ok", {SchemasLiteral(manifest.schemas)});
	if (fks.Rows() > 0) {
		out << "\n" << fks.Rows() << " foreign keys violated after the import\n";
		failed++;
	}
	Out().Result({{"tables", results}, {"foreign_key_violations", fks.Rows()}}, out.str());
	if (failed > 0) {
		Out().Error(std::to_string(failed) + " problems: see above; fix the archive and run the import again "
											 "(loaded tables are not loaded twice)");
		return kExitProblem;
	}
	return kExitOk;
}

} // namespace cutover
