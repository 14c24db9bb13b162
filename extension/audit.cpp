/*
 * audit.cpp: migrate_audit_ids(schemas) proves that no Supabase user ID is left in the target.
 *
 * Every table of the given schemas is read once (pulled or not): every column that can hold a user ID (uuid,
 * strings, json, jsonb, arrays of them, and any other type printed as text, for IDs embedded in it) is walked
 * for the Supabase IDs of the ID map, whole values, array elements, JSON values and keys at any depth, and IDs
 * inside longer strings. Each place found is one row: the table, the column, the JSON path (NULL outside JSON),
 * the kind, how many, and the key of the first row that holds one. A column kept out of remapping on purpose
 * is reported too, and says so. Memory is flat in the size of the tables: only the places are kept.
 */
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/diff.hpp"
#include "core/remap.hpp"
#include "guard.hpp"
#include "pg/compat.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "unmap.hpp"

namespace pgc {

namespace {

/* The Supabase IDs of the ID map, each an ID alone: what the audit looks for. */
core::IdMap
ReadSupabaseIds(pg::Spi &spi)
{
	spi.Execute("SELECT source_id::text FROM cutover.id_map", true);
	core::IdMap ids;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		core::Uuid id;
		if (core::ParseCanonicalUuid(spi.GetText(row, 0), id))
			ids.AddAlone(id);
	}
	return ids;
}

/* One table being audited, for cutover.migrate_audit_agg while it is alive. */
class AuditScope
{
  public:
	AuditScope(const pg::TableInfo &table, const std::vector<core::RemapMode> &modes, const core::IdMap &ids,
			   std::vector<std::size_t> key)
		: reader_(table, modes), counter_(ids, findings_, false), key_(std::move(key)), outer_(active_)
	{
		findings_.row_name = [this] { return RowName(); };
		active_ = this;
	}
	~AuditScope() { active_ = outer_; }
	AuditScope(const AuditScope &) = delete;
	AuditScope &operator=(const AuditScope &) = delete;

	static AuditScope &
	Active()
	{
		if (active_ == nullptr)
			throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						"migrate_audit_agg reads rows for migrate_audit_ids only");
		return *active_;
	}

	/* Counts the Supabase IDs of one row (`ctid` names it when the table has no key). */
	void
	Count(HeapTupleHeader row, ItemPointer ctid)
	{
		ctid_ = ctid;
		reader_.Deform(row);
		auto &columns = reader_.Columns();
		for (std::size_t i = 0; i < columns.size(); i++) {
			if (reader_.IsNull(i) || columns[i].type.element == core::ValueClass::None)
				continue;
			core::Span *text = reader_.Text(i, false);
			if (!counter_.Text(*text, columns[i].type, i))
				throw Error(ERRCODE_DATA_CORRUPTED, "column " + pg::QuoteIdentifier(columns[i].name) + " of table " +
														reader_.Table() +
														" holds a value that is not what its type prints");
		}
	}

	const core::Findings &
	Findings() const
	{
		return findings_;
	}
	RowReader &
	Reader()
	{
		return reader_;
	}

  private:
	/* The key of the row being read, as migrate_diff prints keys; its ctid without a key. */
	std::string
	RowName()
	{
		if (key_.empty()) {
			ItemPointer ctid = ctid_;
			return ctid == nullptr ? std::string()
								   : "ctid (" + std::to_string(ItemPointerGetBlockNumberNoCheck(ctid)) + "," +
										 std::to_string(ItemPointerGetOffsetNumberNoCheck(ctid)) + ")";
		}
		core::KeyValue key;
		for (std::size_t column : key_) {
			if (reader_.IsNull(column))
				key.emplace_back();
			else
				key.emplace_back(reader_.TextCopy(column)); /* the value being walked stays as it is */
		}
		return core::KeyText(key).value_or("NULL");
	}

	static inline AuditScope *active_ = nullptr;
	RowReader reader_;
	core::Findings findings_;
	core::IdCounter counter_;
	std::vector<std::size_t> key_;
	ItemPointer ctid_ = nullptr;
	AuditScope *outer_;
};

/* The positions (canonical order) of the columns of the table's primary key; none without one. */
std::vector<std::size_t>
PrimaryKey(const pg::TableInfo &table)
{
	pg::Spi spi;
	spi.Execute("SELECT a.attname FROM pg_catalog.pg_index i "
				"CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
				"JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
				"WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
				true, {{OIDOID, std::to_string(table.relid)}});
	std::vector<std::size_t> key;
	for (uint64_t row = 0; row < spi.Rows(); row++)
		for (std::size_t i = 0; i < table.columns.size(); i++)
			if (table.columns[i].name == spi.GetText(row, 0))
				key.push_back(i);
	return key;
}

struct AuditRow {
	std::string table, column, path, kind, example_key, example_id, remap;
	std::int64_t ids = 0;
};

/* Audits one table: its places holding Supabase IDs. */
std::vector<AuditRow>
AuditTable(Oid relid, const std::vector<core::RemapMark> &marks, const core::IdMap &ids)
{
	pg::TableInfo table = pg::DescribeTable(relid);
	std::vector<core::RemapMode> modes;
	bool any = false;
	for (const auto &column : table.columns) {
		modes.push_back(core::ColumnMode(marks, table.schema, table.name, column.name));
		any = any || core::ValueTypeOf(column.base_type).element != core::ValueClass::None;
	}
	if (!any)
		return {};
	AuditScope scope(table, modes, ids, PrimaryKey(table));
	{
		pg::Spi spi;
		spi.Execute("SELECT cutover.migrate_audit_agg(t.ctid, t.*) FROM " + table.scan + " AS t", true);
	}
	std::vector<AuditRow> rows;
	auto &columns = scope.Reader().Columns();
	for (const auto &finding : scope.Findings().Sorted()) {
		if (finding.ids == 0)
			continue;
		const RowReader::Column &column = columns[finding.column];
		rows.push_back({table.qualified, column.name, finding.path, core::IdPlaceName(finding.place),
						finding.example_row, finding.example_id, core::RemapModeName(column.mode), finding.ids});
	}
	return rows;
}

} // namespace

} // namespace pgc

using namespace pgc;

/*
 * cutover.migrate_audit_agg(tid, record) transition: counts the Supabase IDs of one whole row in the active
 * audit; the state is the number of rows read.
 */
PGC_FUNCTION(migrate_audit_agg_transfn)
{
	int64 rows = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(2)) {
		HeapTupleHeader row = pg::Call([&] { return pg::RowArgument(fcinfo, 2); });
		ItemPointer ctid = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<ItemPointer>(PG_GETARG_POINTER(1));
		AuditScope::Active().Count(row, ctid);
	}
	PG_RETURN_INT64(rows + 1);
}

/*
 * migrate_audit_ids(schemas text[] default '{public}') -> setof (table_name, column_name, json_path, kind, ids,
 * example_key, example_id, remap)
 */
PGC_FUNCTION(migrate_audit_ids)
{
	std::vector<std::string> schemas = SchemasArgument(fcinfo, 0);
	std::string schema_list = TextArrayLiteral(schemas);
	std::vector<Oid> tables;
	{
		/* a schema that does not exist is a typo, not a schema without IDs */
		pg::Spi spi;
		spi.Execute("SELECT s FROM pg_catalog.unnest($1::text[]) AS s WHERE NOT EXISTS "
					"(SELECT FROM pg_catalog.pg_namespace AS n WHERE n.nspname = s) LIMIT 1",
					true, {{TEXTARRAYOID, schema_list}});
		if (spi.Rows() > 0)
			throw Error(ERRCODE_INVALID_SCHEMA_NAME, "schema \"" + spi.GetText(0, 0) + "\" does not exist", "",
						"Schema names are case-sensitive and given without quotes.");
		spi.Execute("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					"WHERE n.nspname = ANY ($1::text[]) AND n.nspname <> 'cutover' AND c.relkind IN ('r', 'p') "
					"AND NOT c.relispartition ORDER BY n.nspname, c.relname",
					true, {{TEXTARRAYOID, schema_list}});
		for (uint64_t row = 0; row < spi.Rows(); row++)
			tables.push_back(static_cast<Oid>(std::stoul(spi.GetText(row, 0))));
	}
	std::vector<core::RemapMark> marks;
	core::IdMap ids;
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		marks = ReadRemapMarks(spi);
		ids = ReadSupabaseIds(spi);
	}
	pg::ResultSet result(fcinfo);
	if (ids.empty())
		return Datum(0);
	for (Oid relid : tables) {
		pg::CheckForInterrupts();
		for (const auto &row : AuditTable(relid, marks, ids)) {
			Datum values[8] = {pg::TextDatum(row.table),
							   pg::TextDatum(row.column),
							   row.path.empty() ? Datum(0) : pg::TextDatum(row.path),
							   pg::TextDatum(row.kind),
							   Int64GetDatum(row.ids),
							   row.example_key.empty() ? Datum(0) : pg::TextDatum(row.example_key),
							   pg::TextDatum(row.example_id),
							   pg::TextDatum(row.remap)};
			bool nulls[8] = {false, false, row.path.empty(), false, false, row.example_key.empty(), false, false};
			result.Add(values, nulls);
		}
	}
	return Datum(0);
}
