/*
 * plan_view.cpp: the compact load plan.
 */
#include "plan_view.hpp"

#include <algorithm>
#include <sstream>

#include "output.hpp"

namespace cutover {

namespace {

/* `text` cut to `width` characters, "..." ending what was cut. */
std::string
Cut(const std::string &text, std::size_t width)
{
	if (text.size() <= width)
		return text;
	return text.substr(0, width > 3 ? width - 3 : 0) + "...";
}

std::string
Right(const std::string &text, std::size_t width)
{
	return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

std::string
Left(const std::string &text, std::size_t width)
{
	return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

/* `text` in lines of at most `width` characters, broken at spaces where it can be. */
std::vector<std::string>
Wrap(const std::string &text, std::size_t width)
{
	std::vector<std::string> lines;
	std::string rest = text;
	width = std::max<std::size_t>(width, 1);
	while (rest.size() > width) {
		std::size_t space = rest.rfind(' ', width);
		bool at_space = space != std::string::npos && space > 0;
		std::size_t cut = at_space ? space : width;
		lines.push_back(rest.substr(0, cut));
		rest = rest.substr(at_space ? cut + 1 : cut);
	}
	lines.push_back(rest);
	return lines;
}

} // namespace

std::string
PlanView(std::vector<PlanLine> lines, std::size_t width)
{
	width = std::max<std::size_t>(width, 50); /* room for the counts and a name */
	std::stable_sort(lines.begin(), lines.end(), [](const PlanLine &a, const PlanLine &b) {
		return a.problem.has_value() > b.problem.has_value();
	});
	/* "!" mark (2), table, level (6), rows (14), user IDs (9): the table takes what is left */
	constexpr std::size_t kMark = 2, kLevel = 6, kRows = 14, kIds = 10;
	std::size_t name_width = 5;
	for (const auto &line : lines)
		name_width = std::max(name_width, line.table.size());
	name_width = std::min(name_width, width - kMark - kLevel - kRows - kIds);

	std::ostringstream out;
	auto row = [&](const std::string &mark, const std::string &table, const std::string &level, const std::string &rows,
				   const std::string &ids) {
		std::string text = Left(mark, kMark) + Left(Cut(table, name_width), name_width) + Right(level, kLevel) +
						   Right(rows, kRows) + Right(ids, kIds);
		while (!text.empty() && text.back() == ' ')
			text.pop_back();
		out << text << "\n";
	};
	row("", "table", "level", "rows (est.)", "user IDs");
	int problems = 0;
	for (const auto &line : lines) {
		row(line.problem ? "!" : "", line.table, std::to_string(line.level),
			Thousands(static_cast<std::uint64_t>(std::max<std::int64_t>(0, line.row_estimate))),
			std::to_string(line.user_id_columns + line.user_id_values));
		if (!line.problem)
			continue;
		problems++;
		const std::string indent = std::string(kMark + 2, ' ');
		bool first = true;
		for (const auto &text : Wrap((first ? "problem: " : "") + *line.problem, width - indent.size())) {
			out << indent << text << "\n";
			first = false;
		}
	}
	std::string footer = "(" + std::to_string(lines.size()) + (lines.size() == 1 ? " table" : " tables");
	if (problems > 0)
		footer += ", " + std::to_string(problems) + " with a problem, marked !";
	footer += "; every column: cutover plan -v, or --json)";
	for (const auto &text : Wrap(footer, width))
		out << text << "\n";
	return out.str();
}

} // namespace cutover
