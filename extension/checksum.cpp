/*
 * checksum.cpp: migrate_checksum, migrate_checksum_agg (a parallel-safe aggregate) and
 * migrate_source_checksum_sql.
 *
 * The aggregate receives each row as ROW(c1, c2, ...) with the columns already in canonical (name) order,
 * renders it the way record_out does, hashes it with md5 and adds the two halves of the hash to exact
 * 128-bit sums. Its state is three numbers, so memory stays flat whatever the table size, and partial states
 * from parallel workers combine by addition.
 */
#include <cstring>
#include <new>
#include <string>

#include "checksum.hpp"
#include "core/checksum.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace pgc {

namespace {

/* The aggregate's transition state, allocated in the aggregate's memory context. */
struct ChecksumState {
	core::Checksum sum;
	/* Row type of the input, and how to print each of its fields: set up on the first row. */
	Oid row_type;
	int32 row_typmod;
	int natts;
	TupleDesc desc;
	FmgrInfo *output;
	Datum *values;
	bool *nulls;
	char **fields; /* printed fields of the current row; NULL for a NULL field */
};

/* Row text buffer reused for every row: its capacity grows to the widest row and stays. */
std::string &
RowBuffer()
{
	static std::string buffer;
	return buffer;
}

ChecksumState *
NewState(MemoryContext context)
{
	/* palloc aligns to 8 bytes, the 128-bit sums want 16 */
	constexpr size_t align = alignof(ChecksumState);
	void *memory = pg::Call([&] { return MemoryContextAllocZero(context, sizeof(ChecksumState) + align); });
	auto address = reinterpret_cast<uintptr_t>(memory);
	return new (reinterpret_cast<void *>((address + align - 1) & ~(uintptr_t)(align - 1))) ChecksumState();
}

/* Looks up the output function of every field of the row type; C only (runs inside pg::Call). */
void
PrepareRowType(ChecksumState *state, HeapTupleHeader row, MemoryContext context)
{
	Oid type = HeapTupleHeaderGetTypeId(row);
	int32 typmod = HeapTupleHeaderGetTypMod(row);
	MemoryContext old = MemoryContextSwitchTo(context);
	TupleDesc desc = lookup_rowtype_tupdesc_copy(type, typmod);

	state->natts = desc->natts;
	state->output = (FmgrInfo *) palloc0(sizeof(FmgrInfo) * Max(desc->natts, 1));
	state->values = (Datum *) palloc0(sizeof(Datum) * Max(desc->natts, 1));
	state->nulls = (bool *) palloc0(sizeof(bool) * Max(desc->natts, 1));
	state->fields = (char **) palloc0(sizeof(char *) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++) {
		Oid output_func;
		bool is_varlena;
		getTypeOutputInfo(TupleDescAttr(desc, i)->atttypid, &output_func, &is_varlena);
		fmgr_info_cxt(output_func, &state->output[i], context);
	}
	MemoryContextSwitchTo(old);
	state->desc = desc;
	state->row_type = type;
	state->row_typmod = typmod;
}

/* Splits the row into fields and prints each non-NULL one into state->fields; C only (runs inside pg::Call). */
void
PrintFields(ChecksumState *state, HeapTupleHeader row)
{
	HeapTupleData tuple;
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, state->desc, state->values, state->nulls);
	for (int i = 0; i < state->natts; i++)
		state->fields[i] = state->nulls[i] ? NULL : OutputFunctionCall(&state->output[i], state->values[i]);
}

void
AddRow(ChecksumState *state, HeapTupleHeader row, MemoryContext agg_context)
{
	if (state->output == nullptr || state->row_type != HeapTupleHeaderGetTypeId(row) ||
		state->row_typmod != HeapTupleHeaderGetTypMod(row))
		pg::Call([&] { PrepareRowType(state, row, agg_context); });

	/* Printed fields live in the per-row memory context, which the aggregate node resets for every row. */
	pg::Call([&] { PrintFields(state, row); });
	char **fields = state->fields;

	std::string &text = RowBuffer();
	text.clear();
	text.push_back('(');
	for (int i = 0; i < state->natts; i++) {
		if (i > 0)
			text.push_back(',');
		if (fields[i] != nullptr)
			core::AppendRowField(text, fields[i]);
	}
	text.push_back(')');

	if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII) {
		state->sum.AddRow(text);
		return;
	}
	/* The canonical text is UTF-8, as convert_to(..., 'UTF8') gives it on the source. */
	char *utf8 = pg::Call([&] { return pg_server_to_any(text.data(), static_cast<int>(text.size()), PG_UTF8); });
	state->sum.AddRow(std::string_view(utf8, std::strlen(utf8)));
}

MemoryContext
AggregateContext(FunctionCallInfo fcinfo, const char *function)
{
	MemoryContext context = nullptr;
	if (!AggCheckCallContext(fcinfo, &context))
		throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, std::string(function) + " can only be called as part of an aggregate");
	return context;
}

} // namespace

TableChecksum
ChecksumLocalTable(FunctionCallInfo fcinfo, const pg::TableInfo &table)
{
	std::string sql = "SELECT count(*), " + pg::ExtensionSchemaQuoted(fcinfo) + ".migrate_checksum_agg(" +
					  core::CanonicalRowExpression("t", table.columns) + ") FROM " + table.qualified + " AS t";
	pg::Spi spi;
	spi.Execute(sql, true);
	TableChecksum result;
	result.rows = spi.GetInt64(0, 0);
	result.checksum = spi.GetText(0, 1);
	return result;
}

} // namespace pgc

using namespace pgc;

/* migrate_checksum_agg(record) transition: adds one row. */
PGC_FUNCTION(migrate_checksum_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_checksum_agg_transfn");
	ChecksumState *state = PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	if (!PG_ARGISNULL(1)) {
		HeapTupleHeader row = pg::Call([&] { return PG_GETARG_HEAPTUPLEHEADER(1); });
		AddRow(state, row, context);
	}
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
	ChecksumState *state = PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	state->sum.Combine(other->sum);
	PG_RETURN_POINTER(state);
}

/* Serializes a partial state for a parallel worker: 40 bytes. */
PGC_FUNCTION(migrate_checksum_agg_serialfn)
{
	auto *state = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	bytea *out = static_cast<bytea *>(pg::Call([] { return palloc(VARHDRSZ + core::Checksum::kSerializedSize); }));
	SET_VARSIZE(out, VARHDRSZ + core::Checksum::kSerializedSize);
	state->sum.Serialize(reinterpret_cast<unsigned char *>(VARDATA(out)));
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
		sum = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0))->sum;
	std::string hex = sum.Hex();
	text *result = pg::Call([&] { return cstring_to_text_with_len(hex.data(), static_cast<int>(hex.size())); });
	PG_RETURN_TEXT_P(result);
}

/* migrate_checksum(tbl regclass) -> (rows bigint, checksum text) */
PGC_FUNCTION(migrate_checksum)
{
	pg::TableInfo table = pg::DescribeTable(PG_GETARG_OID(0));
	TableChecksum sum = ChecksumLocalTable(fcinfo, table);

	TupleDesc desc;
	if (pg::Call([&] { return get_call_result_type(fcinfo, nullptr, &desc); }) != TYPEFUNC_COMPOSITE)
		throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "migrate_checksum must be called in a context that accepts a row");
	Datum values[2];
	bool nulls[2] = {false, false};
	values[0] = Int64GetDatum(sum.rows);
	values[1] = pg::Call([&] { return PointerGetDatum(cstring_to_text(sum.checksum.c_str())); });
	HeapTuple tuple = pg::Call([&] { return heap_form_tuple(BlessTupleDesc(desc), values, nulls); });
	return HeapTupleGetDatum(tuple);
}

/* migrate_source_checksum_sql(tbl regclass) -> text: the script the source runs for the same figures. */
PGC_FUNCTION(migrate_source_checksum_sql)
{
	pg::TableInfo table = pg::DescribeTable(PG_GETARG_OID(0));
	std::string sql = core::SourceChecksumSql(table.qualified, table.columns);
	PG_RETURN_TEXT_P(pg::Call([&] { return cstring_to_text_with_len(sql.data(), static_cast<int>(sql.size())); }));
}

