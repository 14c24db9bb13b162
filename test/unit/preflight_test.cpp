/*
 * preflight_test.cpp: each kind of schema difference gives one row naming table, column and both types.
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/preflight.hpp"

namespace {

using pgc::core::Catalog;
using pgc::core::ComparePreflight;
using pgc::core::PlanColumn;
using pgc::core::PlanTable;

std::string
Plain(const std::string &name)
{
	return name;
}

PlanTable
Table(const std::string &name, std::vector<PlanColumn> columns, bool planned = true)
{
	return PlanTable{"public", name, 10, std::move(columns), planned};
}

PlanColumn
Col(const std::string &name, const std::string &type, bool not_null = false, bool generated = false,
	bool has_default = false)
{
	return PlanColumn{name, type, type, not_null, generated, has_default};
}

TEST(Preflight, EqualSchemasGiveNothing)
{
	Catalog side{{Table("sites", {Col("id", "bigint", true), Col("name", "text")})}, {}};
	EXPECT_TRUE(ComparePreflight(side, side, &Plain).empty());
}

TEST(Preflight, EveryDifferenceIsOneRow)
{
	Catalog source{
		{Table("sites", {Col("id", "bigint", true), Col("name", "text"), Col("note", "text"),
						 Col("total", "numeric", false, true), Col("code", "text", true), Col("owner", "uuid")}),
		 Table("only_source", {Col("id", "bigint")}), Table("ignored", {}, false)},
		{}};
	Catalog target{
		{Table("sites", {Col("id", "bigint", true), Col("name", "character varying(80)"), Col("total", "numeric"),
						 Col("code", "text"), Col("owner", "uuid", true), Col("extra", "integer", true),
						 Col("spare", "integer"), Col("stamp", "integer", true, false, true)}),
		 Table("only_target", {Col("id", "bigint")})},
		{}};
	auto rows = ComparePreflight(source, target, &Plain);
	std::vector<std::string> seen;
	for (const auto &row : rows)
		seen.push_back(row.table + "|" + row.column + "|" + row.source_type + "|" + row.target_type + "|" +
					   (row.error ? "error" : "warning"));
	std::vector<std::string> expected = {
		"public.only_source||table||error",	   "public.sites|name|text|character varying(80)|error",
		"public.sites|note|text||error",	   "public.sites|total|numeric|numeric|warning",
		"public.sites|code|text|text|warning", "public.sites|owner|uuid|uuid|error",
		"public.sites|extra||integer|error",   "public.sites|spare||integer|warning",
		"public.sites|stamp||integer|warning", "public.only_target|||table|warning",
	};
	EXPECT_EQ(seen, expected);
}

TEST(Preflight, GeneratedOnTheTargetOnlyIsAnError)
{
	Catalog source{{Table("t", {Col("total", "numeric")})}, {}};
	Catalog target{{Table("t", {Col("total", "numeric", false, true)})}, {}};
	auto rows = ComparePreflight(source, target, &Plain);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_TRUE(rows[0].error);
	EXPECT_NE(rows[0].problem.find("generated on the target only"), std::string::npos);
}

} // namespace
