/*
 * plan.cpp: levels by strongly connected components of the foreign-key graph, user-ID columns by fixpoint.
 */
#include "core/plan.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

using ColumnKey = std::pair<std::size_t, std::string>; /* (table index, column name) */

std::string
Qualified(const PlanTable &table)
{
	return table.schema + "." + table.name;
}

/* Tarjan's algorithm over planned tables; returns the component of every table (-1 for unplanned ones). */
std::vector<int>
Components(const std::vector<PlanTable> &tables, const std::vector<std::vector<std::size_t>> &edges)
{
	std::size_t n = tables.size();
	std::vector<int> component(n, -1), index(n, -1), low(n, 0);
	std::vector<bool> on_stack(n, false);
	std::vector<std::size_t> stack;
	int next_index = 0, next_component = 0;

	std::function<void(std::size_t)> visit = [&](std::size_t v) {
		index[v] = low[v] = next_index++;
		stack.push_back(v);
		on_stack[v] = true;
		for (std::size_t w : edges[v]) {
			if (index[w] < 0) {
				visit(w);
				low[v] = std::min(low[v], low[w]);
			} else if (on_stack[w]) {
				low[v] = std::min(low[v], index[w]);
			}
		}
		if (low[v] == index[v]) {
			std::size_t w;
			do {
				w = stack.back();
				stack.pop_back();
				on_stack[w] = false;
				component[w] = next_component;
			} while (w != v);
			next_component++;
		}
	};
	for (std::size_t v = 0; v < n; v++)
		if (tables[v].planned && index[v] < 0)
			visit(v);
	return component;
}

const PlanColumn *
FindColumn(const PlanTable &table, const std::string &name)
{
	for (const auto &column : table.columns)
		if (column.name == name)
			return &column;
	return nullptr;
}

/* The foreign-key graph between planned tables: its strongly connected components (cycles) and their levels. */
struct LoadOrder {
	std::vector<int> component;					   /* of every table, -1 for unplanned ones */
	std::vector<std::vector<std::size_t>> members; /* the tables of every component */
	std::vector<int> component_level;			   /* 0 loads first */
};

LoadOrder
OrderByKeys(const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys)
{
	std::size_t n = tables.size();
	LoadOrder order;

	/* Levels: edges from a planned table to the planned tables it references. */
	std::vector<std::vector<std::size_t>> edges(n);
	for (const auto &key : keys)
		if (tables[key.from].planned && tables[key.to].planned)
			edges[key.from].push_back(key.to);
	order.component = Components(tables, edges);
	const std::vector<int> &component = order.component;

	/* Tarjan numbers components so that a referenced component comes first: levels in one pass. */
	int components = 0;
	for (int c : component)
		components = std::max(components, c + 1);
	order.component_level.assign(components, 0);
	order.members.resize(components);
	for (std::size_t v = 0; v < n; v++)
		if (component[v] >= 0)
			order.members[component[v]].push_back(v);
	for (int c = 0; c < components; c++)
		for (std::size_t v : order.members[c])
			for (std::size_t w : edges[v])
				if (component[w] != c)
					order.component_level[c] =
						std::max(order.component_level[c], order.component_level[component[w]] + 1);
	return order;
}

/* The marked columns: true for a user-ID column by hand, false for one kept out of the foreign keys'. */
std::map<ColumnKey, bool>
MarkedColumns(const std::vector<PlanTable> &tables, const std::vector<RemapMark> &marks)
{
	std::map<ColumnKey, bool> marked;
	for (const auto &mark : marks)
		for (std::size_t t = 0; t < tables.size(); t++)
			if (tables[t].schema == mark.schema && tables[t].name == mark.table)
				marked[{t, mark.column}] = mark.mode == RemapMode::Strict;
	return marked;
}

/* User-ID columns, each with its reason: from the root, along foreign keys, to a fixpoint. */
std::map<ColumnKey, std::string>
UserIdColumns(const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys,
			  const std::map<ColumnKey, bool> &marked, const UserIdRoot &root)
{
	std::map<ColumnKey, std::string> user_ids;
	for (std::size_t t = 0; t < tables.size(); t++)
		if (tables[t].schema == root.schema && tables[t].name == root.table)
			user_ids[{t, root.column}] = "holds the user IDs";
	for (const auto &[column, remap] : marked)
		if (remap)
			user_ids[column] = "marked by hand";
	for (bool changed = true; changed;) {
		changed = false;
		for (const auto &key : keys) {
			for (std::size_t i = 0; i < key.from_columns.size() && i < key.to_columns.size(); i++) {
				ColumnKey from{key.from, key.from_columns[i]};
				if (user_ids.count(from) || user_ids.count({key.to, key.to_columns[i]}) == 0)
					continue;
				auto mark = marked.find(from);
				if (mark != marked.end() && !mark->second)
					continue;
				user_ids[from] = Qualified(tables[key.to]) + "." + key.to_columns[i] + " (" + key.name + ")";
				changed = true;
			}
		}
	}
	return user_ids;
}

/* The names of the foreign keys inside table t's component (its cycle), sorted, each once. */
std::vector<std::string>
CycleKeys(std::size_t t, const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys,
		  const std::vector<int> &component)
{
	std::vector<std::string> cycle;
	for (const auto &key : keys)
		if (tables[key.from].planned && tables[key.to].planned && component[key.from] == component[t] &&
			component[key.to] == component[t])
			cycle.push_back(key.name);
	std::sort(cycle.begin(), cycle.end());
	cycle.erase(std::unique(cycle.begin(), cycle.end()), cycle.end());
	return cycle;
}

/*
 * The plan's user-ID columns, and its problems: a user-ID column of a type that cannot hold them, a mark on a
 * column that does not exist.
 */
void
AddUserIdColumns(TablePlan &plan, const PlanTable &table, const std::map<ColumnKey, bool> &marked,
				 const std::map<ColumnKey, std::string> &user_ids)
{
	std::size_t t = plan.table;
	for (const auto &column : table.columns) {
		auto found = user_ids.find({t, column.name});
		if (found == user_ids.end())
			continue;
		plan.user_ids.push_back({column.name, found->second});
		if (!CanHoldUserIds(column.base_type))
			plan.problems.push_back("column " + column.name + " holds user IDs but has type " + column.type +
									"; only uuid, text, varchar, char, citext and arrays of them can be remapped");
	}
	for (const auto &[column, remap] : marked)
		if (column.first == t && remap && FindColumn(table, column.second) == nullptr)
			plan.problems.push_back("column " + column.second +
									" is marked as holding user IDs but does not exist on the source");
}

/* How the plan's table will be loaded, in words; `members` are the tables of its component. */
std::string
LoadText(const TablePlan &plan, const std::vector<PlanTable> &tables, const std::vector<std::size_t> &members)
{
	if (plan.cycle.empty())
		return "after the tables it references";
	std::string keys_text, others;
	for (const auto &name : plan.cycle)
		keys_text += (keys_text.empty() ? "" : ", ") + name;
	for (std::size_t v : members)
		if (v != plan.table)
			others += (others.empty() ? "" : ", ") + Qualified(tables[v]);
	return (others.empty() ? "references itself through " : "in a cycle with " + others + " through ") + keys_text +
		   "; loaded with " + (plan.cycle.size() == 1 ? "that key" : "those keys") +
		   " unchecked, which migrate_check_fks checks after the load";
}

TablePlan
TablePlanOf(std::size_t t, const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys,
			const LoadOrder &order, const std::map<ColumnKey, bool> &marked,
			const std::map<ColumnKey, std::string> &user_ids)
{
	TablePlan plan;
	plan.table = t;
	plan.level = order.component_level[order.component[t]];
	plan.cycle = CycleKeys(t, tables, keys, order.component);
	AddUserIdColumns(plan, tables[t], marked, user_ids);
	plan.load = LoadText(plan, tables, order.members[order.component[t]]);
	return plan;
}

} // namespace

const char *
CatalogTablesSql()
{
	/* domain_base: every domain's base type, through domains over domains; an array of a domain counts as an
	 * array of the domain's base type. */
	return "WITH RECURSIVE chain(domain_oid, oid, typtype, typbasetype) AS ("
		   "SELECT t.oid, t.oid, t.typtype, t.typbasetype FROM pg_catalog.pg_type t WHERE t.typtype = 'd' "
		   "UNION ALL SELECT c.domain_oid, t.oid, t.typtype, t.typbasetype FROM chain c "
		   "JOIN pg_catalog.pg_type t ON t.oid = c.typbasetype WHERE c.typtype = 'd'), "
		   "domain_base(domain_oid, base_oid) AS (SELECT domain_oid, oid FROM chain WHERE typtype <> 'd') "
		   "SELECT c.oid, n.nspname, c.relname, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END, "
		   "n.nspname = ANY ($1::text[]), a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
		   "pg_catalog.format_type(coalesce("
		   "(SELECT e.typarray FROM domain_base d JOIN pg_catalog.pg_type e ON e.oid = d.base_oid "
		   "WHERE d.domain_oid = t.typelem AND t.typcategory = 'A'), "
		   "(SELECT d.base_oid FROM domain_base d WHERE d.domain_oid = a.atttypid), a.atttypid), NULL), "
		   "a.attnotnull, a.attgenerated <> '', a.atthasdef OR a.attidentity <> '' "
		   "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		   "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
		   "LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		   "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
		   "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') "
		   "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
		   "ORDER BY c.oid, a.attnum";
}

const char *
MissingSchemasSql()
{
	return "SELECT s FROM pg_catalog.unnest($1::text[]) AS s WHERE NOT EXISTS "
		   "(SELECT FROM pg_catalog.pg_namespace AS n WHERE n.nspname = s)";
}

const char *
CatalogKeysSql()
{
	/* Partitions carry copies of their parent's keys (conparentid <> 0): the parent's key stands for them. */
	return "SELECT con.oid, con.conname, con.conrelid, con.confrelid, fa.attname, ta.attname "
		   "FROM pg_catalog.pg_constraint con "
		   "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(from_num, to_num, ord) "
		   "JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.conrelid AND fa.attnum = k.from_num "
		   "JOIN pg_catalog.pg_attribute ta ON ta.attrelid = con.confrelid AND ta.attnum = k.to_num "
		   "WHERE con.contype = 'f' AND con.conparentid = 0 "
		   "ORDER BY con.oid, k.ord";
}

Catalog
BuildCatalog(const TextRows &table_rows, const TextRows &key_rows)
{
	Catalog catalog;
	std::map<std::string, std::size_t> table_by_oid;
	auto text = [](const std::optional<std::string> &field) { return field.value_or(""); };
	for (const auto &row : table_rows) {
		auto found = table_by_oid.find(text(row.at(0)));
		if (found == table_by_oid.end()) {
			PlanTable table;
			table.schema = text(row.at(1));
			table.name = text(row.at(2));
			if (row.at(3))
				table.row_estimate = std::stoll(*row.at(3));
			table.planned = text(row.at(4)) == "t";
			catalog.tables.push_back(std::move(table));
			found = table_by_oid.emplace(text(row.at(0)), catalog.tables.size() - 1).first;
		}
		if (row.at(5))
			catalog.tables[found->second].columns.push_back({*row.at(5), text(row.at(6)), text(row.at(7)),
															 text(row.at(8)) == "t", text(row.at(9)) == "t",
															 text(row.at(10)) == "t"});
	}
	std::string current;
	for (const auto &row : key_rows) {
		auto from = table_by_oid.find(text(row.at(2)));
		auto to = table_by_oid.find(text(row.at(3)));
		if (from == table_by_oid.end() || to == table_by_oid.end())
			continue; /* a key of a table outside the catalog's reach */
		if (current != text(row.at(0))) {
			current = text(row.at(0));
			catalog.keys.push_back({text(row.at(1)), from->second, {}, to->second, {}});
		}
		catalog.keys.back().from_columns.push_back(text(row.at(4)));
		catalog.keys.back().to_columns.push_back(text(row.at(5)));
	}
	return catalog;
}

std::optional<TablePlan>
PlanOneTable(const Catalog &catalog, const std::string &schema, const std::string &name,
			 const std::vector<RemapMark> &marks)
{
	std::vector<PlanTable> tables = catalog.tables;
	for (auto &table : tables)
		table.planned = table.schema == schema && table.name == name;
	std::vector<TablePlan> plans = PlanLoad(tables, catalog.keys, marks);
	if (plans.empty())
		return std::nullopt;
	return plans.front();
}

RemapMode
ColumnMode(const std::vector<RemapMark> &marks, const std::string &schema, const std::string &table,
		   const std::string &column, const std::vector<std::string> &user_id_columns)
{
	for (const auto &mark : marks)
		if (mark.schema == schema && mark.table == table && mark.column == column)
			return mark.mode;
	bool strict = std::find(user_id_columns.begin(), user_id_columns.end(), column) != user_id_columns.end();
	return strict ? RemapMode::Strict : RemapMode::Value;
}

bool
CanHoldUserIds(const std::string &base_type)
{
	return HoldsWholeIds(ValueTypeOf(base_type));
}

std::vector<TablePlan>
PlanLoad(const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys, const std::vector<RemapMark> &marks,
		 const UserIdRoot &root)
{
	LoadOrder order = OrderByKeys(tables, keys);
	std::map<ColumnKey, bool> marked = MarkedColumns(tables, marks);
	std::map<ColumnKey, std::string> user_ids = UserIdColumns(tables, keys, marked, root);
	std::vector<TablePlan> plans;
	for (std::size_t t = 0; t < tables.size(); t++)
		if (tables[t].planned)
			plans.push_back(TablePlanOf(t, tables, keys, order, marked, user_ids));
	std::sort(plans.begin(), plans.end(), [&](const TablePlan &a, const TablePlan &b) {
		if (a.level != b.level)
			return a.level < b.level;
		const PlanTable &x = tables[a.table], &y = tables[b.table];
		return std::tie(x.schema, x.name) < std::tie(y.schema, y.name);
	});
	return plans;
}

} // namespace pgc::core
