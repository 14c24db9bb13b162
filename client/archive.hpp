/*
 * archive.hpp: cutover export (the source's tables into a directory of JSON files) and cutover import (those
 * files into the target, checked and verified table by table). See archive_export.cpp, archive_import.cpp and
 * client/README.md; archive.cpp holds what both read from a database.
 */
#pragma once

#include <string>
#include <vector>

#include "commands.hpp"
#include "core/plan.hpp"

namespace cutover {

/* Writes every planned table of the source to `dir` (created if missing; refused if it holds an archive). */
int RunExport(const Settings &settings, const std::string &dir);
/* Loads the archive in `dir` into the target, table by table, each verified against the manifest. */
int RunImport(const Settings &settings, const std::string &dir);

namespace archive {

/* The catalog of `schemas`; a schema the database lacks is refused, as the extension refuses it on the source. */
pgc::core::Catalog ReadCatalog(const pg::Connection &conn, const std::vector<std::string> &schemas);

/* Whether the pg_cutover extension is installed in the database. */
bool HasExtension(const pg::Connection &conn);

/* The marks of the target's cutover.remap_column. */
std::vector<pgc::core::RemapMark> ReadMarks(const pg::Connection &target);

} // namespace archive

} // namespace cutover
