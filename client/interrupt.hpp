/*
 * interrupt.hpp: Ctrl-C (SIGINT) and SIGTERM stop the work on the servers too (interrupt.cpp).
 *
 * As psql does, the signal handler sends a cancel request (PQcancel, safe in a signal handler) for the
 * statement running on every registered connection, and records the signal; the command sees its statements
 * fail with 57014, or reads Interrupted() in its loops, finishes what is in flight, says what was done and
 * what was rolled back, and exits 130. A second signal leaves at once.
 */
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace cutover {

void InstallInterruptHandlers();

/* Whether SIGINT or SIGTERM came. */
bool Interrupted();
/* "SIGINT" or "SIGTERM" (or "" when none came). */
std::string InterruptName();

/* Sleeps `time`, or less when a signal comes (a sleep of the standard library goes on after one). */
void SleepUnlessInterrupted(std::chrono::milliseconds time);

/* Thrown by a command that stopped at a signal, with what it did and what it rolled back. */
class InterruptedError : public std::runtime_error
{
  public:
	using std::runtime_error::runtime_error;
};

/* While it lives, a signal cancels the statement running on `conn` (a server-side statement: nothing else). */
class CancelOnInterrupt
{
  public:
	explicit CancelOnInterrupt(PGconn *conn);
	~CancelOnInterrupt();
	CancelOnInterrupt(const CancelOnInterrupt &) = delete;
	CancelOnInterrupt &operator=(const CancelOnInterrupt &) = delete;

  private:
	int slot_ = -1;
};

} // namespace cutover
