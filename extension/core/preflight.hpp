/*
 * preflight.hpp: source and target compared before anything is written: tables and columns present on one
 * side only, types, NOT NULL and generated columns that differ. Pure C++ over two catalogs.
 */
#pragma once

#include <string>
#include <vector>

#include "core/plan.hpp"

namespace pgc::core {

struct Mismatch {
	std::string table;		 /* schema.name, quoted where needed by the caller's quoting */
	std::string column;		 /* empty for a whole table */
	std::string source_type; /* empty where the source has no such table or column */
	std::string target_type; /* empty where the target has no such table or column */
	std::string problem;
	bool error = true; /* an error stops the pull; a warning does not */
};

/*
 * Compares the planned tables of both catalogs, table by table in name order and column by column in the
 * source's column order. `quote` renders an identifier for the messages.
 */
std::vector<Mismatch> ComparePreflight(const Catalog &source, const Catalog &target,
									   std::string (*quote)(const std::string &));

} // namespace pgc::core
