/*
 * pull_steps.hpp: what `cutover pull` does before and after its pulls (pull_steps.cpp): the plan checked, the
 * dry run shown, a failure recorded, then the sequences moved and the foreign keys checked.
 */
#pragma once

#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pg.hpp"
#include "target_plan.hpp"

namespace cutover {

/* Every table's problem stops the pull before it starts. */
void CheckPullable(const std::vector<PlannedTable> &plan);

/* --dry-run: the tables in the order they would be pulled, with their estimates. */
void ShowDryRun(const std::vector<PlannedTable> &plan);

/*
 * A failed pull rolled back with its transaction, the state row's `loading` included: the table's state is
 * set to failed, with the error, in a transaction of its own, so that `cutover status` and migrate_status()
 * say what happened. A target that went away (a crashed backend restarts every session) cannot take it.
 */
void RecordPullFailure(pg::Connection &target, const std::string &table, const std::string &error);

/* The rows of every planned table by the plan's estimates. */
std::uint64_t TotalRows(const std::vector<PlannedTable> &plan);

/* After the load: the sequences moved past the loaded rows, the foreign keys checked; the exit code. */
int FixSequencesAndCheckKeys(const pg::Connection &target, const Settings &settings,
							 const std::vector<nlohmann::json> &results);

} // namespace cutover
