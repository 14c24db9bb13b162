/*
 * plan_view.hpp: `cutover plan` at a terminal: one line per table that fits 100 columns, the tables with a
 * problem first, each problem wrapped under its table (plan_view.cpp). The whole plan is `-v` or `--json`.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cutover {

struct PlanLine {
	std::string table;
	int level = 0;
	std::int64_t row_estimate = 0;
	int user_id_columns = 0; /* columns rewritten because a key or a mark says so */
	int user_id_values = 0;	 /* places where the sample found user IDs by value */
	std::optional<std::string> problem;
};

/* The compact table, at most `width` columns a line (table names and problems are cut or wrapped). */
std::string PlanView(std::vector<PlanLine> lines, std::size_t width = 100);

} // namespace cutover
