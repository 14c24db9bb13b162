/*
 * plan.cpp: migrate_plan() reads the source's catalogs over libpq and plans the load: each table's level in
 * the foreign-key graph, its cycle, its user-ID columns and any problem. Planned tables without a state get
 * a pending one in cutover.table_state.
 */
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/plan.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

extern "C" {
#include "utils/array.h"
}

namespace pgc {

namespace {

/* Every ordinary and partitioned table of the source with its columns: one row per column. */
constexpr const char *kTablesSql =
	"SELECT c.oid, n.nspname, c.relname, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END, "
	"n.nspname = ANY ($1::text[]), a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	"pg_catalog.format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL) "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
	"LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
	"AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
	"ORDER BY c.oid, a.attnum";

/* Every foreign key between those tables (not the copies partitions inherit): one row per column pair. */
constexpr const char *kKeysSql =
	"SELECT con.oid, con.conname, con.conrelid, con.confrelid, fa.attname, ta.attname "
	"FROM pg_catalog.pg_constraint con "
	"CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(from_num, to_num, ord) "
	"JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.conrelid AND fa.attnum = k.from_num "
	"JOIN pg_catalog.pg_attribute ta ON ta.attrelid = con.confrelid AND ta.attnum = k.to_num "
	"WHERE con.contype = 'f' AND con.conparentid = 0 "
	"ORDER BY con.oid, k.ord";

/* text[] literal of schema names for a query parameter, each element quoted. */
std::string
SchemaArrayLiteral(const std::vector<std::string> &schemas)
{
	std::string literal = "{";
	for (std::size_t i = 0; i < schemas.size(); i++) {
		literal += i > 0 ? ",\"" : "\"";
		for (char ch : schemas[i]) {
			if (ch == '"' || ch == '\\')
				literal.push_back('\\');
			literal.push_back(ch);
		}
		literal += "\"";
	}
	return literal + "}";
}

std::vector<std::string>
SchemasArgument(FunctionCallInfo fcinfo)
{
	ArrayType *array = pg::Call([&] { return PG_GETARG_ARRAYTYPE_P(0); });
	Datum *elements;
	bool *nulls;
	int count;
	pg::Call([&] { deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count); });
	std::vector<std::string> schemas;
	for (int i = 0; i < count; i++) {
		if (nulls[i])
			throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "schema names must not be NULL");
		schemas.push_back(pg::Call([&] { return text_to_cstring(DatumGetTextPP(elements[i])); }));
	}
	return schemas;
}

struct SourceCatalog {
	std::vector<core::PlanTable> tables;
	std::vector<core::ForeignKey> keys;
};

SourceCatalog
ReadSourceCatalog(SourceConnection &source, const std::vector<std::string> &schemas)
{
	SourceCatalog catalog;
	std::map<std::string, std::size_t> table_by_oid;
	SourceResult tables = source.Exec(kTablesSql, {SchemaArrayLiteral(schemas)});
	for (int row = 0; row < PQntuples(tables.get()); row++) {
		std::string oid = PQgetvalue(tables.get(), row, 0);
		auto found = table_by_oid.find(oid);
		if (found == table_by_oid.end()) {
			core::PlanTable table;
			table.schema = PQgetvalue(tables.get(), row, 1);
			table.name = PQgetvalue(tables.get(), row, 2);
			if (!PQgetisnull(tables.get(), row, 3))
				table.row_estimate = std::stoll(PQgetvalue(tables.get(), row, 3));
			table.planned = PQgetvalue(tables.get(), row, 4)[0] == 't';
			catalog.tables.push_back(std::move(table));
			found = table_by_oid.emplace(oid, catalog.tables.size() - 1).first;
		}
		if (!PQgetisnull(tables.get(), row, 5))
			catalog.tables[found->second].columns.push_back(
				{PQgetvalue(tables.get(), row, 5), PQgetvalue(tables.get(), row, 6), PQgetvalue(tables.get(), row, 7)});
	}

	SourceResult keys = source.Exec(kKeysSql);
	std::string current;
	for (int row = 0; row < PQntuples(keys.get()); row++) {
		auto from = table_by_oid.find(PQgetvalue(keys.get(), row, 2));
		auto to = table_by_oid.find(PQgetvalue(keys.get(), row, 3));
		if (from == table_by_oid.end() || to == table_by_oid.end())
			continue; /* a key of a table outside the plan's reach (a system or partition table) */
		if (current != PQgetvalue(keys.get(), row, 0)) {
			current = PQgetvalue(keys.get(), row, 0);
			catalog.keys.push_back({PQgetvalue(keys.get(), row, 1), from->second, {}, to->second, {}});
		}
		catalog.keys.back().from_columns.push_back(PQgetvalue(keys.get(), row, 4));
		catalog.keys.back().to_columns.push_back(PQgetvalue(keys.get(), row, 5));
	}
	return catalog;
}

std::vector<core::RemapMark>
ReadMarks(pg::Spi &spi)
{
	spi.Execute("SELECT table_schema, table_name, column_name, remap FROM cutover.remap_column", true);
	std::vector<core::RemapMark> marks;
	for (uint64_t row = 0; row < spi.Rows(); row++)
		marks.push_back({spi.GetText(row, 0), spi.GetText(row, 1), spi.GetText(row, 2), spi.GetText(row, 3) == "t"});
	return marks;
}

} // namespace

} // namespace pgc

using namespace pgc;

/*
 * migrate_plan(schemas text[] default '{public}') -> setof (table_name, level, row_estimate, user_id_columns,
 * cycle, load, problem)
 */
PGC_FUNCTION(migrate_plan)
{
	std::vector<std::string> schemas = SchemasArgument(fcinfo);
	SourceConnection source = SourceConnection::Open();
	SourceCatalog catalog = ReadSourceCatalog(source, schemas);

	/* The extension's own tables are read and written as its owner, whoever was granted the plan. */
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	std::vector<core::TablePlan> plans = core::PlanLoad(catalog.tables, catalog.keys, ReadMarks(spi));
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		spi.Execute("INSERT INTO cutover.table_state (table_schema, table_name) VALUES ($1, $2) "
					"ON CONFLICT (table_schema, table_name) DO NOTHING",
					false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
	}

	pg::Call([&] { InitMaterializedSRF(fcinfo, 0); });
	auto *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		std::vector<std::string> user_ids;
		for (const auto &column : plan.user_ids)
			user_ids.push_back(column.column + " -> " + column.reason);
		std::string problem;
		for (const auto &line : plan.problems)
			problem += (problem.empty() ? "" : "; ") + line;

		Datum values[7];
		bool nulls[7] = {false, false, false, false, false, false, problem.empty()};
		values[0] = pg::TextDatum(pg::QuoteIdentifier(table.schema) + "." + pg::QuoteIdentifier(table.name));
		values[1] = Int32GetDatum(plan.level);
		nulls[2] = !table.row_estimate.has_value();
		values[2] = Int64GetDatum(table.row_estimate.value_or(0));
		values[3] = pg::TextArrayDatum(user_ids);
		values[4] = pg::TextArrayDatum(plan.cycle);
		values[5] = pg::TextDatum(plan.load);
		values[6] = problem.empty() ? Datum(0) : pg::TextDatum(problem);
		pg::Call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
	}
	return Datum(0);
}
