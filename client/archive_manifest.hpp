/*
 * archive_manifest.hpp: manifest.json, which describes an archive: its header (the source, the snapshot, the
 * schemas, the sequences, id_map.json) and one table per line, so that an error can name the line; and the
 * error that refuses an archive, naming the file, the line and the table.
 */
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/plan.hpp"
#include "core/user_ids.hpp"

namespace cutover::archive {

/* The kind of a user-ID column in the manifest: its type's name as far as user IDs go ("uuid", "text[]"). */
std::string KindName(pgc::core::ValueType type);

/* What the manifest says of one table, and the line it is on. */
struct ManifestTable {
	std::string schema, name, file, checksum, sha256;
	std::int64_t rows = 0;
	int line = 0;
	std::vector<pgc::core::PlanColumn> columns;
	std::vector<std::string> user_ids; /* the user-ID columns (foreign keys and marks of the export's target) */
	std::string
	Qualified() const
	{
		return schema + "." + name;
	}
};

struct Manifest {
	nlohmann::json header;
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

/* The field `key` of a JSON object of the archive; an ArchiveError when it is missing or of another type. */
template <typename T>
T
Field(const nlohmann::json &object, const char *key, const std::string &file, int line, const std::string &table)
{
	auto found = object.find(key);
	if (found == object.end())
		throw ArchiveError(file, line, table, std::string("no \"") + key + "\"");
	try {
		return found->get<T>();
	} catch (const nlohmann::json::exception &) {
		throw ArchiveError(file, line, table, std::string("\"") + key + "\" has the wrong type");
	}
}

/* The manifest of the archive in `dir`, checked: its format, its version, every table's fields. */
Manifest ReadManifest(const std::string &dir);

/* Writes the manifest: the header on the first line, then one table per line, so that each table has a line. */
void WriteManifest(const std::string &path, const nlohmann::json &header, const std::vector<nlohmann::json> &tables);

} // namespace cutover::archive
