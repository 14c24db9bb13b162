/*
 * checksum_state.hpp: the transition state of the checksum aggregates, and how a row is added to it. Shared by
 * migrate_checksum_agg and migrate_unmapped_checksum_agg (checksum.cpp) and by migrate_bucket_agg and
 * migrate_unmapped_bucket_agg (bucket_agg.cpp).
 */
#pragma once

#include "core/checksum.hpp"
#include "core/md5_batch.hpp"
#include "fields.hpp"
#include "guard.hpp"

namespace pgc {

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

/* A new, empty state in `context`, aligned as it needs. */
ChecksumState *NewState(MemoryContext context);

/* The state a transition function is given (argument 0), or a new one in `context` at the first row. */
inline ChecksumState *
StateArgument(FunctionCallInfo fcinfo, MemoryContext context)
{
	return PG_ARGISNULL(0) ? NewState(context) : reinterpret_cast<ChecksumState *>(PG_GETARG_POINTER(0));
}

/*
 * Looks at the argument types once: how to print each, and the output function where one is needed. The
 * fields are the arguments from `first` on.
 */
void PrepareFields(ChecksumState *state, FunctionCallInfo fcinfo, MemoryContext context, int first, const char *name);

/* Prints the row of the aggregate's arguments the way ROW(...)::text would and adds its hash to `sum`. */
void AddRow(ChecksumState *state, FunctionCallInfo fcinfo, core::Checksum &sum);

/*
 * The same for a whole row of a table (argument `argument`), its user IDs mapped back in the active scope of
 * the aggregate `name`.
 */
void AddUnmappedRow(ChecksumState *state, FunctionCallInfo fcinfo, int argument, core::Checksum &sum, const char *name);

/* The state's checksum with every pending row hashed in. */
const core::Checksum &Settled(ChecksumState *state);

/* The aggregate's memory context; 0A000 naming `function` when it is not called as part of an aggregate. */
MemoryContext AggregateContext(FunctionCallInfo fcinfo, const char *function);

} // namespace pgc
