/*
 * archive.cpp: what cutover export and cutover import both read from a database: the catalog (through the
 * extension's own SQL texts of core/plan.hpp), whether the extension is there, and the marked columns.
 *
 * Export reads every planned table of the source in one REPEATABLE READ READ ONLY transaction, under the
 * fixed output settings of the checksum, with COPY ... TO STDOUT, and writes each row as one JSON line
 * (archive_format.hpp) while it computes the table's canonical checksum and the file's SHA-256 on the way:
 * memory holds one buffer, whatever the size of the table (archive_export.cpp). manifest.json describes the
 * archive: one table per line, so that an error can name the line (archive_manifest.cpp). The ID map of the
 * target, when reachable, goes to id_map.json.
 *
 * Import loads each table in one transaction on the target: state loading, the table emptied, COPY FROM
 * STDIN with the user IDs rewritten from the target's ID map (as the pull rewrites them), every line checked
 * against its own check, then the row count, checksum and SHA-256 against the manifest, then
 * migrate_verify_checksum over what was loaded (archive_import.cpp). Any mismatch rolls the table back and
 * names the file, the line and the table.
 */
#include "archive.hpp"

#include <optional>
#include <stdexcept>

namespace cutover::archive {

namespace core = pgc::core;

namespace {

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

} // namespace

core::Catalog
ReadCatalog(const pg::Connection &conn, const std::vector<std::string> &schemas)
{
	pg::Result missing = conn.Exec(core::MissingSchemasSql(), {pg::ArrayLiteral(schemas)});
	if (missing.Rows() > 0)
		throw std::invalid_argument("schema \"" + missing.Text(0, 0) + "\" does not exist on the " + conn.what() +
									"\nhint: Schema names are case-sensitive and given without quotes (--schema).");
	pg::Result tables = conn.Exec(core::CatalogTablesSql(), {pg::ArrayLiteral(schemas)});
	pg::Result keys = conn.Exec(core::CatalogKeysSql());
	return core::BuildCatalog(TextRowsOf(tables), TextRowsOf(keys));
}

bool
HasExtension(const pg::Connection &conn)
{
	return conn.Exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cutover'").Rows() > 0;
}

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

} // namespace cutover::archive
