/*
 * pull_steps.hpp: what `cutover pull` does before and after its pulls (pull_steps.cpp): the plan checked, the
 * dry run shown, then the sequences moved and the foreign keys checked.
 */
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "commands.hpp"
#include "pg.hpp"
#include "target_plan.hpp"

namespace cutover {

/* Every table's problem stops the pull before it starts. */
void CheckPullable(const std::vector<PlannedTable> &plan);

/* --dry-run: the tables in the order they would be pulled, with their estimates. */
void ShowDryRun(const std::vector<PlannedTable> &plan);

/* After the load: the sequences moved past the loaded rows, the foreign keys checked; the exit code. */
int FixSequencesAndCheckKeys(const pg::Connection &target, const Settings &settings,
							 const std::vector<nlohmann::json> &results);

} // namespace cutover
