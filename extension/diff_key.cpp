/*
 * diff_key.cpp: the key migrate_diff compares rows by (diff_key.hpp).
 */
#include <cstring>
#include <map>

#include "diff_key.hpp"
#include "core/user_ids.hpp"
#include "pg/compat.hpp"
#include "pg/spi.hpp"

namespace pgc {

namespace {

/* A uuid's canonical text, in either case. */
constexpr const char *kCanonicalUuid = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/*
 * Text against varchar sorts and prints alike, and so does an integer against a wider one on the target (every
 * source key fits it); any other pair of different types may not.
 */
bool
SameKeyType(const std::string &source, const std::string &target)
{
	auto width = [](const std::string &type) {
		return type == "smallint" ? 2 : type == "integer" ? 4 : type == "bigint" ? 8 : 0;
	};
	if (width(source) > 0 && width(target) > 0)
		return width(target) >= width(source);
	auto family = [](const std::string &type) -> std::string { return type == "character varying" ? "text" : type; };
	return family(source) == family(target);
}

} // namespace

std::vector<KeyColumnInfo>
FindKey(const pg::TableInfo &table)
{
	if (table.relkind == RELKIND_VIEW || table.relkind == RELKIND_FOREIGN_TABLE)
		throw Error(ERRCODE_WRONG_OBJECT_TYPE,
					table.qualified + " is a " + (table.relkind == RELKIND_VIEW ? "view" : "foreign table") +
						": migrate_diff compares tables",
					"", "migrate_verify compares views and foreign tables as a whole.");
	pg::Spi spi;
	spi.Execute(
		"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
		"       pg_catalog.format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL), "
		"       a.attcollation <> 0, a.attcollation "
		"FROM (SELECT i.indkey, i.indnkeyatts FROM pg_catalog.pg_index i "
		"      WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
		"        AND i.indexprs IS NULL "
		"        AND NOT EXISTS (SELECT FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord) "
		"                        JOIN pg_catalog.pg_attribute c ON c.attrelid = i.indrelid AND c.attnum = u.attnum "
		"                        WHERE u.ord <= i.indnkeyatts AND NOT c.attnotnull) "
		"      ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid::regclass::text LIMIT 1) AS x "
		"CROSS JOIN LATERAL pg_catalog.unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = $1 AND a.attnum = k.attnum "
		"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"WHERE k.ord <= x.indnkeyatts ORDER BY k.ord",
		true, {{OIDOID, std::to_string(table.relid)}});
	std::vector<KeyColumnInfo> key;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		KeyColumnInfo column{spi.GetText(row, 0), spi.GetText(row, 1), spi.GetText(row, 2), spi.GetText(row, 3) == "t"};
		Oid collation = static_cast<Oid>(std::stoul(spi.GetText(row, 4)));
		column.byte_ordered = column.collatable && pg::Call([&] { return pg::CollationIsC(collation); });
		key.push_back(std::move(column));
	}
	if (key.empty())
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"table " + table.qualified + " has no primary key and no unique key on NOT NULL columns",
					"migrate_diff finds rows by their key.",
					"Add one on the target (ALTER TABLE " + table.qualified +
						" ADD PRIMARY KEY (...), or a unique index on NOT NULL columns) and run migrate_diff again; "
						"migrate_verify compares a table without a key.");
	return key;
}

std::set<std::string>
CheckSourceKeyTypes(SourceConnection &source, const pg::TableInfo &table, const std::vector<KeyColumnInfo> &key)
{
	SourceResult result = source.Exec(
		"SELECT a.attname, pg_catalog.format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, "
		"NULL), coalesce(co.collnamespace = 'pg_catalog'::pg_catalog.regnamespace AND (co.collname IN ('C', "
		"'POSIX') OR (co.collname = 'default' AND d.datcollate IN ('C', 'POSIX') AND "
		"coalesce(pg_catalog.to_jsonb(d) ->> 'datlocprovider', 'c') = 'c')), false) "
		"FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
		"JOIN pg_catalog.pg_database d ON d.datname = pg_catalog.current_database() "
		"WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped",
		{table.qualified});
	std::map<std::string, std::string> types;
	std::set<std::string> byte_ordered;
	for (int row = 0; row < PQntuples(result.get()); row++) {
		types[PQgetvalue(result.get(), row, 0)] = PQgetvalue(result.get(), row, 1);
		if (std::strcmp(PQgetvalue(result.get(), row, 2), "t") == 0)
			byte_ordered.insert(PQgetvalue(result.get(), row, 0));
	}
	for (const auto &column : key) {
		auto it = types.find(column.name);
		if (it == types.end())
			continue; /* CheckSourceColumns said so already */
		if (!SameKeyType(it->second, column.base_type))
			throw Error(ERRCODE_DATATYPE_MISMATCH,
						"key column " + column.name + " of table " + table.qualified + " is " + it->second +
							" on the source and " + column.base_type + " on the target",
						"migrate_diff compares keys in their type's order, which must be the same on both sides.",
						"Give the key column the same type on both sides (an integer may be wider on the target).");
	}
	return byte_ordered;
}

bool
KeyHoldsUserIds(FunctionCallInfo fcinfo, const pg::TableInfo &table, const KeyColumnInfo &column)
{
	core::ValueType type = core::ValueTypeOf(column.base_type);
	if (!core::HoldsWholeIds(type) || type.array)
		return false;
	std::string value = "t." + pg::QuoteIdentifier(column.name);
	bool found = false;
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	/*
	 * Each key probes the map's index: EXISTS plans for its first row, and a join on the ID's text would compare
	 * every key with every mapped ID (a nested loop) when none is found. A string is an ID in its canonical form
	 * in either case, as the map prints it.
	 */
	std::string join = type.element == core::ValueClass::Uuid
						   ? " AS t JOIN cutover.id_map AS m ON m.target_id = " + value
						   : " AS t JOIN cutover.id_map AS m ON m.target_id = pg_catalog.lower(" + value +
								 ")::uuid WHERE (" + value + ") COLLATE \"C\" ~ '" + kCanonicalUuid + "'";
	spi.Execute("SELECT EXISTS (SELECT FROM " + table.scan + join + ")", true);
	found = spi.GetText(0, 0) == "t";
	return found;
}

} // namespace pgc
