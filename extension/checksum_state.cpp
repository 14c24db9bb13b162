/*
 * checksum_state.cpp: the checksum aggregates' transition state (checksum_state.hpp).
 *
 * A row arrives as its columns, already in canonical (name) order (or as a whole row, its user IDs mapped back
 * in an UnmapScope); it is printed the way ROW(...)::text does (common types directly, the rest through their
 * output functions), hashed with md5 and its two halves added to exact 128-bit sums. The state is three
 * numbers plus a batch of at most sixteen rows (core::Md5Batch::kLanes) waiting to be hashed together, so
 * memory stays flat whatever the table size.
 */
#include <cstring>
#include <new>
#include <string>

#include "checksum_state.hpp"
#include "pg/compat.hpp"
#include "unmap.hpp"

namespace pgc {

namespace {

/* Where each row's text is written (straight into the batch); its spill buffer grows to the widest row. */
core::RowSink &
Sink()
{
	static core::RowSink sink;
	return sink;
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

} // namespace

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

} // namespace pgc
