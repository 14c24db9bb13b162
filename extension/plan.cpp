/*
 * plan.cpp: migrate_plan() reads the source's catalogs over libpq and plans the load: each table's level in
 * the foreign-key graph, its cycle, its user-ID columns and any problem. Planned tables without a state get
 * a pending one in cutover.table_state.
 */
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/plan.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

using namespace pgc;

/*
 * migrate_plan(schemas text[] default '{public}') -> setof (table_name, level, row_estimate, user_id_columns,
 * cycle, load, problem)
 */
PGC_FUNCTION(migrate_plan)
{
	std::vector<std::string> schemas = SchemasArgument(fcinfo, 0);
	SourceConnection source = SourceConnection::Open();
	core::Catalog catalog = ReadSourceCatalog(source, schemas);

	/* The extension's own tables are read and written as its owner, whoever was granted the plan. */
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	std::vector<core::TablePlan> plans = core::PlanLoad(catalog.tables, catalog.keys, ReadRemapMarks(spi));
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		spi.Execute("INSERT INTO cutover.table_state (table_schema, table_name) VALUES ($1, $2) "
					"ON CONFLICT (table_schema, table_name) DO NOTHING",
					false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
	}

	pg::ResultSet result(fcinfo);
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		std::vector<std::string> user_ids;
		for (const auto &column : plan.user_ids)
			user_ids.push_back(column.column + " -> " + column.reason);
		std::string problem;
		for (const auto &line : plan.problems)
			problem += (problem.empty() ? "" : "; ") + line;

		Datum values[7];
		bool nulls[7] = {false, false, false, false, false, false, problem.empty()};
		values[0] = pg::TextDatum(pg::QuoteIdentifier(table.schema) + "." + pg::QuoteIdentifier(table.name));
		values[1] = Int32GetDatum(plan.level);
		nulls[2] = !table.row_estimate.has_value();
		values[2] = Int64GetDatum(table.row_estimate.value_or(0));
		values[3] = pg::TextArrayDatum(user_ids);
		values[4] = pg::TextArrayDatum(plan.cycle);
		values[5] = pg::TextDatum(plan.load);
		values[6] = problem.empty() ? Datum(0) : pg::TextDatum(problem);
		result.Add(values, nulls);
	}
	return Datum(0);
}
