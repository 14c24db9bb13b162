/*
 * md5_batch.hpp: md5 of many short rows, sixteen or eight at a time.
 *
 * A row hash is only ever added to a checksum, so rows need not be hashed one by one: RowHashBatch keeps up
 * to sixteen short rows and hashes them together in the 32-bit lanes of AVX-512 (or eight in AVX2)
 * registers, several times the throughput of hashing them one after another (md5 is a chain of dependent
 * steps that leaves most of a core idle). Rows longer than kMaxBatchedRow, and every row on a CPU without
 * AVX2, are hashed at once with OpenSSL. The digests are those of md5(); unit tests pin them to OpenSSL.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/checksum.hpp"

namespace pgc::core {

class RowHashBatch
{
  public:
	static constexpr int kLanes = 16;
	static constexpr std::size_t kLaneBytes = 1024;
	/* Longest row batched: the row, the 0x80 byte and the 8-byte length fit in kLaneBytes. */
	static constexpr std::size_t kMaxBatchedRow = kLaneBytes - 9;

	/* Rows this CPU can hash at once: 16 (AVX-512), 8 (AVX2) or 1 (row by row, with OpenSSL). */
	static int Lanes();

	/* A batch of `lanes` rows, or fewer if the CPU cannot (tests use this to cover every width). */
	explicit RowHashBatch(int lanes = Lanes());

	/*
	 * Adds md5(row) to `sum`: now, or at the latest when the batch is full or flushed. Each pending row
	 * remembers its own sum, so rows of one batch may go to different sums (the buckets of migrate_diff); a
	 * sum must stay where it is while rows for it are pending.
	 */
	void Add(Checksum &sum, const void *row, std::size_t len);

	/*
	 * Writing a row in place: NextLane() gives the buffer of the next row (kMaxBatchedRow bytes), or nullptr
	 * when rows are hashed one by one; CommitLane(sum, len) then adds the len bytes written there.
	 */
	unsigned char *
	NextLane()
	{
		return lanes_in_use_ == 1 ? nullptr : lanes_[pending_];
	}
	void CommitLane(Checksum &sum, std::size_t len);
	/* Adds every pending row to its sum (`sum`, when one sum takes every row). Call before reading a sum. */
	void
	Flush(Checksum &)
	{
		Flush();
	}
	void Flush();

	int
	Pending() const
	{
		return pending_;
	}

  private:
	void HashPending();

	int lanes_in_use_;
	int pending_ = 0;
	std::uint32_t blocks_[kLanes] = {};
	std::size_t lengths_[kLanes] = {};
	Checksum *sums_[kLanes] = {};
	alignas(64) unsigned char lanes_[kLanes][kLaneBytes];
};

/*
 * Builds one row's text straight in the batch's next lane, saving a copy per row; a row too long for a lane
 * (or a batch that hashes row by row) continues in a string of its own.
 */
class RowSink
{
  public:
	void
	Begin(RowHashBatch &batch)
	{
		lane_ = reinterpret_cast<char *>(batch.NextLane());
		len_ = 0;
		spilled_ = lane_ == nullptr;
		spill_.clear();
	}
	void
	Append(const char *data, std::size_t len)
	{
		if (!spilled_ && len_ + len <= RowHashBatch::kMaxBatchedRow) {
			std::memcpy(lane_ + len_, data, len);
			len_ += len;
		} else {
			Spill(data, len);
		}
	}
	void
	Push(char ch)
	{
		Append(&ch, 1);
	}
	/* Adds the row's hash to `sum` (through the batch). */
	void End(RowHashBatch &batch, Checksum &sum);
	/* The row written so far (for a conversion before hashing); moves it out of the lane. */
	const std::string &Text();

  private:
	void Spill(const char *data, std::size_t len);

	char *lane_ = nullptr;
	std::size_t len_ = 0;
	bool spilled_ = false;
	std::string spill_;
};

} // namespace pgc::core
