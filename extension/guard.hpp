/*
 * guard.hpp: the boundary between C++ and PostgreSQL's error machinery.
 *
 * Two rules hold in every file of the extension:
 *
 *  1. C++ exceptions never reach PostgreSQL. Each SQL-callable function is written as
 *         PGC_FUNCTION(migrate_verify) { ... }
 *     which defines the C entry point and a C++ body. The entry runs the body inside try/catch, copies the
 *     error into static buffers inside the catch, and calls ereport only after the catch scope has ended,
 *     with the error's own SQLSTATE.
 *
 *  2. PostgreSQL's longjmp never crosses a C++ frame. A PostgreSQL call that can ereport is made through
 *     pgc::pg::Call(), which catches the longjmp right around that one call (sigsetjmp), restores the
 *     exception stack, the error context stack and the memory context, copies the error and throws it as
 *     a pgc::Error carrying the original SQLSTATE. The callable passed to Call() must not own objects with
 *     destructors.
 *
 * Inside a body, report errors with `throw pgc::Error(ERRCODE_..., "message", "detail", "hint")`, never with
 * ereport(ERROR).
 */
#pragma once

#include <csetjmp>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "pg/postgres.hpp"

namespace pgc {

/* An error on its way to the user: SQLSTATE, message, optional detail, hint, context and object fields. */
class Error : public std::exception
{
  public:
	Error(int sqlstate, std::string message, std::string detail = {}, std::string hint = {})
		: sqlstate_(sqlstate), message_(std::move(message)), detail_(std::move(detail)), hint_(std::move(hint))
	{
	}

	const char *
	what() const noexcept override
	{
		return message_.c_str();
	}
	int
	sqlstate() const
	{
		return sqlstate_;
	}
	const std::string &
	message() const
	{
		return message_;
	}
	const std::string &
	detail() const
	{
		return detail_;
	}
	const std::string &
	hint() const
	{
		return hint_;
	}

	/* Where a PostgreSQL error happened ("COPY big, line 5"), and the object fields it named, kept when it is
	 * raised again at the SQL entry. */
	const std::string &
	context() const
	{
		return context_;
	}
	struct Objects {
		std::string schema, table, column, datatype, constraint;
	};
	const Objects &
	objects() const
	{
		return objects_;
	}
	Error &
	WithContext(std::string context, Objects objects)
	{
		context_ = std::move(context);
		objects_ = std::move(objects);
		return *this;
	}

	/* Returns a copy whose message starts with `prefix` (e.g. "on the source: "). */
	Error
	Prefixed(const std::string &prefix) const
	{
		Error copy(sqlstate_, prefix + message_, detail_, hint_);
		copy.context_ = context_;
		copy.objects_ = objects_;
		return copy;
	}

  private:
	int sqlstate_;
	std::string message_;
	std::string detail_;
	std::string hint_;
	std::string context_;
	Objects objects_;
};

/*
 * Keeps the failing statement's text out of the server log for errors raised by the current SQL call
 * (errhidestmt). Used by calls whose arguments may hold a secret, such as migrate_source().
 */
void HideStatementOnError();

/*
 * For a C callback that PostgreSQL calls from inside its own code: inside a catch block, StashCurrentException
 * copies the exception being handled into static storage (no allocation); after the catch scope has ended,
 * RaiseStashedError raises it as the guard at an SQL entry would. RunGuarded is built on the two.
 */
void StashCurrentException() noexcept;
[[noreturn]] void RaiseStashedError();

/* Runs a C++ body for a C entry point; see PGC_FUNCTION. Not to be called directly. */
Datum RunGuarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo);

namespace pg {

/* Raises the error currently held by PostgreSQL's error state as a pgc::Error. Used by Call(). */
[[noreturn]] void RethrowPostgresError(MemoryContext context);

/* Restores PostgreSQL's exception and error-context stacks when a Call() frame is left, by any path. */
class ExceptionStackRestore
{
  public:
	ExceptionStackRestore() : exception_stack_(PG_exception_stack), context_stack_(error_context_stack) {}
	~ExceptionStackRestore() { Restore(); }
	void
	Restore()
	{
		PG_exception_stack = exception_stack_;
		error_context_stack = context_stack_;
	}
	ExceptionStackRestore(const ExceptionStackRestore &) = delete;
	ExceptionStackRestore &operator=(const ExceptionStackRestore &) = delete;

  private:
	sigjmp_buf *exception_stack_;
	ErrorContextCallback *context_stack_;
};

/*
 * Calls func() with PostgreSQL errors turned into pgc::Error. func must be a plain call into PostgreSQL that
 * owns no C++ objects needing destruction: a longjmp out of it lands back in this frame, never past it.
 */
template <typename Func>
auto
Call(Func &&func) -> decltype(func())
{
	using Result = decltype(func());
	static_assert(std::is_void_v<Result> || std::is_trivially_destructible_v<Result>,
				  "pg::Call returns plain values only");
	ExceptionStackRestore restore;
	MemoryContext context = CurrentMemoryContext;
	sigjmp_buf local;

	if (sigsetjmp(local, 0) != 0) {
		restore.Restore();
		RethrowPostgresError(context);
	}
	PG_exception_stack = &local;
	return func();
}

/* CHECK_FOR_INTERRUPTS() as a throw: query cancel, statement_timeout, termination. */
void CheckForInterrupts();

} // namespace pg
} // namespace pgc

/* Defines SQL-callable `name`: the C entry (extern "C", PG_FUNCTION_INFO_V1) and the C++ body that follows. */
#define PGC_FUNCTION(name)                                                                                             \
	static Datum name##_Cpp(FunctionCallInfo fcinfo);                                                                  \
	extern "C" {                                                                                                       \
	PG_FUNCTION_INFO_V1(name);                                                                                         \
	Datum                                                                                                              \
	name(PG_FUNCTION_ARGS)                                                                                             \
	{                                                                                                                  \
		return pgc::RunGuarded(name##_Cpp, fcinfo);                                                                    \
	}                                                                                                                  \
	}                                                                                                                  \
	static Datum name##_Cpp(FunctionCallInfo fcinfo)
