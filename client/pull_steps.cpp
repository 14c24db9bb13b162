/*
 * pull_steps.cpp: before and after the pulls of `cutover pull` (pull_steps.hpp).
 */
#include "pull_steps.hpp"

#include <sstream>

#include "output.hpp"
#include "result_rows.hpp"
#include "text.hpp"

namespace cutover {

using nlohmann::json;

void
CheckPullable(const std::vector<PlannedTable> &plan)
{
	for (const auto &table : plan)
		if (!table.problem.empty())
			throw pg::Error("55000", "table " + table.name + " cannot be pulled: " + table.problem, "",
							"`cutover plan` shows every problem; fix them first.");
}

void
ShowDryRun(const std::vector<PlannedTable> &plan)
{
	json planned = json::array();
	std::string text;
	for (const auto &table : plan) {
		std::uint64_t rows = EstimatedRows(table);
		planned.push_back({{"table", table.name}, {"status", "would pull"}, {"rows", rows}, {"seconds", nullptr}});
		text += "dry run: would pull " + table.name + " (level " + std::to_string(table.level) + ", about " +
				Thousands(rows) + " rows)\n";
	}
	Out().Result({{"tables", planned}, {"sequences", json::array()}, {"foreign_key_violations", json::array()}}, text);
}

int
FixSequencesAndCheckKeys(const pg::Connection &target, const Settings &settings, const std::vector<json> &results)
{
	pg::Result sequences =
		target.Exec("SELECT * FROM migrate_fix_sequences($1::text[])", {pg::ArrayLiteral(settings.schemas)});
	Out().Info("sequences moved past the loaded rows: " + std::to_string(sequences.Rows()));
	pg::Result fks =
		target.Exec("SELECT * FROM migrate_check_fks($1::text[]) WHERE NOT ok", {pg::ArrayLiteral(settings.schemas)});
	json out = {{"tables", results}, {"sequences", RowsJson(sequences)}, {"foreign_key_violations", RowsJson(fks)}};
	std::ostringstream table;
	for (const auto &result : results)
		table << result.at("table").get<std::string>() << ": " << result.at("status").get<std::string>() << ", "
			  << result.at("rows").dump() << " rows in " << result.at("seconds").dump() << " s\n";
	if (fks.Rows() > 0)
		table << "\nforeign keys violated after the load:\n" << RowsTable(fks);
	Out().Result(out, table.str());
	if (fks.Rows() > 0) {
		Out().Error(std::to_string(fks.Rows()) + " foreign keys are violated after the load");
		return kExitProblem;
	}
	return kExitOk;
}

void
RecordPullFailure(pg::Connection &target, const std::string &table, const std::string &error)
{
	try {
		target.Exec("SELECT migrate_import_failed($1::regclass, $2)", {table, error});
	} catch (const std::exception &problem) {
		Out().Warn("the failure of " + table + " could not be written to its state: " + problem.what());
	}
}

std::uint64_t
TotalRows(const std::vector<PlannedTable> &plan)
{
	std::uint64_t total_rows = 0;
	for (const auto &table : plan)
		total_rows += EstimatedRows(table);
	return total_rows;
}

} // namespace cutover
