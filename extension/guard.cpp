/*
 * guard.cpp: C++ exceptions to ereport at each SQL entry, PostgreSQL errors to C++ exceptions at each call.
 */
#include <cstdio>
#include <cstring>
#include <new>

#include "guard.hpp"

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
int error_sqlstate = 0;
bool hide_statement = false;

void
CopyText(char *dst, const std::string &src)
{
	size_t n = src.size();
	if (n >= kTextMax) {
		n = kTextMax - 4;
		std::memcpy(dst, src.data(), n);
		std::memcpy(dst + n, "...", 4);
		return;
	}
	std::memcpy(dst, src.data(), n);
	dst[n] = '\0';
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
	try {
		throw;
	} catch (const Error &e) {
		error_sqlstate = e.sqlstate();
		CopyText(error_message, e.message());
		CopyText(error_detail, e.detail());
		CopyText(error_hint, e.hint());
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

void
RaiseStashedError()
{
	/*
	 * The exception object is gone: only static buffers are left, so raising the PostgreSQL error is safe. A
	 * call whose arguments may hold a secret also drops the error context, which would quote the calling
	 * statement (SPI adds 'SQL statement "..."' when the call comes from PL/pgSQL); the catching frame restores
	 * the context stack as usual.
	 */
	if (hide_statement)
		error_context_stack = nullptr;
	ereport(ERROR, (errcode(error_sqlstate), errmsg_internal("%s", error_message),
					error_detail[0] ? errdetail_internal("%s", error_detail) : 0,
					error_detail_log[0] ? errdetail_log("%s", error_detail_log) : 0,
					error_hint[0] ? errhint("%s", error_hint) : 0, errhidestmt(hide_statement),
					errhidecontext(hide_statement)));
	pg_unreachable();
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
	RaiseStashedError();
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
	Error error(edata->sqlerrcode, edata->message ? edata->message : "unknown error",
				edata->detail ? edata->detail : "", edata->hint ? edata->hint : "");
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
