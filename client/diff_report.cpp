/*
 * diff_report.cpp: the table, summary line and JSON of `cutover diff`.
 */
#include "diff_report.hpp"

#include <algorithm>
#include <sstream>

namespace cutover {

namespace {

struct Counts {
	std::size_t missing = 0;
	std::size_t extra = 0;
	std::size_t changed = 0;
};

Counts
CountOf(const DiffReport &report)
{
	Counts counts;
	for (const auto &row : report.rows) {
		if (row.status == "missing")
			counts.missing++;
		else if (row.status == "extra")
			counts.extra++;
		else
			counts.changed++;
	}
	return counts;
}

/* Characters, not bytes, of UTF-8 text: what a terminal column holds. */
std::size_t
Width(const std::string &text)
{
	return static_cast<std::size_t>(
		std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string
Join(const std::vector<std::string> &names)
{
	std::string joined;
	for (const auto &name : names)
		joined += (joined.empty() ? "" : ", ") + name;
	return joined;
}

} // namespace

std::string
DiffSummary(const DiffReport &report)
{
	Counts counts = CountOf(report);
	std::size_t rows = report.rows.size();
	std::string kinds = "(" + std::to_string(counts.missing) + " missing, " + std::to_string(counts.extra) +
						" extra, " + std::to_string(counts.changed) + " changed)";
	if (report.stopped)
		return report.table + ": stopped after " + std::to_string(rows) + " differing rows " + kinds +
			   "; more rows differ: raise --max-rows to see them";
	if (rows == 0)
		return report.table + ": no rows differ";
	return report.table + ": " + std::to_string(rows) + (rows == 1 ? " row differs " : " rows differ ") + kinds;
}

std::string
DiffTable(const DiffReport &report)
{
	const std::vector<std::string> headers = {"key", "status", "columns"};
	std::vector<std::vector<std::string>> cells;
	for (const auto &row : report.rows)
		cells.push_back({row.key ? *row.key : "NULL", row.status, Join(row.columns)});
	std::vector<std::size_t> width;
	for (std::size_t c = 0; c < headers.size(); c++) {
		width.push_back(Width(headers[c]));
		for (const auto &line : cells)
			width[c] = std::max(width[c], Width(line[c]));
	}
	std::ostringstream out;
	auto print = [&](const std::vector<std::string> &line) {
		for (std::size_t c = 0; c < line.size(); c++) {
			out << line[c];
			if (c + 1 < line.size())
				out << std::string(width[c] - Width(line[c]), ' ') << " | ";
		}
		out << "\n";
	};
	if (!report.rows.empty()) {
		print(headers);
		for (std::size_t c = 0; c < headers.size(); c++)
			out << std::string(width[c], '-') << (c + 1 < headers.size() ? "-+-" : "\n");
		for (const auto &line : cells)
			print(line);
	}
	out << DiffSummary(report) << "\n";
	if (!report.only_ranges.empty())
		out << report.only_ranges << "; --whole-table compares every row\n";
	return out.str();
}

nlohmann::json
DiffJson(const DiffReport &report)
{
	nlohmann::json rows = nlohmann::json::array();
	for (const auto &row : report.rows)
		rows.push_back({{"key", row.key ? nlohmann::json(*row.key) : nlohmann::json()},
						{"status", row.status},
						{"columns", row.status == "changed" ? nlohmann::json(row.columns) : nlohmann::json()}});
	Counts counts = CountOf(report);
	return {{"table", report.table},
			{"differences", rows},
			{"summary",
			 {{"rows", report.rows.size()},
			  {"missing", counts.missing},
			  {"extra", counts.extra},
			  {"changed", counts.changed},
			  {"stopped", report.stopped},
			  {"only_ranges", report.only_ranges.empty() ? nlohmann::json() : nlohmann::json(report.only_ranges)}}}};
}

} // namespace cutover
