/*
 * bucket_agg.cpp: migrate_bucket_agg and migrate_unmapped_bucket_agg, migrate_diff's target side: one pass over
 * a table gives the checksum of every bucket its rows fall in (diff.cpp). The checksum of a bucket is the one
 * migrate_checksum_agg computes for its rows (checksum_state.cpp).
 */
#include <algorithm>
#include <new>
#include <string>

#include "checksum_state.hpp"

namespace pgc {

namespace {

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

} // namespace

} // namespace pgc

using namespace pgc;

/*
 * migrate_bucket_agg(VARIADIC "any") transition: the first argument is the row's bucket (integer, 0 or more),
 * the others its columns in name order as for migrate_checksum_agg. migrate_diff's target side: one pass gives
 * the checksum of every bucket.
 */
PGC_FUNCTION(migrate_bucket_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_bucket_agg_transfn");
	bool first_row = PG_ARGISNULL(0);
	if (first_row && pg::Call([&] { return get_fn_expr_argtype(fcinfo->flinfo, 1); }) != INT4OID)
		throw Error(ERRCODE_DATATYPE_MISMATCH, "the first argument of migrate_bucket_agg must be an integer");
	ChecksumState *state = StateArgument(fcinfo, context);
	if (first_row)
		PrepareFields(state, fcinfo, context, 2, "migrate_bucket_agg");
	int bucket = BucketArgument(state, fcinfo, context);
	AddRow(state, fcinfo, state->buckets[bucket]);
	PG_RETURN_POINTER(state);
}

/*
 * cutover.migrate_unmapped_bucket_agg(integer, record) transition: migrate_bucket_agg for a whole row, its
 * user IDs mapped back in the active UnmapScope. Final function: migrate_bucket_agg's.
 */
PGC_FUNCTION(migrate_unmapped_bucket_agg_transfn)
{
	MemoryContext context = AggregateContext(fcinfo, "migrate_unmapped_bucket_agg_transfn");
	ChecksumState *state = StateArgument(fcinfo, context);
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
