/*
 * preflight.cpp: the schema comparison behind migrate_preflight.
 */
#include "core/preflight.hpp"

#include <map>
#include <utility>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

using TableKey = std::pair<std::string, std::string>;

std::map<TableKey, const PlanTable *>
PlannedTables(const Catalog &catalog)
{
	std::map<TableKey, const PlanTable *> tables;
	for (const auto &table : catalog.tables)
		if (table.planned)
			tables[{table.schema, table.name}] = &table;
	return tables;
}

void
CompareColumns(const std::string &name, const PlanTable &source, const PlanTable &target,
			   std::vector<Mismatch> &mismatches)
{
	std::map<std::string, const PlanColumn *> target_columns;
	for (const auto &column : target.columns)
		target_columns[column.name] = &column;
	for (const auto &column : source.columns) {
		auto found = target_columns.find(column.name);
		if (found == target_columns.end()) {
			mismatches.push_back(
				{name, column.name, column.type, "", "column only on the source: its data would be lost", true});
			continue;
		}
		const PlanColumn &other = *found->second;
		target_columns.erase(found);
		if (column.type != other.type)
			mismatches.push_back({name, column.name, column.type, other.type, "types differ", true});
		if (!column.not_null && other.not_null)
			mismatches.push_back({name, column.name, column.type, other.type,
								  "NOT NULL on the target only: NULLs of the source would not load", true});
		else if (column.not_null && !other.not_null)
			mismatches.push_back({name, column.name, column.type, other.type, "NOT NULL on the source only", false});
		if (!column.generated && other.generated)
			mismatches.push_back({name, column.name, column.type, other.type,
								  "generated on the target only: the source's values would be replaced", true});
		else if (column.generated && !other.generated)
			mismatches.push_back({name, column.name, column.type, other.type,
								  "generated on the source only: the target stores the source's values", false});
	}
	for (const auto &column : target.columns) {
		if (target_columns.count(column.name) == 0)
			continue;
		bool blocks = column.not_null && !column.generated && !column.has_default;
		mismatches.push_back({name, column.name, "", column.type,
							  blocks ? "column only on the target, NOT NULL without a default: rows of the source "
									   "would not load"
									 : "column only on the target",
							  blocks});
	}
}

} // namespace

std::vector<Mismatch>
ComparePreflight(const Catalog &source, const Catalog &target, std::string (*quote)(const std::string &))
{
	std::vector<Mismatch> mismatches;
	auto source_tables = PlannedTables(source);
	auto target_tables = PlannedTables(target);
	for (const auto &[key, table] : source_tables) {
		std::string name = quote(key.first) + "." + quote(key.second);
		auto found = target_tables.find(key);
		if (found == target_tables.end()) {
			mismatches.push_back(
				{name, "", "table", "", "table only on the source: its rows would not be moved", true});
			continue;
		}
		CompareColumns(name, *table, *found->second, mismatches);
	}
	for (const auto &[key, table] : target_tables)
		if (source_tables.count(key) == 0)
			mismatches.push_back({quote(key.first) + "." + quote(key.second), "", "", "table",
								  "table only on the target: nothing will be loaded into it", false});
	return mismatches;
}

} // namespace pgc::core
