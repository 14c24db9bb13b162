/*
 * source_links.cpp: every open connection to the source, and how one is cancelled and closed.
 *
 * A SourceConnection's destructor closes its link here; the exit and abort callbacks close whatever a FATAL
 * error or an aborted transaction left open. Closing cancels a query still running on the source within
 * kCancelSeconds, whatever the network does: plain libpq and poll(), no PostgreSQL call, no throw.
 */
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "source.hpp"

namespace pgc {

PGconn *
StartConnecting(const std::vector<std::string> &keys, const std::vector<std::string> &values)
{
	std::vector<const char *> key_ptrs;
	std::vector<const char *> value_ptrs;
	for (std::size_t i = 0; i < keys.size(); i++) {
		key_ptrs.push_back(keys[i].c_str());
		value_ptrs.push_back(values[i].c_str());
	}
	key_ptrs.push_back(nullptr);
	value_ptrs.push_back(nullptr);
	return PQconnectStartParams(key_ptrs.data(), value_ptrs.data(), 0);
}

namespace {

constexpr int kCancelSeconds = 5;

/* Waits until fd is ready or the deadline passes; plain poll(), usable while an error unwinds. */
bool
WaitReady(int fd, bool for_write, std::chrono::steady_clock::time_point deadline)
{
	for (;;) {
		long left =
			std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0 || fd < 0)
			return false;
		struct pollfd wait_for = {fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
		int rc = poll(&wait_for, 1, static_cast<int>(left));
		if (rc > 0)
			return true;
		if (rc == 0 || errno != EINTR)
			return false;
	}
}

/*
 * Cancels the query running on `link`'s connection within kCancelSeconds, whatever the network does. libpq
 * 15's PQcancel can wait forever (a connect and a read without timeouts), and a backend stuck there ignores
 * cancel and terminate requests; so the cancel goes through a second connection to the same source,
 * opened and used without ever blocking: SELECT pg_cancel_backend(pid). Plain libpq and poll(): safe in
 * destructors and in exit and abort callbacks.
 */
void
CancelWithin(const SourceLink &link)
{
	if (PQtransactionStatus(link.conn) != PQTRANS_ACTIVE)
		return;
	/* a backend the source already ended (pg_terminate_backend there) needs no cancel: reading shows it */
	if (!PQconsumeInput(link.conn) || PQstatus(link.conn) == CONNECTION_BAD)
		return;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kCancelSeconds);
	PGconn *cancel = StartConnecting(link.keys, link.values);
	if (cancel == nullptr)
		return;
	/* the source's warning for a backend that ended meanwhile would go to the server log without a prefix */
	PQsetNoticeProcessor(
		cancel, [](void *, const char *) noexcept {}, nullptr);
	PostgresPollingStatusType status =
		PQstatus(cancel) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
		if (!WaitReady(PQsocket(cancel), status == PGRES_POLLING_WRITING, deadline)) {
			status = PGRES_POLLING_FAILED;
			break;
		}
		status = PQconnectPoll(cancel);
	}
	std::string sql = "SELECT pg_catalog.pg_cancel_backend(" + std::to_string(PQbackendPID(link.conn)) + ")";
	if (status == PGRES_POLLING_OK && PQsendQuery(cancel, sql.c_str())) {
		while (PQisBusy(cancel) && WaitReady(PQsocket(cancel), false, deadline) && PQconsumeInput(cancel)) {
		}
		if (!PQisBusy(cancel))
			while (PGresult *result = PQgetResult(cancel))
				PQclear(result);
	}
	PQfinish(cancel);
}

/*
 * Every open source connection. A FATAL error (pg_terminate_backend) ends the process without unwinding C++
 * frames, so destructors do not run; the exit and abort callbacks below close what is left, cancelling a
 * query that still runs on the source, as postgres_fdw does for its connections. The links live on the heap,
 * owned by this list, so a callback never reads a C++ frame that is gone.
 */
std::vector<SourceLink *> open_links;

void
CancelAndClose(SourceLink *link) noexcept
{
	/* a thread reading the connection (a FATAL did not unwind the frame that owns it) stops first */
	if (link->borrower != nullptr)
		link->borrower->Return();
	try {
		CancelWithin(*link);
	} catch (...) {
		/* out of memory while cancelling: closing is all that is left */
	}
	PQfinish(link->conn);
	delete link;
}

void
CloseAllConnections() noexcept
{
	while (!open_links.empty()) {
		SourceLink *link = open_links.back();
		open_links.pop_back();
		CancelAndClose(link);
	}
}

/* before_shmem_exit callback: CloseAllConnections catches whatever cancelling throws. */
void
CloseConnectionsAtExit(int, Datum) noexcept
{
	CloseAllConnections();
}

/* Transaction callback: the same on an abort. */
void
CloseConnectionsAtAbort(XactEvent event, void *) noexcept
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		CloseAllConnections();
}

} // namespace

void
TrackLink(SourceLink *link)
{
	static bool hooks_registered = false;
	if (!hooks_registered) {
		pg::Call([] {
			before_shmem_exit(CloseConnectionsAtExit, 0);
			RegisterXactCallback(CloseConnectionsAtAbort, nullptr);
		});
		hooks_registered = true;
	}
	open_links.push_back(link);
}

void
CloseLink(SourceLink *link) noexcept
{
	auto it = std::find(open_links.begin(), open_links.end(), link);
	if (it != open_links.end()) {
		open_links.erase(it);
		CancelAndClose(link);
	}
}

} // namespace pgc
