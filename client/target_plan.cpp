/*
 * target_plan.cpp: the extension checked in the target, and the plan read from it (migrate_plan).
 */
#include "target_plan.hpp"

#include <algorithm>
#include <optional>

namespace cutover {

void
CheckExtension(const pg::Connection &target)
{
	pg::Result found = target.Exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_cutover'");
	if (found.Rows() == 0)
		throw pg::Error("55000", "the pg_cutover extension is not installed in the target database", "",
						"Run `cutover init`, or CREATE EXTENSION pg_cutover CASCADE as a superuser.");
}

std::vector<PlannedTable>
ReadPlan(const pg::Connection &target, const Settings &settings)
{
	/* the order and the problems only: no sample of the rows (sample_rows 0) */
	pg::Result plan = target.Exec("SELECT table_name, level, coalesce(row_estimate, 0), coalesce(problem, '') "
								  "FROM migrate_plan($1::text[], 0) ORDER BY level, table_name",
								  {pg::ArrayLiteral(settings.schemas)});
	std::vector<PlannedTable> tables;
	for (int row = 0; row < plan.Rows(); row++)
		tables.push_back({plan.Text(row, 0), static_cast<int>(plan.Int(row, 1)), plan.Int(row, 2), plan.Text(row, 3)});
	return tables;
}

std::uint64_t
EstimatedRows(const PlannedTable &table)
{
	return static_cast<std::uint64_t>(std::max(0LL, table.estimate));
}

} // namespace cutover
