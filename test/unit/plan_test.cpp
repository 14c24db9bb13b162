/*
 * plan_test.cpp: load levels, foreign-key cycles and user-ID columns on small catalog graphs.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/plan.hpp"

namespace {

using pgc::core::ForeignKey;
using pgc::core::PlanLoad;
using pgc::core::PlanTable;
using pgc::core::RemapMark;
using pgc::core::RemapMode;
using pgc::core::TablePlan;

/* A Supabase-like graph: auth.users (not planned), profiles -> users, organizations <-> profiles (a cycle),
 * sites -> profiles and organizations, areas -> sites and itself, logs (no keys). */
struct Graph {
	std::vector<PlanTable> tables;
	std::vector<ForeignKey> keys;

	std::size_t
	Add(const std::string &schema, const std::string &name, std::vector<std::pair<std::string, std::string>> cols,
		bool planned = true)
	{
		PlanTable table{schema, name, 100, {}, planned};
		for (auto &[column, type] : cols)
			table.columns.push_back({column, type, type});
		tables.push_back(table);
		return tables.size() - 1;
	}
	void
	Key(const std::string &name, std::size_t from, const std::string &from_column, std::size_t to,
		const std::string &to_column)
	{
		keys.push_back({name, from, {from_column}, to, {to_column}});
	}
};

Graph
Supabase()
{
	Graph g;
	auto users = g.Add("auth", "users", {{"id", "uuid"}, {"email", "text"}}, false);
	auto profiles = g.Add("public", "profiles", {{"id", "uuid"}, {"org_id", "bigint"}});
	auto orgs = g.Add("public", "organizations", {{"id", "bigint"}, {"owner_id", "uuid"}});
	auto sites = g.Add("public", "sites", {{"id", "bigint"}, {"org_id", "bigint"}, {"created_by", "uuid"}});
	auto areas = g.Add("public", "areas", {{"id", "bigint"}, {"site_id", "bigint"}, {"parent_id", "bigint"}});
	g.Add("public", "logs", {{"id", "bigint"}, {"actor", "text"}, {"actors", "text[]"}});
	g.Key("profiles_id_fkey", profiles, "id", users, "id");
	g.Key("profiles_org_id_fkey", profiles, "org_id", orgs, "id");
	g.Key("organizations_owner_id_fkey", orgs, "owner_id", profiles, "id");
	g.Key("sites_org_id_fkey", sites, "org_id", orgs, "id");
	g.Key("sites_created_by_fkey", sites, "created_by", profiles, "id");
	g.Key("areas_site_id_fkey", areas, "site_id", sites, "id");
	g.Key("areas_parent_id_fkey", areas, "parent_id", areas, "id");
	return g;
}

std::map<std::string, TablePlan>
ByName(const Graph &g, const std::vector<TablePlan> &plans)
{
	std::map<std::string, TablePlan> by_name;
	for (const auto &plan : plans)
		by_name[g.tables[plan.table].name] = plan;
	return by_name;
}

std::vector<std::string>
UserIdNames(const TablePlan &plan)
{
	std::vector<std::string> names;
	for (const auto &column : plan.user_ids)
		names.push_back(column.column);
	return names;
}

TEST(PlanLoad, EveryTableComesAfterWhatItReferencesOutsideCycles)
{
	Graph g = Supabase();
	auto plans = PlanLoad(g.tables, g.keys, {});
	ASSERT_EQ(plans.size(), 5u); /* auth.users is not planned */
	auto p = ByName(g, plans);
	EXPECT_EQ(p["logs"].level, 0);
	EXPECT_EQ(p["profiles"].level, p["organizations"].level);
	EXPECT_GT(p["sites"].level, p["profiles"].level);
	EXPECT_GT(p["areas"].level, p["sites"].level);
	for (const auto &key : g.keys) {
		if (!g.tables[key.from].planned || !g.tables[key.to].planned)
			continue;
		const auto &from = p[g.tables[key.from].name];
		const auto &to = p[g.tables[key.to].name];
		if (from.cycle.empty() || std::find(from.cycle.begin(), from.cycle.end(), key.name) == from.cycle.end()) {
			EXPECT_GT(from.level, to.level) << key.name;
		}
	}
	/* ordered by level */
	for (std::size_t i = 1; i < plans.size(); i++)
		EXPECT_LE(plans[i - 1].level, plans[i].level);
}

TEST(PlanLoad, CyclesAndSelfReferencesAreNamed)
{
	Graph g = Supabase();
	auto p = ByName(g, PlanLoad(g.tables, g.keys, {}));
	std::vector<std::string> cycle = {"organizations_owner_id_fkey", "profiles_org_id_fkey"};
	EXPECT_EQ(p["profiles"].cycle, cycle);
	EXPECT_EQ(p["organizations"].cycle, cycle);
	EXPECT_EQ(p["areas"].cycle, std::vector<std::string>{"areas_parent_id_fkey"});
	EXPECT_TRUE(p["sites"].cycle.empty());
	EXPECT_EQ(p["areas"].load, "references itself through areas_parent_id_fkey; loaded with that key unchecked, "
							   "which migrate_check_fks checks after the load");
	EXPECT_EQ(p["profiles"].load, "in a cycle with public.organizations through organizations_owner_id_fkey, "
								  "profiles_org_id_fkey; loaded with those keys unchecked, which migrate_check_fks "
								  "checks after the load");
	EXPECT_EQ(p["sites"].load, "after the tables it references");
}

TEST(PlanLoad, UserIdColumnsFollowForeignKeysThroughProfiles)
{
	Graph g = Supabase();
	auto p = ByName(g, PlanLoad(g.tables, g.keys, {}));
	EXPECT_EQ(UserIdNames(p["profiles"]), std::vector<std::string>{"id"});
	EXPECT_EQ(p["profiles"].user_ids[0].reason, "auth.users.id (profiles_id_fkey)");
	EXPECT_EQ(UserIdNames(p["organizations"]), std::vector<std::string>{"owner_id"});
	EXPECT_EQ(UserIdNames(p["sites"]), std::vector<std::string>{"created_by"});
	EXPECT_EQ(p["sites"].user_ids[0].reason, "public.profiles.id (sites_created_by_fkey)");
	EXPECT_TRUE(p["areas"].user_ids.empty());
	EXPECT_TRUE(p["logs"].user_ids.empty());
	for (const auto &[name, plan] : p)
		EXPECT_TRUE(plan.problems.empty()) << name;
}

TEST(PlanLoad, MarksAddColumnsAndKeepThemOut)
{
	Graph g = Supabase();
	std::vector<RemapMark> marks = {{"public", "logs", "actor", RemapMode::Strict},
									{"public", "logs", "actors", RemapMode::Strict},
									{"public", "profiles", "id", RemapMode::Off}};
	auto p = ByName(g, PlanLoad(g.tables, g.keys, marks));
	EXPECT_EQ(UserIdNames(p["logs"]), (std::vector<std::string>{"actor", "actors"}));
	EXPECT_EQ(p["logs"].user_ids[0].reason, "marked by hand");
	/* profiles.id kept out: nothing is reached through it any more */
	EXPECT_TRUE(p["profiles"].user_ids.empty());
	EXPECT_TRUE(p["sites"].user_ids.empty());
	EXPECT_TRUE(p["organizations"].user_ids.empty());
}

TEST(PlanLoad, ProblemsNameTheColumn)
{
	Graph g = Supabase();
	std::vector<RemapMark> marks = {{"public", "logs", "missing", RemapMode::Strict},
									{"public", "areas", "site_id", RemapMode::Strict}};
	auto p = ByName(g, PlanLoad(g.tables, g.keys, marks));
	ASSERT_EQ(p["logs"].problems.size(), 1u);
	EXPECT_NE(p["logs"].problems[0].find("missing"), std::string::npos);
	ASSERT_EQ(p["areas"].problems.size(), 1u);
	EXPECT_NE(p["areas"].problems[0].find("site_id"), std::string::npos);
	EXPECT_NE(p["areas"].problems[0].find("bigint"), std::string::npos);
}

TEST(PlanLoad, LongChainAndTwoIndependentCycles)
{
	Graph g;
	std::vector<std::size_t> chain;
	for (int i = 0; i < 50; i++)
		chain.push_back(g.Add("public", "t" + std::to_string(100 + i), {{"id", "bigint"}, {"up", "bigint"}}));
	for (int i = 1; i < 50; i++)
		g.Key("k" + std::to_string(i), chain[i], "up", chain[i - 1], "id");
	auto a = g.Add("public", "a", {{"id", "bigint"}, {"b", "bigint"}});
	auto b = g.Add("public", "b", {{"id", "bigint"}, {"a", "bigint"}});
	g.Key("a_b", a, "b", b, "id");
	g.Key("b_a", b, "a", a, "id");
	auto plans = PlanLoad(g.tables, g.keys, {});
	auto p = ByName(g, plans);
	EXPECT_EQ(p["t149"].level, 49);
	EXPECT_EQ(p["a"].level, 0);
	EXPECT_EQ(p["a"].cycle, (std::vector<std::string>{"a_b", "b_a"}));
	EXPECT_TRUE(p["t120"].cycle.empty());
}

TEST(CanHoldUserIds, SupportedTypes)
{
	for (const char *type : {"uuid", "text", "character varying", "uuid[]", "text[]", "character varying[]",
							 "character(36)", "character", "public.citext", "extensions.citext[]", "name"})
		EXPECT_TRUE(pgc::core::CanHoldUserIds(type)) << type;
	/* json and jsonb hold IDs inside, which remapping by value reaches without a user-ID column */
	for (const char *type : {"bigint", "integer", "jsonb", "json", "bytea", "\"char\"", "timestamp with time zone"})
		EXPECT_FALSE(pgc::core::CanHoldUserIds(type)) << type;
}

} // namespace
