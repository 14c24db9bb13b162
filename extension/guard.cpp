/*
 * guard.cpp: C++ exceptions to ereport at each SQL entry, PostgreSQL errors to C++ exceptions at each call.
 */
#include <cstdio>
#include <cstring>
#include <new>

#include "guard.hpp"

#include "core/escapes.hpp"

namespace pgc {

namespace {

/*
 * The error being raised, copied out of the exception inside the catch block. Static storage: copying must
 * not allocate (an allocation failure inside a catch block would longjmp out of it).
 */
constexpr size_t kTextMax = 8192;
char error_message[kTextMax];
char error_detail[kTextMax];
char error_hint[kTextMax];
char error_detail_log[kTextMax]; /* server log only */
char error_context[kTextMax];
/* the object fields of the error (PG_DIAG_SCHEMA_NAME, ...): names, so short */
constexpr size_t kNameMax = 256;
char error_schema[kNameMax], error_table[kNameMax], error_column[kNameMax], error_datatype[kNameMax],
	error_constraint[kNameMax];
int error_sqlstate = 0;
bool hide_statement = false;

/* `src` into `dst` (of `max` bytes), cut with "..." if need be, never inside a UTF-8 character. */
void
CopyText(char *dst, const std::string &src, size_t max = kTextMax)
{
	size_t n = src.size();
	if (n >= max) {
		n = core::Utf8Prefix(src, max - 4);
		std::memcpy(dst, src.data(), n);
		std::memcpy(dst + n, "...", 4);
		return;
	}
	std::memcpy(dst, src.data(), n);
	dst[n] = '\0';
}

void
ClearContext()
{
	error_context[0] = error_schema[0] = error_table[0] = error_column[0] = error_datatype[0] = error_constraint[0] =
		'\0';
}

} // namespace

void
HideStatementOnError()
{
	hide_statement = true;
}

void
StashCurrentException() noexcept
{
	error_detail_log[0] = '\0';
	ClearContext();
	try {
		throw;
	} catch (const Error &e) {
		error_sqlstate = e.sqlstate();
		CopyText(error_message, e.message());
		CopyText(error_detail, e.detail());
		CopyText(error_hint, e.hint());
		CopyText(error_context, e.context());
		CopyText(error_schema, e.objects().schema, kNameMax);
		CopyText(error_table, e.objects().table, kNameMax);
		CopyText(error_column, e.objects().column, kNameMax);
		CopyText(error_datatype, e.objects().datatype, kNameMax);
		CopyText(error_constraint, e.objects().constraint, kNameMax);
	} catch (const std::bad_alloc &) {
		error_sqlstate = ERRCODE_OUT_OF_MEMORY;
		snprintf(error_message, kTextMax, "out of memory");
		error_detail[0] = error_hint[0] = '\0';
	} catch (const std::exception &e) {
		/* A bug: the user gets a plain message, the server log also gets the library's own words. */
		error_sqlstate = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
		snprintf(error_message, kTextMax, "pg_cutover failed unexpectedly");
		snprintf(error_detail_log, kTextMax, "%s", e.what());
		error_detail[0] = '\0';
		snprintf(error_hint, kTextMax, "This is a bug in pg_cutover; please report it with the server log.");
	} catch (...) {
		error_sqlstate = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
		snprintf(error_message, kTextMax, "pg_cutover failed unexpectedly");
		error_detail[0] = '\0';
		snprintf(error_hint, kTextMax, "This is a bug in pg_cutover; please report it with the server log.");
	}
}

namespace {

/* Raises the stashed error; `hide` keeps the statement (and the context) out of it. */
[[noreturn]] void
Raise(bool hide)
{
	/*
	 * The exception object is gone: only static buffers are left, so raising the PostgreSQL error is safe. A
	 * call whose arguments may hold a secret also drops the error context, which would quote the calling
	 * statement (SPI adds 'SQL statement "..."' when the call comes from PL/pgSQL); the catching frame restores
	 * the context stack as usual.
	 */
	if (hide)
		error_context_stack = nullptr;
	/* a PostgreSQL error caught on the way keeps where it happened (COPY's line) and the objects it named */
	ereport(ERROR, (errcode(error_sqlstate), errmsg_internal("%s", error_message),
					error_detail[0] ? errdetail_internal("%s", error_detail) : 0,
					error_detail_log[0] ? errdetail_log("%s", error_detail_log) : 0,
					error_hint[0] ? errhint("%s", error_hint) : 0,
					error_context[0] && !hide ? errcontext_msg("%s", error_context) : 0,
					error_schema[0] ? err_generic_string(PG_DIAG_SCHEMA_NAME, error_schema) : 0,
					error_table[0] ? err_generic_string(PG_DIAG_TABLE_NAME, error_table) : 0,
					error_column[0] ? err_generic_string(PG_DIAG_COLUMN_NAME, error_column) : 0,
					error_datatype[0] ? err_generic_string(PG_DIAG_DATATYPE_NAME, error_datatype) : 0,
					error_constraint[0] ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, error_constraint) : 0,
					errhidestmt(hide), errhidecontext(hide)));
	pg_unreachable();
}

} // namespace

void
RaiseStashedError()
{
	Raise(hide_statement);
}

Datum
RunGuarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo)
{
	/* The flag belongs to this call: a guarded call nested in it (SPI) must not clear it for the outer one. */
	bool outer_hide_statement = hide_statement;
	hide_statement = false;
	try {
		Datum result = body(fcinfo);
		hide_statement = outer_hide_statement;
		return result;
	} catch (...) {
		StashCurrentException();
	}
	/* the outer call's flag is back before the error leaves this one, whose own flag decides what it hides */
	bool hide = hide_statement;
	hide_statement = outer_hide_statement;
	Raise(hide);
}

namespace pg {

namespace {

/* Copies the current error out of the error state; returns nullptr if even that fails. */
ErrorData *
CopyCurrentError(MemoryContext context)
{
	ErrorData *volatile copy = nullptr;
	sigjmp_buf *volatile saved_exception_stack = PG_exception_stack;
	sigjmp_buf local;

	MemoryContextSwitchTo(context);
	if (sigsetjmp(local, 0) == 0) {
		PG_exception_stack = &local;
		copy = CopyErrorData();
		FlushErrorState();
	}
	PG_exception_stack = saved_exception_stack;
	return copy;
}

/*
 * The lines of an error's context that say where inside pg_cutover's work it happened ("COPY big, line 5,
 * column id: ..."), up to the first that belongs to a statement: the extension's own SQL ("SQL statement ...")
 * stays out of sight, and the caller's frames (a PL/pgSQL function) are added again when the error is raised
 * at the SQL entry.
 */
std::string
InnerContext(const std::string &context)
{
	static const char *const kStatementFrames[] = {"SQL statement ", "PL/pgSQL function ", "SQL function ",
												   "PL/pgSQL assignment ", "parallel worker"};
	std::string inner;
	std::size_t start = 0;
	while (start < context.size()) {
		std::size_t end = context.find('\n', start);
		std::string line = context.substr(start, end == std::string::npos ? std::string::npos : end - start);
		for (const char *frame : kStatementFrames)
			if (line.rfind(frame, 0) == 0)
				return inner;
		inner += (inner.empty() ? "" : "\n") + line;
		start = end == std::string::npos ? context.size() : end + 1;
	}
	return inner;
}

} // namespace

void
RethrowPostgresError(MemoryContext context)
{
	ErrorData *edata = CopyCurrentError(context);
	if (edata == nullptr) {
		FlushErrorState();
		MemoryContextSwitchTo(context);
		throw Error(ERRCODE_OUT_OF_MEMORY, "out of memory while reporting an error");
	}
	auto text = [](const char *value) { return std::string(value != nullptr ? value : ""); };
	Error error(edata->sqlerrcode, edata->message ? edata->message : "unknown error", text(edata->detail),
				text(edata->hint));
	error.WithContext(InnerContext(text(edata->context)),
					  {text(edata->schema_name), text(edata->table_name), text(edata->column_name),
					   text(edata->datatype_name), text(edata->constraint_name)});
	FreeErrorData(edata);
	throw error;
}

void
CheckForInterrupts()
{
	if (INTERRUPTS_PENDING_CONDITION())
		Call([] { ProcessInterrupts(); });
}

} // namespace pg
} // namespace pgc
