/*
 * result_rows.cpp: a query's result as rows of JSON (each value in the JSON of its type) and as an aligned
 * text table.
 */
#include "result_rows.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "json_values.hpp"

namespace cutover {

using nlohmann::json;

json
RowsJson(const pg::Result &result)
{
	json rows = json::array();
	for (int row = 0; row < result.Rows(); row++) {
		json object = json::object();
		for (int column = 0; column < result.Columns(); column++)
			object[result.Name(column)] = ValueJson(result.Type(column), result.Optional(row, column));
		rows.push_back(object);
	}
	return rows;
}

std::string
RowsTable(const pg::Result &result)
{
	std::vector<std::size_t> width(result.Columns());
	for (int column = 0; column < result.Columns(); column++) {
		width[column] = result.Name(column).size();
		for (int row = 0; row < result.Rows(); row++)
			width[column] = std::max(width[column], result.Text(row, column).size());
	}
	std::ostringstream out;
	auto cell = [&](const std::string &text, int column) {
		out << text << std::string(width[column] - std::min(width[column], text.size()), ' ')
			<< (column + 1 < result.Columns() ? " | " : "\n");
	};
	for (int column = 0; column < result.Columns(); column++)
		cell(result.Name(column), column);
	for (int column = 0; column < result.Columns(); column++)
		out << std::string(width[column], '-') << (column + 1 < result.Columns() ? "-+-" : "\n");
	for (int row = 0; row < result.Rows(); row++)
		for (int column = 0; column < result.Columns(); column++)
			cell(result.Text(row, column), column);
	out << "(" << result.Rows() << (result.Rows() == 1 ? " row)\n" : " rows)\n");
	return out.str();
}

} // namespace cutover
