/*
 * archive_manifest.cpp: manifest.json written by the export, one table per line, and read back by the import,
 * every field checked and every table's line found, so that an error can name it.
 */
#include "archive_manifest.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "archive_files.hpp"
#include "archive_format.hpp"

namespace cutover::archive {

namespace {

using nlohmann::json;
namespace core = pgc::core;

/* The type of a kind the manifest names; none for a kind that cannot be a user-ID column. */
core::ValueType
KindOfName(const std::string &name)
{
	core::ValueType type = core::ValueTypeOf(name);
	return core::HoldsWholeIds(type) && KindName(type) == name ? type : core::ValueType();
}

/* The manifest's text, parsed, its format and version checked. */
json
ParseManifest(const std::string &path, const std::string &text)
{
	json parsed;
	try {
		parsed = json::parse(text);
	} catch (const json::parse_error &error) {
		throw ArchiveError(path, 0, "", std::string("not JSON: ") + error.what());
	}
	if (!parsed.is_object() || parsed.value("format", "") != "pg_cutover archive")
		throw ArchiveError(path, 1, "", "not the manifest of a pg_cutover archive");
	int version = Field<int>(parsed, "format_version", path, 1, "");
	if (version != kFormatVersion)
		throw ArchiveError(path, 1, "",
						   "format version " + std::to_string(version) + ", and this cutover reads version " +
							   std::to_string(kFormatVersion) + " only");
	return parsed;
}

/* The line of each table: the line whose object names it, as WriteManifest writes them. */
std::map<std::pair<std::string, std::string>, int>
TableLines(const std::string &text)
{
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
	return lines;
}

/* The columns of a table's entry, and its user-ID columns, each of a kind this cutover knows. */
void
ReadColumns(const json &entry, const std::string &path, ManifestTable &table)
{
	std::string name = table.Qualified();
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
}

/* One table's entry of the manifest, on the line `lines` found for it. */
ManifestTable
ReadTable(const json &entry, const std::string &path, const std::map<std::pair<std::string, std::string>, int> &lines)
{
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
	ReadColumns(entry, path, table);
	return table;
}

} // namespace

std::string
KindName(core::ValueType type)
{
	std::string name = type.element == core::ValueClass::Uuid ? "uuid" : "text";
	return type.array ? name + "[]" : name;
}

Manifest
ReadManifest(const std::string &dir)
{
	std::string path = PathIn(dir, "manifest.json");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ArchiveError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
	std::stringstream whole;
	whole << in.rdbuf();
	std::string text = whole.str();
	Manifest manifest;
	json parsed = ParseManifest(path, text);
	manifest.schemas = parsed.value("schemas", std::vector<std::string>{"public"});
	std::map<std::pair<std::string, std::string>, int> lines = TableLines(text);
	if (!parsed.contains("tables") || !parsed["tables"].is_array())
		throw ArchiveError(path, 0, "", "no list of tables");
	for (const auto &entry : parsed["tables"])
		manifest.tables.push_back(ReadTable(entry, path, lines));
	parsed.erase("tables");
	manifest.header = parsed;
	return manifest;
}

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

} // namespace cutover::archive
