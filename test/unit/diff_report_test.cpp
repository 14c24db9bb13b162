/*
 * diff_report_test.cpp: what `cutover diff` prints: the aligned table, the summary line and the JSON.
 */
#include <gtest/gtest.h>

#include "diff_report.hpp"

namespace {

using cutover::DiffJson;
using cutover::DiffReport;
using cutover::DiffSummary;
using cutover::DiffTable;

DiffReport
Sample()
{
	DiffReport report;
	report.table = "public.sites";
	report.rows = {{std::string("7"), "changed", {"name", "note"}},
				   {std::string("20"), "missing", {}},
				   {std::string("ünï"), "extra", {}}};
	return report;
}

TEST(DiffSummary, CountsEachKind)
{
	EXPECT_EQ(DiffSummary(Sample()), "public.sites: 3 rows differ (1 missing, 1 extra, 1 changed)");
	DiffReport one = Sample();
	one.rows.resize(1);
	EXPECT_EQ(DiffSummary(one), "public.sites: 1 row differs (0 missing, 0 extra, 1 changed)");
	DiffReport none;
	none.table = "app.\"Odd\"";
	EXPECT_EQ(DiffSummary(none), "app.\"Odd\": no rows differ");
	DiffReport stopped = Sample();
	stopped.stopped = true;
	EXPECT_EQ(DiffSummary(stopped), "public.sites: stopped after 3 differing rows (1 missing, 1 extra, 1 changed); "
									"more rows differ: raise --max-rows to see them");
}

TEST(DiffTable, AlignedByCharactersThenTheSummary)
{
	EXPECT_EQ(DiffTable(Sample()), "key | status  | columns\n"
								   "----+---------+-----------\n"
								   "7   | changed | name, note\n"
								   "20  | missing | \n"
								   "ünï | extra   | \n"
								   "public.sites: 3 rows differ (1 missing, 1 extra, 1 changed)\n");
	DiffReport none;
	none.table = "public.t";
	EXPECT_EQ(DiffTable(none), "public.t: no rows differ\n");
	DiffReport null_key;
	null_key.table = "public.t";
	null_key.rows = {{std::nullopt, "missing", {}}};
	EXPECT_EQ(DiffTable(null_key), "key  | status  | columns\n"
								   "-----+---------+--------\n"
								   "NULL | missing | \n"
								   "public.t: 1 row differs (1 missing, 0 extra, 0 changed)\n");
}

TEST(DiffJson, DifferencesAndSummary)
{
	nlohmann::json json = DiffJson(Sample());
	EXPECT_EQ(json.at("table"), "public.sites");
	ASSERT_EQ(json.at("differences").size(), 3u);
	EXPECT_EQ(json.at("differences")[0],
			  nlohmann::json::parse(R"({"key":"7","status":"changed","columns":["name","note"]})"));
	EXPECT_EQ(json.at("differences")[1], nlohmann::json::parse(R"({"key":"20","status":"missing","columns":null})"));
	EXPECT_EQ(
		json.at("summary"),
		nlohmann::json::parse(R"({"rows":3,"missing":1,"extra":1,"changed":1,"stopped":false,"only_ranges":null})"));
	DiffReport none;
	none.table = "public.t";
	none.stopped = false;
	EXPECT_EQ(DiffJson(none).at("differences"), nlohmann::json::array());
}

/* A diff kept to the key ranges that differed says so after its summary, and in its JSON. */
TEST(DiffReport, SaysWhenOnlySomeKeyRangesWereCompared)
{
	DiffReport report = Sample();
	report.only_ranges = "migrate_diff compared key range 2 of the 3 of table public.sites only: the others "
						 "matched at its last verification";
	std::string table = DiffTable(report);
	EXPECT_NE(table.find("public.sites: 3 rows differ (1 missing, 1 extra, 1 changed)\n" + report.only_ranges +
						 "; --whole-table compares every row\n"),
			  std::string::npos)
		<< table;
	EXPECT_EQ(DiffJson(report).at("summary").at("only_ranges"), report.only_ranges);
	EXPECT_EQ(DiffTable(Sample()).find("--whole-table"), std::string::npos);
}

} // namespace
