/*
 * plan_view_test.cpp: the compact `cutover plan`: 100 columns at most, the tables with a problem first and
 * their problem under them, counts in words.
 */
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "plan_view.hpp"

using cutover::PlanLine;
using cutover::PlanView;

namespace {

std::vector<std::string>
Lines(const std::string &text)
{
	std::vector<std::string> lines;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);)
		lines.push_back(line);
	return lines;
}

std::vector<PlanLine>
Sample()
{
	PlanLine sites{"public.sites", 0, 40, 1, 0, std::nullopt};
	PlanLine events{"public.events", 1, 1234567, 1, 2, std::nullopt};
	PlanLine orders{"public.orders",
					1,
					500,
					0,
					0,
					std::string("column owner refers to auth.users but its type text cannot hold a Stack Auth ID; "
								"change it, or keep it out with migrate_remap_column(table, column, false), and "
								"plan again")};
	return {sites, events, orders};
}

} // namespace

TEST(PlanView, FitsInOneHundredColumns)
{
	std::vector<PlanLine> plan = Sample();
	plan.push_back({"public." + std::string(150, 'n'), 2, 9, 0, 0, std::string(400, 'p')});
	for (const auto &line : Lines(PlanView(plan)))
		EXPECT_LE(line.size(), 100u) << line;
	for (const auto &line : Lines(PlanView(plan, 60)))
		EXPECT_LE(line.size(), 60u) << line;
	/* narrower than the counts need: 50 columns, never a loop without end */
	for (std::size_t width : {0u, 4u, 10u})
		for (const auto &line : Lines(PlanView(plan, width)))
			EXPECT_LE(line.size(), 50u) << line;
}

TEST(PlanView, ProblemsFirstWithTheProblemUnderTheTable)
{
	std::vector<std::string> lines = Lines(PlanView(Sample()));
	ASSERT_GE(lines.size(), 6u);
	EXPECT_EQ(lines[0].substr(0, 7), "  table");
	EXPECT_EQ(lines[1].substr(0, 15), "! public.orders");
	EXPECT_EQ(lines[2].substr(0, 13), "    problem: ");
	/* the wrapped problem, every word of it, then the tables without a problem in their plan order */
	std::string problem;
	std::size_t at = 2;
	for (; at < lines.size() && lines[at].rfind("    ", 0) == 0; at++)
		problem += lines[at].substr(4) + " ";
	EXPECT_NE(problem.find("change it, or keep it out with migrate_remap_column(table, column, false), and plan"),
			  std::string::npos)
		<< problem;
	EXPECT_EQ(lines[at].substr(0, 14), "  public.sites");
	EXPECT_EQ(lines[at + 1].substr(0, 15), "  public.events");
	EXPECT_NE(lines[at + 1].find("1,234,567"), std::string::npos);
	EXPECT_EQ(lines.back(), "(3 tables, 1 with a problem, marked !; every column: cutover plan -v, or --json)");
	EXPECT_EQ(problem.find("  "), std::string::npos) << "a wrapped line starts or ends with its space: " << problem;
}

TEST(PlanView, UserIdsCountBothKinds)
{
	std::vector<std::string> lines = Lines(PlanView({{"public.events", 1, 10, 1, 2, std::nullopt}}));
	ASSERT_EQ(lines.size(), 3u);
	EXPECT_EQ(lines[1].back(), '3'); /* one column by key or mark, two places found by value */
	EXPECT_EQ(lines[2], "(1 table; every column: cutover plan -v, or --json)");
}

TEST(PlanView, NoTables)
{
	std::vector<std::string> lines = Lines(PlanView({}));
	ASSERT_EQ(lines.size(), 2u);
	EXPECT_EQ(lines[1], "(0 tables; every column: cutover plan -v, or --json)");
}
