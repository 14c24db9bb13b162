/*
 * plan.cpp: migrate_plan() reads the source's catalogs over libpq and plans the load: each table's level in
 * the foreign-key graph, its cycle, its user-ID columns and any problem. Planned tables without a state get
 * a pending one in cutover.table_state.
 */
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/plan.hpp"
#include "core/remap.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

namespace pgc {

namespace {

/*
 * Every Supabase user ID the plan's sample can meet: those of the ID map, and, before any user was created,
 * those of the source's auth.users.
 */
core::IdMap
KnownUserIds(SourceConnection &source, const core::Catalog &catalog, pg::Spi &spi)
{
	core::IdMap ids;
	spi.Execute("SELECT source_id::text FROM cutover.id_map", true);
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		core::Uuid id;
		if (core::ParseCanonicalUuid(spi.GetText(row, 0), id))
			ids.AddAlone(id);
	}
	core::UserIdRoot root;
	for (const auto &table : catalog.tables) {
		if (table.schema != root.schema || table.name != root.table)
			continue;
		SourceResult result = source.Exec("SELECT " + pg::QuoteIdentifier(root.column) + "::text FROM " +
										  pg::QuoteIdentifier(root.schema) + "." + pg::QuoteIdentifier(root.table));
		for (int row = 0; row < PQntuples(result.get()); row++) {
			core::Uuid id;
			if (!PQgetisnull(result.get(), row, 0) && core::ParseCanonicalUuid(PQgetvalue(result.get(), row, 0), id))
				ids.AddAlone(id);
		}
	}
	return ids;
}

/*
 * Samples up to `rows` rows of a source table and says where user IDs were found in them: each column that
 * can hold one, by JSON path, with the count against the values sampled there (core::SampleEvidence).
 */
std::vector<std::string>
SampleTable(SourceConnection &source, const core::PlanTable &table, const core::TablePlan &plan,
			const std::vector<core::RemapMark> &marks, const core::IdMap &ids, int rows)
{
	std::vector<std::string> user_id_columns;
	for (const auto &user_id : plan.user_ids)
		user_id_columns.push_back(user_id.column);
	std::vector<std::string> names;
	std::vector<core::ValueType> types;
	std::vector<core::RemapMode> modes;
	std::string select;
	for (const auto &column : table.columns) {
		core::ValueType type = core::ValueTypeOf(column.base_type);
		if (type.element == core::ValueClass::None)
			continue;
		core::RemapMode mode = core::ColumnMode(marks, table.schema, table.name, column.name, user_id_columns);
		select += (names.empty() ? "" : ", ") + pg::QuoteIdentifier(column.name) + "::text";
		names.push_back(column.name);
		types.push_back(type);
		modes.push_back(mode);
	}
	if (names.empty() || rows <= 0)
		return {};
	/* a large table: a sample of its pages (TABLESAMPLE SYSTEM) rather than its first rows */
	std::string sample;
	if (table.row_estimate && *table.row_estimate > std::int64_t(rows) * 10) {
		char percent[32];
		snprintf(percent, sizeof(percent), "%.6f",
				 std::min(100.0, 100.0 * 4.0 * rows / static_cast<double>(*table.row_estimate)));
		sample = std::string(" TABLESAMPLE SYSTEM (") + percent + ")";
	}
	SourceResult result = source.Exec("SELECT " + select + " FROM " + pg::QuoteIdentifier(table.schema) + "." +
									  pg::QuoteIdentifier(table.name) + sample + " LIMIT " + std::to_string(rows));
	core::Findings findings;
	core::IdCounter counter(ids, findings, true);
	for (int row = 0; row < PQntuples(result.get()); row++)
		for (int field = 0; field < PQnfields(result.get()); field++) {
			if (PQgetisnull(result.get(), row, field))
				continue;
			/* read only: the counter never writes */
			core::Span text(PQgetvalue(result.get(), row, field),
							static_cast<std::size_t>(PQgetlength(result.get(), row, field)));
			counter.Text(text, types[field], static_cast<std::size_t>(field));
		}
	return core::SampleEvidence(findings, names, modes);
}

} // namespace

} // namespace pgc

using namespace pgc;

/*
 * migrate_plan(schemas text[] default '{public}', sample_rows integer default 2000) -> setof (table_name, level,
 * row_estimate, user_id_columns, user_id_values, cycle, load, problem)
 */
PGC_FUNCTION(migrate_plan)
{
	std::vector<std::string> schemas = SchemasArgument(fcinfo, 0);
	int sample_rows = PG_GETARG_INT32(1);
	if (sample_rows < 0)
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "sample_rows must not be negative: " + std::to_string(sample_rows),
					"", "0 plans without looking at the rows.");
	SourceConnection source = SourceConnection::Open();
	core::Catalog catalog = ReadSourceCatalog(source, schemas);

	/* The extension's own tables are read and written as its owner, whoever was granted the plan. */
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	std::vector<core::RemapMark> marks = ReadRemapMarks(spi);
	std::vector<core::TablePlan> plans = core::PlanLoad(catalog.tables, catalog.keys, marks);
	core::IdMap ids;
	if (sample_rows > 0)
		ids = KnownUserIds(source, catalog, spi);
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		/* a table being pulled has its state row in that pull's hands: not waited for */
		spi.Execute("INSERT INTO cutover.table_state (table_schema, table_name) SELECT $1, $2 "
					"WHERE NOT EXISTS (SELECT FROM cutover.table_state WHERE table_schema = $1 AND table_name = $2) "
					"AND NOT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' "
					"AND classid = $3::int4::oid AND objsubid = 2 "
					"AND objid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1, $2))) "
					"ON CONFLICT (table_schema, table_name) DO NOTHING",
					false, {{TEXTOID, table.schema}, {TEXTOID, table.name}, {INT4OID, std::to_string(kPullLockKey)}});
	}

	pg::ResultSet result(fcinfo);
	for (const auto &plan : plans) {
		const core::PlanTable &table = catalog.tables[plan.table];
		std::vector<std::string> user_ids;
		for (const auto &column : plan.user_ids)
			user_ids.push_back(column.column + " -> " + column.reason);
		std::string problem;
		for (const auto &line : plan.problems)
			problem += (problem.empty() ? "" : "; ") + line;

		std::vector<std::string> found;
		if (sample_rows > 0 && !ids.empty())
			found = SampleTable(source, table, plan, marks, ids, sample_rows);

		Datum values[8];
		bool nulls[8] = {false, false, false, false, false, false, false, problem.empty()};
		values[0] = pg::TextDatum(pg::QuoteIdentifier(table.schema) + "." + pg::QuoteIdentifier(table.name));
		values[1] = Int32GetDatum(plan.level);
		nulls[2] = !table.row_estimate.has_value();
		values[2] = Int64GetDatum(table.row_estimate.value_or(0));
		values[3] = pg::TextArrayDatum(user_ids);
		values[4] = pg::TextArrayDatum(found);
		values[5] = pg::TextArrayDatum(plan.cycle);
		values[6] = pg::TextDatum(plan.load);
		values[7] = problem.empty() ? Datum(0) : pg::TextDatum(problem);
		result.Add(values, nulls);
	}
	return Datum(0);
}

namespace {

/* Whether the current role reaches the source through a user mapping of its own or PUBLIC's. */
bool
HasSourceMapping(Oid server_id)
{
	return pg::Call([&] {
		return SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(GetUserId()),
									 ObjectIdGetDatum(server_id)) ||
			   SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid), ObjectIdGetDatum(server_id));
	});
}

} // namespace

/*
 * cutover.column_evidence(tbl regclass, column_name text, sample_rows integer) -> text: why a column is no
 * column of user IDs, from a sample of its rows on the source: NULL when the sample holds user IDs there (or
 * when nothing can be told: no source configured, no such table on the source, no user ID known yet, no row),
 * else what was found ("none of the 40 values sampled on the source is a user ID; they read like 'Acme HQ'").
 * migrate_remap_column asks it before marking a column as holding user IDs.
 */
PGC_FUNCTION(column_evidence)
{
	Oid relid = PG_GETARG_OID(0);
	std::string column = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });
	int sample_rows = std::max(1, PG_GETARG_INT32(2));
	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr || !HasSourceMapping(server->serverid))
		PG_RETURN_NULL();
	pg::TableInfo info = pg::DescribeTable(relid);
	/* a source out of reach cannot tell: the mark is taken, and a NOTICE says it was not checked */
	std::optional<SourceConnection> opened;
	try {
		opened.emplace(SourceConnection::Open());
	} catch (const Error &error) {
		pg::Call([&] {
			ereport(NOTICE, (errmsg("the values of column \"%s\" of table %s were not checked on the source: %s",
									column.c_str(), info.qualified.c_str(), error.message().c_str())));
		});
		PG_RETURN_NULL();
	}
	SourceConnection &source = *opened;
	SourceResult schema = source.Exec("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", {info.schema});
	if (PQntuples(schema.get()) == 0)
		PG_RETURN_NULL();
	core::Catalog catalog = ReadSourceCatalog(source, {info.schema});
	const core::PlanTable *table = nullptr;
	for (const auto &candidate : catalog.tables)
		if (candidate.schema == info.schema && candidate.name == info.name)
			table = &candidate;
	if (table == nullptr)
		PG_RETURN_NULL();
	/* the table with only this column, read as it would be by value */
	core::PlanTable one = *table;
	one.columns.clear();
	for (const auto &candidate : table->columns)
		if (candidate.name == column)
			one.columns.push_back(candidate);
	if (one.columns.empty())
		PG_RETURN_NULL();
	core::TablePlan plan;
	core::IdMap ids;
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		ids = KnownUserIds(source, catalog, spi);
	}
	if (ids.empty())
		PG_RETURN_NULL();
	if (!SampleTable(source, one, plan, {}, ids, sample_rows).empty())
		PG_RETURN_NULL();

	std::string name = pg::QuoteIdentifier(column);
	SourceResult sampled =
		source.Exec("SELECT count(*) OVER (), left(" + name + "::text, 40) FROM (SELECT " + name + " FROM " +
					pg::QuoteIdentifier(info.schema) + "." + pg::QuoteIdentifier(info.name) + " WHERE " + name +
					" IS NOT NULL LIMIT " + std::to_string(sample_rows) + ") AS s LIMIT 3");
	int shown = PQntuples(sampled.get());
	if (shown == 0)
		PG_RETURN_NULL();
	std::string examples;
	for (int row = 0; row < shown; row++)
		examples += std::string(row == 0 ? "" : ", ") + "'" + PQgetvalue(sampled.get(), row, 1) + "'";
	std::string count = PQgetvalue(sampled.get(), 0, 0);
	std::string found =
		"none of the " + count + " values sampled on the source is a user ID; they read like " + examples;
	PG_RETURN_TEXT_P(pg::Call([&] { return cstring_to_text(found.c_str()); }));
}
