/*
 * verify.cpp: migrate_verify(tbl) proves a target table equals its source table.
 *
 * The source computes the canonical checksum with plain SQL over libpq (or sends its rows by COPY, hashed here
 * on a thread of this backend: copy_reader.hpp, pg_cutover.verify_source) while this backend computes the
 * same checksum over the target table; the two run at the same time, and the slower one sets the pace. On the
 * target, columns that hold user IDs (found as migrate_plan finds them) are mapped back to source IDs
 * through cutover.id_map before hashing, so a correctly remapped table verifies ok. The
 * outcome is recorded in cutover.verification, and the table's state in cutover.table_state becomes
 * verified or failed, both in the caller's transaction.
 */
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "catalog.hpp"
#include "checksum.hpp"
#include "copy_reader.hpp"
#include "core/copy_row.hpp"
#include "core/plan.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"
#include "unmap.hpp"
#include "verify.hpp"

namespace pgc {

namespace {

std::string
JoinNames(const std::set<std::string> &names)
{
	std::string joined;
	for (const auto &name : names) {
		if (!joined.empty())
			joined += ", ";
		joined += name;
	}
	return joined;
}

} // namespace

void
CheckSourceColumns(SourceConnection &source, const pg::TableInfo &table)
{
	SourceResult result =
		source.Exec("SELECT a.attname FROM pg_catalog.pg_class c "
					"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					"LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
					"WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
					{table.schema, table.name});
	if (PQntuples(result.get()) == 0)
		throw Error(ERRCODE_UNDEFINED_TABLE, "table " + table.qualified + " does not exist on the source", "",
					"Create it on the source, or leave it out of the verification.");

	std::set<std::string> source_columns;
	for (int i = 0; i < PQntuples(result.get()); i++)
		if (!PQgetisnull(result.get(), i, 0))
			source_columns.insert(PQgetvalue(result.get(), i, 0));
	std::set<std::string> target_columns;
	for (const auto &column : table.columns)
		target_columns.insert(column.name);

	std::set<std::string> only_source;
	std::set<std::string> only_target;
	for (const auto &name : source_columns)
		if (target_columns.count(name) == 0)
			only_source.insert(name);
	for (const auto &name : target_columns)
		if (source_columns.count(name) == 0)
			only_target.insert(name);
	if (only_source.empty() && only_target.empty())
		return;

	std::string detail;
	if (!only_source.empty())
		detail += "Only on the source: " + JoinNames(only_source) + ".";
	if (!only_target.empty())
		detail += std::string(detail.empty() ? "" : " ") + "Only on the target: " + JoinNames(only_target) + ".";
	throw Error(ERRCODE_UNDEFINED_COLUMN, "columns of table " + table.qualified + " differ between source and target",
				detail, "Make both sides have the same columns before verifying.");
}

std::vector<std::string>
UserIdColumns(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table)
{
	core::Catalog catalog = ReadSourceCatalog(source, {});
	std::vector<core::RemapMark> marks;
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		marks = ReadRemapMarks(spi);
	}
	std::vector<std::string> columns;
	if (auto plan = core::PlanOneTable(catalog, table.schema, table.name, marks))
		for (const auto &column : plan->user_ids)
			columns.push_back(column.column);
	return columns;
}

namespace {

/* Why the rows of `table` are not stored ones (a view, a foreign table or partition), or nothing. */
std::optional<std::string>
NotStoredRows(const pg::TableInfo &table)
{
	if (table.relkind == RELKIND_RELATION || table.relkind == RELKIND_MATVIEW)
		return std::nullopt;
	if (table.relkind != RELKIND_PARTITIONED_TABLE)
		return table.relkind == RELKIND_VIEW ? "it is a view" : "it is a foreign table";
	pg::Spi spi;
	spi.Execute("SELECT p.relid::pg_catalog.regclass::pg_catalog.text "
				"FROM pg_catalog.pg_partition_tree($1) AS p JOIN pg_catalog.pg_class AS c ON c.oid = p.relid "
				"WHERE c.relkind NOT IN ('r', 'p') ORDER BY 1 LIMIT 1",
				true, {{REGCLASSOID, std::to_string(table.relid)}});
	if (spi.Rows() == 0)
		return std::nullopt;
	return "its partition " + spi.GetText(0, 0) + " is a foreign table";
}

} // namespace

/*
 * The target's checksum with every user ID mapped back to its Supabase ID (unmap.hpp): the user-ID columns
 * `strict` and the marks of cutover.remap_column decide each column's mode, every other column that can hold
 * an ID is read by value. The ID map and the marks belong to the extension and are read as its owner; the
 * table is read with the caller's own rights (and a row-level security policy that would apply to the caller
 * stops the checksum, as for migrate_checksum).
 */
TargetSide
ChecksumTarget(FunctionCallInfo fcinfo, const pg::TableInfo &table, const std::vector<std::string> &strict)
{
	std::vector<core::RemapMark> marks;
	core::IdMap map;
	{
		pg::AsExtensionOwner owner(fcinfo);
		pg::Spi spi;
		marks = ReadRemapMarks(spi);
		map = ReadMapBack(spi);
	}
	/*
	 * Only stored rows are read back: a view's functions, or a foreign table's, would run while the map is open
	 * to the functions that read rows back. Nothing was pulled into them, so they are compared as they are,
	 * unless user-ID columns are named for them.
	 */
	if (std::optional<std::string> problem = NotStoredRows(table)) {
		bool named = !strict.empty() || std::any_of(marks.begin(), marks.end(), [&](const core::RemapMark &mark) {
			return mark.schema == table.schema && mark.table == table.name && mark.mode != core::RemapMode::Off;
		});
		if (named)
			throw Error(ERRCODE_WRONG_OBJECT_TYPE,
						"the user IDs of " + table.qualified + " cannot be mapped back: " + *problem,
						"Only the rows of tables and materialized views are read back through the ID map.",
						"Verify the tables behind it, or verify it without user-ID columns.");
		return {ChecksumLocalTable(table), {}};
	}
	UnmapScope scope(table, ColumnModes(table, strict, marks), std::move(map));
	if (!scope.Needed())
		return {ChecksumLocalTable(table), {}};
	TargetSide side;
	side.checksum = ChecksumMappedBack(table);
	side.leftovers = scope.LeftoverText();
	return side;
}

namespace {

/* Why a verification failed, for the table's state. */
std::string
FailureText(const Verification &v, const std::string &leftovers)
{
	std::string text = "verification failed: source has " + std::to_string(v.source_rows) + " rows, target " +
					   std::to_string(v.target_rows);
	if (v.source_rows == v.target_rows && v.source_checksum != v.target_checksum)
		text += ", checksums differ";
	if (!leftovers.empty())
		text += "; Supabase user IDs left on the target: " + leftovers;
	return text;
}

/* Records the outcome in cutover.verification and the table's state (verified or failed), in the caller's
 * transaction. */
void
Record(FunctionCallInfo fcinfo, const pg::TableInfo &table, const Verification &v, const std::string &leftovers)
{
	/* The record belongs to the extension: it is written as the extension's owner, whoever verifies. */
	pg::AsExtensionOwner owner(fcinfo);
	pg::Spi spi;
	spi.Execute("INSERT INTO cutover.verification (table_name, source_rows, target_rows, source_checksum, "
				"target_checksum, ok, seconds, source_side) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				false,
				{{TEXTOID, v.table_name},
				 {INT8OID, std::to_string(v.source_rows)},
				 {INT8OID, std::to_string(v.target_rows)},
				 {TEXTOID, v.source_checksum},
				 {TEXTOID, v.target_checksum},
				 {BOOLOID, std::string(v.ok ? "true" : "false")},
				 {FLOAT8OID, std::to_string(v.seconds)},
				 {TEXTOID, std::string(v.source_side)}});
	spi.Execute(
		"INSERT INTO cutover.table_state AS s (table_schema, table_name, status, rows, source_checksum, "
		"target_checksum, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7) "
		"ON CONFLICT (table_schema, table_name) DO UPDATE SET status = EXCLUDED.status, rows = EXCLUDED.rows, "
		"source_checksum = EXCLUDED.source_checksum, target_checksum = EXCLUDED.target_checksum, "
		"last_error = EXCLUDED.last_error, updated_at = pg_catalog.now()",
		false,
		{{TEXTOID, table.schema},
		 {TEXTOID, table.name},
		 {TEXTOID, std::string(v.ok ? "verified" : "failed")},
		 {INT8OID, std::to_string(v.target_rows)},
		 {TEXTOID, v.source_checksum},
		 {TEXTOID, v.target_checksum},
		 {TEXTOID, v.ok ? std::optional<std::string>() : std::optional<std::string>(FailureText(v, leftovers))}});
	/*
	 * A pull in key ranges that ended is over once its outcome is known: a table that fails is pulled again
	 * from the start by the next pull, not finished again (a pull still loading ranges keeps them).
	 */
	spi.Execute("UPDATE cutover.table_ranges AS g SET status = 'split', rows = NULL, finished_at = NULL "
				"WHERE g.table_schema = $1 AND g.table_name = $2 AND g.status = 'loaded' AND NOT EXISTS "
				"(SELECT FROM cutover.table_ranges AS p WHERE p.table_schema = $1 AND p.table_name = $2 "
				"AND p.status = 'pending')",
				false, {{TEXTOID, table.schema}, {TEXTOID, table.name}});
}

} // namespace

/* Compares the two sides, records the result (cutover.verification and the state) and returns it. */
Verification
Conclude(FunctionCallInfo fcinfo, const pg::TableInfo &table, int64_t source_rows, std::string source_checksum,
		 const TargetSide &side, std::chrono::steady_clock::time_point started, const char *source_side)
{
	const TableChecksum &target = side.checksum;
	Verification v;
	v.table_name = table.qualified;
	v.source_rows = source_rows;
	v.source_checksum = std::move(source_checksum);
	v.target_rows = target.rows;
	v.target_checksum = target.checksum;
	v.source_side = source_side;
	/* a Supabase ID left on the target fails the table even where the source holds the same ID */
	v.ok = v.source_rows == v.target_rows && v.source_checksum == v.target_checksum && side.leftovers.empty();
	v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	Record(fcinfo, table, v, side.leftovers);
	if (!side.leftovers.empty())
		pg::Call([&] {
			ereport(WARNING, (errmsg("table %s holds Supabase user IDs that were not rewritten", v.table_name.c_str()),
							  errdetail("%s", side.leftovers.c_str())));
		});
	return v;
}

BothSides
ChecksumBothSides(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table,
				  const std::vector<std::string> &user_id_columns)
{
	/* Source and target at the same time: the source works (or sends) while this backend scans the target. */
	BothSides sides;
	std::string source_scan =
		table.filter.empty() ? table.scan : "(SELECT * FROM " + table.scan + " WHERE " + table.filter + ")";
	if (StreamsFromSource(source)) {
		std::vector<std::string> names;
		for (const auto &column : table.columns)
			names.push_back(column.name);
		core::CopyChecksum sum(names);
		CopyReader rows(source, core::SourceStreamSql(source_scan, table.columns),
						"the rows of table " + table.qualified,
						[&](std::string_view line, std::string &error) { return sum.Add(line, error); });
		sides.target = ChecksumTarget(fcinfo, table, user_id_columns);
		rows.Finish();
		core::Checksum source_sum = sum.Result();
		sides.source_rows = source_sum.rows;
		sides.source_checksum = source_sum.Hex();
		sides.source_side = "stream";
		return sides;
	}
	source.Send(core::SourceChecksumSql(source_scan, table.columns));
	sides.target = ChecksumTarget(fcinfo, table, user_id_columns);
	SourceResult result;
	try {
		result = source.Wait();
	} catch (const Error &error) {
		throw NamingTable(error, "The source raised it while computing the checksum of table " + table.qualified + ".");
	}
	if (!result || PQntuples(result.get()) != 1 || PQnfields(result.get()) != 2)
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source returned no checksum for table " + table.qualified);

	const char *rows_text = PQgetvalue(result.get(), 0, 0);
	auto [end, parse_error] = std::from_chars(rows_text, rows_text + std::strlen(rows_text), sides.source_rows);
	if (parse_error != std::errc() || *end != '\0')
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source returned \"" + std::string(rows_text) +
													"\" as the row count of table " + table.qualified);
	sides.source_checksum = PQgetvalue(result.get(), 0, 1);
	sides.source_side = "sql";
	return sides;
}

namespace {

Verification
Verify(FunctionCallInfo fcinfo, Oid relid)
{
	auto started = std::chrono::steady_clock::now();
	pg::TableInfo table = pg::DescribeTable(relid);

	SourceConnection source = SourceConnection::Open();
	CheckSourceColumns(source, table);
	BothSides sides = ChecksumBothSides(fcinfo, source, table, UserIdColumns(fcinfo, source, table));
	return Conclude(fcinfo, table, sides.source_rows, sides.source_checksum, sides.target, started, sides.source_side);
}

/*
 * The target table against a row count and checksum computed elsewhere (the manifest of an archive): the
 * target side of Verify, with the user-ID columns the caller names mapped back to source IDs.
 */
Verification
VerifyAgainst(FunctionCallInfo fcinfo, Oid relid, int64_t source_rows, const std::string &source_checksum,
			  const std::vector<std::string> &user_id_columns)
{
	auto started = std::chrono::steady_clock::now();
	pg::TableInfo table = pg::DescribeTable(relid);
	/* what is recorded must be figures: a row count and 64 hex digits as migrate_checksum prints them */
	if (source_rows < 0)
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "the source row count of table " + table.qualified +
														 " must not be negative: " + std::to_string(source_rows));
	if (source_checksum.size() != 64 || !std::all_of(source_checksum.begin(), source_checksum.end(), [](char ch) {
			return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
		}))
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
					"the source checksum of table " + table.qualified + " is not a checksum",
					"A checksum is 64 lowercase hex digits, as migrate_checksum and manifest.json print it.",
					"Pass the checksum of the table's entry in manifest.json unchanged.");
	for (const auto &name : user_id_columns)
		if (std::none_of(table.columns.begin(), table.columns.end(),
						 [&](const core::Column &column) { return column.name == name; }))
			throw Error(ERRCODE_UNDEFINED_COLUMN,
						"table " + table.qualified + " has no column " + pg::QuoteIdentifier(name), "",
						"Name only columns of the table as holding user IDs.");
	TargetSide target = ChecksumTarget(fcinfo, table, user_id_columns);
	return Conclude(fcinfo, table, source_rows, source_checksum, target, started, "given");
}

} // namespace

Datum
VerificationRow(FunctionCallInfo fcinfo, const Verification &v)
{
	Datum values[7] = {pg::TextDatum(v.table_name),		 Int64GetDatum(v.source_rows),	   Int64GetDatum(v.target_rows),
					   pg::TextDatum(v.source_checksum), pg::TextDatum(v.target_checksum), BoolGetDatum(v.ok),
					   Float8GetDatum(v.seconds)};
	bool nulls[7] = {false, false, false, false, false, false, false};
	return pg::ResultRow(fcinfo, values, nulls);
}

} // namespace pgc

using namespace pgc;

/* migrate_verify(tbl regclass) -> (table_name, source_rows, target_rows, source_checksum, target_checksum, ok, seconds)
 */
PGC_FUNCTION(migrate_verify)
{
	Verification v = Verify(fcinfo, PG_GETARG_OID(0));
	return VerificationRow(fcinfo, v);
}

/*
 * migrate_verify_checksum(tbl regclass, source_rows bigint, source_checksum text, user_id_columns text[])
 * -> the same row as migrate_verify
 */
PGC_FUNCTION(migrate_verify_checksum)
{
	std::string checksum = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(2)); });
	Verification v = VerifyAgainst(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT64(1), checksum,
								   NamesArgument(fcinfo, 3, "user-ID column names"));
	return VerificationRow(fcinfo, v);
}
