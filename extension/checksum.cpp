/*
 * checksum.cpp: migrate_checksum, migrate_checksum_agg (a parallel-safe aggregate) and
 * migrate_source_checksum_sql.
 *
 * The aggregate receives each row as its columns, already in canonical (name) order, prints it the way
 * ROW(...)::text does (common types directly, the rest through their output functions), hashes it with md5
 * and adds the two halves of the hash to exact 128-bit sums. Its state is three numbers plus a batch of at
 * most sixteen rows (core::Md5Batch::kLanes) waiting to be hashed together, so memory stays flat whatever the table
 * size, and partial states from parallel workers combine by addition.
 */
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "checksum.hpp"
#include "core/checksum.hpp"
#include "core/md5_batch.hpp"
#include "core/sql.hpp"
#include "fields.hpp"
#include "guard.hpp"
#include "pg/compat.hpp"
#include "pg/datum.hpp"
#include "pg/spi.hpp"
#include "unmap.hpp"

namespace pgc {

namespace {

/*
 * The aggregate's transition state, allocated in the aggregate's memory context. The checksum proper is
 * `sum`; `batch` holds up to sixteen rows (Md5Batch::kLanes) not yet hashed into it, so every reader flushes
 * it first.
 */
struct ChecksumState {
	core::Checksum sum;
	core::RowHashBatch batch;
	int first;	 /* the argument of the first field: 1, or 2 after migrate_bucket_agg's bucket */
	int nfields; /* arguments after the state: one per column, or one per run of columns for wide tables */
	FieldKind *kinds;
	FmgrInfo *output;
	/* migrate_bucket_agg: the checksum of each bucket, 0 to nbuckets - 1 (sum stays empty) */
	core::Checksum *buckets;
	void *buckets_memory; /* what was allocated for them (the array itself is aligned to 16 bytes) */
	int nbuckets;
};

/* Where each row's text is written (straight into the batch); its spill buffer grows to the widest row. */
core::RowSink &
Sink()
{
	static core::RowSink sink;
	return sink;
}

ChecksumState *
NewState(MemoryContext context)
{
	/* palloc aligns to 8 bytes; the state wants more (128-bit sums, the batch's lanes). */
	constexpr size_t align = alignof(ChecksumState);
	void *memory = pg::Call([&] { return MemoryContextAllocZero(context, sizeof(ChecksumState) + align); });
	auto address = reinterpret_cast<uintptr_t>(memory);
	return new (reinterpret_cast<void *>((address + align - 1) & ~(uintptr_t) (align - 1))) ChecksumState();
}

/*
 * Looks at the argument types once: how to print each, and the output function where one is needed. The
 * fields are the arguments from `first` on.
 */
void
PrepareFields(ChecksumState *state, FunctionCallInfo fcinfo, MemoryContext context, int first, const char *name)
{
	if (pg::Call([&] { return get_fn_expr_variadic(fcinfo->flinfo); }))
		throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, std::string(name) + " does not take a VARIADIC array", "",
					"Pass the columns themselves, in column-name order.");
	int nfields = PG_NARGS() - first;
	state->kinds = static_cast<FieldKind *>(
		pg::Call([&] { return MemoryContextAllocZero(context, sizeof(FieldKind) * Max(nfields, 1)); }));
	state->output = static_cast<FmgrInfo *>(
		pg::Call([&] { return MemoryContextAllocZero(context, sizeof(FmgrInfo) * Max(nfields, 1)); }));
	for (int i = 0; i < nfields; i++) {
		Oid type = pg::Call([&] { return get_fn_expr_argtype(fcinfo->flinfo, first + i); });
		if (!OidIsValid(type))
			throw Error(ERRCODE_INDETERMINATE_DATATYPE,
						"could not determine the type of argument " + std::to_string(first + i) + " of " + name);
		state->kinds[i] = FieldKindOf(type);
		if (state->kinds[i] == FieldKind::Row || state->kinds[i] == FieldKind::Generic)
			PrepareOutput(type, &state->output[i], context);
	}
	state->first = first;
	state->nfields = nfields;
}

/*
 * Adds the hash of the row `print` writes to `sum` (through the batch: `sum` must stay put until the batch is
 * flushed). Printed values go to the per-row context.
 */
template <typename Print>
void
HashRow(ChecksumState *state, core::Checksum &sum, Print print)
{
	core::RowSink &text = Sink();
	text.Begin(state->batch);
	print(text);
	if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII) {
		text.End(state->batch, sum);
		return;
	}
	/* The canonical text is UTF-8, as convert_to(..., 'UTF8') gives it on the source. */
	const std::string &row = text.Text();
	char *utf8 = pg::Call([&] { return pg_server_to_any(row.data(), static_cast<int>(row.size()), PG_UTF8); });
	state->batch.Add(sum, utf8, std::strlen(utf8));
}

/* Prints the row of the aggregate's arguments the way ROW(...)::text would and adds its hash to `sum`. */
void
AddRow(ChecksumState *state, FunctionCallInfo fcinfo, core::Checksum &sum)
{
	HashRow(state, sum, [&](core::RowSink &text) {
		text.Push('(');
		for (int i = 0; i < state->nfields; i++) {
			if (i > 0)
				text.Push(',');
			if (!PG_ARGISNULL(state->first + i))
				AppendField(text, state->kinds[i], &state->output[i], PG_GETARG_DATUM(state->first + i));
		}
		text.Push(')');
	});
}

/*
 * The same for a whole row of a table (argument `argument`), its user IDs mapped back in the active scope of
 * the aggregate `name`.
 */
void
AddUnmappedRow(ChecksumState *state, FunctionCallInfo fcinfo, int argument, core::Checksum &sum, const char *name)
{
	UnmapScope &scope = UnmapScope::Active(name);
	if (PG_ARGISNULL(argument))
		throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "the row to checksum must not be NULL");
	HeapTupleHeader row = pg::Call([&] { return pg::RowArgument(fcinfo, argument); });
	HashRow(state, sum, [&](core::RowSink &text) { scope.AppendRow(text, row); });
}

/* Makes room for bucket `bucket` (the batch is flushed first: pending rows point into the old array). */
void
GrowBuckets(ChecksumState *state, int bucket, MemoryContext context)
{
	state->batch.Flush();
	int count = std::max(bucket + 1, std::max(64, state->nbuckets * 2));
	/* palloc aligns to 8 bytes; the 128-bit sums want 16 */
	constexpr size_t align = alignof(core::Checksum);
	void *memory = pg::Call([&] { return MemoryContextAllocZero(context, sizeof(core::Checksum) * count + align); });
	auto address = reinterpret_cast<uintptr_t>(memory);
	auto *buckets = reinterpret_cast<core::Checksum *>((address + align - 1) & ~(uintptr_t) (align - 1));
	for (int i = 0; i < count; i++)
		new (&buckets[i]) core::Checksum(i < state->nbuckets ? state->buckets[i] : core::Checksum());
	if (void *old = state->buckets_memory)
		pg::Call([&] { pfree(old); });
	state->buckets = buckets;
	state->buckets_memory = memory;
	state->nbuckets = count;
}

/* The bucket of the row (the argument after the state), with room made for it. */
int
BucketArgument(ChecksumState *state, FunctionCallInfo fcinfo, MemoryContext context)
{
	if (PG_ARGISNULL(1))
		throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "the bucket of a row must not be NULL");
	int bucket = PG_GETARG_INT32(1);
	if (bucket < 0)
		throw Error(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "bucket " + std::to_string(bucket) + " is negative");
	if (bucket >= state->nbuckets)
		GrowBuckets(state, bucket, context);
	return bucket;
}

/* The state's checksum with every pending row hashed in. */
const core::Checksum &
Settled(ChecksumState *state)
{
	state->batch.Flush(state->sum);
	return state->sum;
}

MemoryContext
AggregateContext(FunctionCallInfo fcinfo, const char *function)
{
	MemoryContext context = nullptr;
	if (!AggCheckCallContext(fcinfo, &context))
		throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
					std::string(function) + " can only be called as part of an aggregate");
	return context;
}

} // namespace

TableChecksum
ChecksumLocalTable(const pg::TableInfo &table, const std::string &aggregate)
{
	std::string call = aggregate.empty()
						   ? "cutover.migrate_checksum_agg(" + core::AggregateArguments("t", table.columns) + ")"
						   : aggregate;
	std::string sql = "SELECT count(*), " + call + " FROM " + table.scan + " AS t";
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
	ChecksumState *state;
	if (PG_ARGISNULL(0)) {
		state = NewState(context);
		PrepareFields(state, fcinfo, context, 1, "migrate_checksum_agg");
	} else {
		state = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	}
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
	ChecksumState *state =
		PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
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
 * migrate_bucket_agg(VARIADIC "any") transition: the first argument is the row's bucket (integer, 0 or more),
 * the others its columns in name order as for migrate_checksum_agg. migrate_diff's target side: one pass gives
 * the checksum of every bucket.
 */
PGC_FUNCTION(migrate_bucket_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_bucket_agg_transfn");
	ChecksumState *state;
	if (PG_ARGISNULL(0)) {
		Oid bucket_type = pg::Call([&] { return get_fn_expr_argtype(fcinfo->flinfo, 1); });
		if (bucket_type != INT4OID)
			throw Error(ERRCODE_DATATYPE_MISMATCH, "the first argument of migrate_bucket_agg must be an integer");
		state = NewState(context);
		PrepareFields(state, fcinfo, context, 2, "migrate_bucket_agg");
	} else {
		state = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	}
	int bucket = BucketArgument(state, fcinfo, context);
	AddRow(state, fcinfo, state->buckets[bucket]);
	PG_RETURN_POINTER(state);
}

/*
 * cutover.migrate_unmapped_checksum_agg(record) transition: adds one whole row of a table, its user IDs mapped
 * back in the active UnmapScope (the verification's target side). Final function: migrate_checksum_agg's.
 */
PGC_FUNCTION(migrate_unmapped_checksum_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_unmapped_checksum_agg_transfn");
	ChecksumState *state =
		PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	AddUnmappedRow(state, fcinfo, 1, state->sum, "migrate_unmapped_checksum_agg");
	PG_RETURN_POINTER(state);
}

/*
 * cutover.migrate_unmapped_bucket_agg(integer, record) transition: migrate_bucket_agg for a whole row, its
 * user IDs mapped back in the active UnmapScope. Final function: migrate_bucket_agg's.
 */
PGC_FUNCTION(migrate_unmapped_bucket_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_unmapped_bucket_agg_transfn");
	ChecksumState *state =
		PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
	int bucket = BucketArgument(state, fcinfo, context);
	AddUnmappedRow(state, fcinfo, 2, state->buckets[bucket], "migrate_unmapped_bucket_agg");
	PG_RETURN_POINTER(state);
}

/* The checksum of each bucket up to the last one that has rows: 40 bytes each (Checksum::Serialize). */
PGC_FUNCTION(migrate_bucket_agg_finalfn)
{
	int count = 0;
	ChecksumState *state = nullptr;
	if (!PG_ARGISNULL(0)) {
		state = reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
		state->batch.Flush();
		for (int i = 0; i < state->nbuckets; i++)
			if (state->buckets[i].rows > 0)
				count = i + 1;
	}
	constexpr size_t size = core::Checksum::kSerializedSize;
	bytea *out = static_cast<bytea *>(pg::Call([&] { return palloc(VARHDRSZ + size * count); }));
	SET_VARSIZE(out, VARHDRSZ + size * count);
	for (int i = 0; i < count; i++)
		state->buckets[i].Serialize(reinterpret_cast<unsigned char *>(VARDATA(out)) + size * i);
	PG_RETURN_BYTEA_P(out);
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
