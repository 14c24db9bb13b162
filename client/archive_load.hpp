/*
 * archive_load.hpp: one table of an archive loaded into the target in one transaction, every line checked,
 * the rows against the manifest and what was loaded verified by the target itself.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive_manifest.hpp"
#include "core/id_map.hpp"
#include "output.hpp"
#include "pg.hpp"

namespace cutover::archive {

struct Imported {
	std::string status; /* "verified", or "skipped" for a table an earlier import loaded */
	std::int64_t rows = 0;
};

/*
 * Loads the table's file of the archive in `dir`: state loading, the table emptied, COPY FROM STDIN with the
 * user IDs rewritten from `map` (as the pull rewrites them), then migrate_verify_checksum. Anything wrong
 * rolls the table back: an ArchiveError names the file, the line and the table.
 */
Imported LoadTable(const pg::Connection &target, const ManifestTable &table, const std::string &dir,
				   const pgc::core::IdMap &map, const std::vector<pgc::core::RemapMark> &marks, Progress &progress);

} // namespace cutover::archive
