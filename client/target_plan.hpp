/*
 * target_plan.hpp: what the commands that drive the extension first read of the target (target_plan.cpp):
 * the extension there, and the planned tables in load order.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pg.hpp"

namespace cutover {

/* The extension must be there, and at a version this client knows. */
void CheckExtension(const pg::Connection &target);

struct PlannedTable {
	std::string name;
	int level = 0;
	long long estimate = 0;
	std::string problem;
};

/* The planned tables by level, then name, with their row estimates and problems (migrate_plan). */
std::vector<PlannedTable> ReadPlan(const pg::Connection &target, const Settings &settings);

/* The table's row estimate, 0 when the planner has none. */
std::uint64_t EstimatedRows(const PlannedTable &table);

} // namespace cutover
