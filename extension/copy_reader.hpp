/*
 * copy_reader.hpp: a COPY ... TO STDOUT of the source read on a thread of this backend while the backend works
 * on, each line handed to a consumer: how the source's side of a verification (and of migrate_diff's buckets)
 * is computed here from the source's rows (pg_cutover.verify_source = stream). The source sends the rows, in
 * the canonical column order and under the checksum's fixed settings; the consumer hashes them (core/copy_row)
 * while the backend computes the target's side. The result is the one the source's SQL would compute (the
 * same row text, hashed the same way), at the cost of moving every row over the network instead of the
 * source's CPU hashing it.
 */
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "source.hpp"

namespace pgc {

/* Whether the source's side streams from `source` (pg_cutover.verify_source, then whether the source is near). */
bool StreamsFromSource(const SourceConnection &source);

class CopyReader final : public ConnectionBorrower
{
  public:
	/*
	 * Takes one line (without its newline); false, with `error` saying why, for a line that is no row. Called
	 * on the reader's thread: pure C++ only, nothing of PostgreSQL.
	 */
	using Consumer = std::function<bool(std::string_view line, std::string &error)>;

	/*
	 * Sends `sql` (a script whose last statement is a COPY ... TO STDOUT, or that COPY alone) to `source`,
	 * waits for the data to start, and reads it on a thread of its own into `consumer`. `what` names the rows
	 * in errors ("the rows of table public.t"). `source` is lent to the thread until Finish() or the destructor.
	 */
	CopyReader(SourceConnection &source, const std::string &sql, std::string what, Consumer consumer);
	/* Stops the thread (the source's query is then cancelled when the connection closes). */
	~CopyReader();
	CopyReader(const CopyReader &) = delete;
	CopyReader &operator=(const CopyReader &) = delete;

	/*
	 * Waits for the last line, serving interrupts, then reads what the source says after it; an error of the
	 * source, a lost connection or a line that is no row is thrown naming the rows.
	 */
	void Finish();

	/* Stops the thread and waits for it (from the link's close too: a FATAL does not unwind this object). */
	void Return() noexcept override;

  private:
	/* What the thread ended with. */
	enum class Ending { Running, Done, Lost, BadLine, Stopped };
	void Read() noexcept;
	void End(Ending ending);

	SourceConnection &source_;
	PGconn *conn_ = nullptr; /* lent by source_ while the thread runs */
	std::string what_;
	Consumer consumer_;
	std::atomic<bool> stop_{false};
	std::mutex mutex_;
	std::condition_variable ended_;
	Ending ending_ = Ending::Running; /* under mutex_ */
	std::int64_t lines_ = 0;
	std::string problem_; /* what made a line no row */
	std::thread thread_;
};

} // namespace pgc
