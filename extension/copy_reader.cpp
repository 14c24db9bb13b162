/*
 * copy_reader.cpp: a COPY of the source read on a thread of this backend (copy_reader.hpp).
 *
 * The thread that reads the COPY calls libpq and pure C++ only, never PostgreSQL (no palloc, no ereport, no
 * latch): what it meets it leaves for Finish(), which the backend's own thread runs. It takes no signal (the
 * backend's signal handlers belong to the main thread), waits on the socket at most 50 ms at a time so that a
 * stop is seen at once, and ends at the COPY's end, at a lost connection, at a line that is no row, or at a
 * stop; the connection is the thread's alone until it is joined.
 */
#include "copy_reader.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>

#include "settings.hpp"

namespace pgc {

bool
StreamsFromSource(const SourceConnection &source)
{
	switch (VerifySourceSetting()) {
	case VerifySource::Sql:
		return false;
	case VerifySource::Stream:
		return true;
	case VerifySource::Auto:
		break;
	}
	return source.IsNearby();
}

CopyReader::CopyReader(SourceConnection &source, const std::string &sql, std::string what, Consumer consumer)
	: source_(source), what_(std::move(what)), consumer_(std::move(consumer))
{
	source.StartCopy(sql);
	conn_ = source.Lend(this);

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	try {
		thread_ = std::thread([this] { Read(); });
	} catch (...) {
		pthread_sigmask(SIG_SETMASK, &old, nullptr);
		source.Reclaim();
		throw;
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

CopyReader::~CopyReader()
{
	Return();
}

void
CopyReader::Return() noexcept
{
	stop_.store(true);
	try {
		if (thread_.joinable())
			thread_.join();
	} catch (...) {
		/* joining cannot fail for a thread of ours that runs: nothing to do if it did */
	}
	if (conn_ != nullptr) {
		source_.Reclaim();
		conn_ = nullptr;
	}
}

void
CopyReader::End(Ending ending)
{
	std::lock_guard<std::mutex> lock(mutex_);
	ending_ = ending;
	ended_.notify_one();
}

void
CopyReader::Read() noexcept
{
	PGconn *conn = conn_;
	Ending ending = Ending::Stopped;
	try {
		std::string error;
		while (!stop_.load(std::memory_order_relaxed)) {
			char *line = nullptr;
			int len = PQgetCopyData(conn, &line, 1);
			if (len > 0) {
				std::string_view text(line, static_cast<std::size_t>(len));
				if (text.back() == '\n')
					text.remove_suffix(1);
				bool taken = consumer_(text, error);
				PQfreemem(line);
				if (!taken) {
					problem_ = "line " + std::to_string(lines_ + 1) + ": " + error;
					ending = Ending::BadLine;
					break;
				}
				lines_++;
				continue;
			}
			if (len == -1) {
				ending = Ending::Done;
				break;
			}
			if (len == -2) {
				ending = Ending::Lost;
				break;
			}
			pollfd socket = {PQsocket(conn), POLLIN, 0};
			poll(&socket, 1, 50);
			if (!PQconsumeInput(conn)) {
				ending = Ending::Lost;
				break;
			}
		}
	} catch (const std::exception &error) {
		problem_ = error.what(); /* out of memory */
		ending = Ending::BadLine;
	}
	End(ending);
}

void
CopyReader::Finish()
{
	Ending ending;
	for (;;) {
		{
			std::unique_lock<std::mutex> lock(mutex_);
			if (ended_.wait_for(lock, std::chrono::milliseconds(10), [&] { return ending_ != Ending::Running; })) {
				ending = ending_;
				break;
			}
		}
		pg::CheckForInterrupts(); /* a cancel or timeout throws: the destructor stops the thread */
	}
	Return(); /* the thread has ended: joined, the connection back */
	switch (ending) {
	case Ending::Done:
		break;
	case Ending::Lost:
		source_.ThrowConnectionLost("lost the connection to the source while it sent " + what_);
	case Ending::BadLine:
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source sent a line that is none of " + what_, problem_);
	case Ending::Running:
	case Ending::Stopped:
		/* the thread stops early only when told to, which Finish never does: the data ended unread */
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "reading " + what_ + " stopped before their end", "",
					"Run the call again; nothing was changed.");
	}
	try {
		source_.FinishCopy();
	} catch (const Error &error) {
		throw NamingTable(error, "The source raised it while sending " + what_ + ".");
	}
}

} // namespace pgc
