/*
 * checksum.cpp: migrate_checksum, migrate_checksum_agg (a parallel-safe aggregate),
 * migrate_unmapped_checksum_agg and migrate_source_checksum_sql.
 *
 * The aggregate adds each row to a state of checksum_state.cpp: its checksum is an exact 128-bit sum of the
 * md5 of each row's canonical text, so partial states from parallel workers combine by addition.
 */
#include <string>

#include "checksum.hpp"
#include "checksum_state.hpp"
#include "core/sql.hpp"
#include "pg/datum.hpp"
#include "pg/spi.hpp"

namespace pgc {

TableChecksum
ChecksumLocalTable(const pg::TableInfo &table, const std::string &aggregate)
{
	std::string call = aggregate.empty()
						   ? "cutover.migrate_checksum_agg(" + core::AggregateArguments("t", table.columns) + ")"
						   : aggregate;
	std::string sql = "SELECT count(*), " + call + " FROM " + table.scan + " AS t" +
					  (table.filter.empty() ? "" : " WHERE " + table.filter);
	pg::Spi spi;
	spi.Execute(sql, true);
	TableChecksum result;
	result.rows = spi.GetInt64(0, 0);
	result.checksum = spi.GetText(0, 1);
	return result;
}

} // namespace pgc

using namespace pgc;

/* migrate_checksum_agg(VARIADIC "any") transition: adds one row, given as its columns in name order. */
PGC_FUNCTION(migrate_checksum_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_checksum_agg_transfn");
	bool first_row = PG_ARGISNULL(0);
	ChecksumState *state = StateArgument(fcinfo, context);
	if (first_row)
		PrepareFields(state, fcinfo, context, 1, "migrate_checksum_agg");
	AddRow(state, fcinfo, state->sum);
	PG_RETURN_POINTER(state);
}

/* Combines two partial states (parallel aggregation). */
PGC_FUNCTION(migrate_checksum_agg_combinefn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_checksum_agg_combinefn");
	if (PG_ARGISNULL(1)) {
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	auto *other = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(1));
	ChecksumState *state = StateArgument(fcinfo, context);
	state->sum.Combine(Settled(other));
	PG_RETURN_POINTER(state);
}

/* Serializes a partial state for a parallel worker: 40 bytes. */
PGC_FUNCTION(migrate_checksum_agg_serialfn)
{
	auto *state = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	bytea *out = static_cast<bytea *>(pg::Call([] { return palloc(VARHDRSZ + core::Checksum::kSerializedSize); }));
	SET_VARSIZE(out, VARHDRSZ + core::Checksum::kSerializedSize);
	Settled(state).Serialize(reinterpret_cast<unsigned char *>(VARDATA(out)));
	PG_RETURN_BYTEA_P(out);
}

PGC_FUNCTION(migrate_checksum_agg_deserialfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_checksum_agg_deserialfn");
	bytea *in = pg::Call([&] { return PG_GETARG_BYTEA_PP(0); });
	if (VARSIZE_ANY_EXHDR(in) != core::Checksum::kSerializedSize)
		throw Error(ERRCODE_DATA_CORRUPTED, "checksum state has " + std::to_string(VARSIZE_ANY_EXHDR(in)) +
												" bytes, expected " + std::to_string(core::Checksum::kSerializedSize));
	ChecksumState *state = NewState(context);
	state->sum = core::Checksum::Deserialize(reinterpret_cast<const unsigned char *>(VARDATA_ANY(in)));
	PG_RETURN_POINTER(state);
}

/* The checksum text: 64 hex digits (zeros for no rows). */
PGC_FUNCTION(migrate_checksum_agg_finalfn)
{
	core::Checksum sum;
	if (!PG_ARGISNULL(0))
		sum = Settled(reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0)));
	return pg::TextDatum(sum.Hex());
}

/*
 * cutover.migrate_unmapped_checksum_agg(record) transition: adds one whole row of a table, its user IDs mapped
 * back in the active UnmapScope (the verification's target side). Final function: migrate_checksum_agg's.
 */
PGC_FUNCTION(migrate_unmapped_checksum_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_unmapped_checksum_agg_transfn");
	ChecksumState *state = StateArgument(fcinfo, context);
	AddUnmappedRow(state, fcinfo, 1, state->sum, "migrate_unmapped_checksum_agg");
	PG_RETURN_POINTER(state);
}

/* migrate_checksum(tbl regclass) -> (rows bigint, checksum text) */
PGC_FUNCTION(migrate_checksum)
{
	pg::TableInfo table = pg::DescribeTable(PG_GETARG_OID(0));
	TableChecksum sum = ChecksumLocalTable(table);

	Datum values[2] = {Int64GetDatum(sum.rows), pg::TextDatum(sum.checksum)};
	bool nulls[2] = {false, false};
	return pg::ResultRow(fcinfo, values, nulls);
}

/* migrate_source_checksum_sql(tbl regclass) -> text: the script the source runs for the same figures. */
PGC_FUNCTION(migrate_source_checksum_sql)
{
	pg::TableInfo table = pg::DescribeTable(PG_GETARG_OID(0));
	return pg::TextDatum(core::SourceChecksumSql(table.scan, table.columns));
}
