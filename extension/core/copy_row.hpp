/*
 * copy_row.hpp: rows of COPY's text format read back into values, and a row's values added to the canonical
 * checksum (checksum.hpp). Pure C++: shared by the extension's verification from the source's COPY stream
 * (stream_checksum.cpp), the client's export, which checksums what the source sends, and its import, which
 * checksums what an archive holds.
 */
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/checksum.hpp"
#include "core/md5_batch.hpp"

namespace pgc::core {

/* One value of a row: its text, or NULL. */
struct CopyValue {
	std::string text;
	bool null = false;
};

/* A row: reused from line to line, so the strings keep their capacity. */
using CopyRow = std::vector<CopyValue>;

/*
 * Splits one COPY text-format line (without its newline) into `row` (`count` values), undoing COPY's backslash
 * escapes; \N is NULL. Returns false, with `error` set, on a malformed escape.
 */
bool ParseCopyLine(std::string_view line, CopyRow &row, std::size_t &count, std::string &error);

/* Positions of the columns in canonical (name, byte) order: the order the checksum reads a row in. */
std::vector<std::size_t> CanonicalOrder(const std::vector<std::string> &names);

/*
 * Adds the row to `checksum` as migrate_checksum would: its canonical row text (columns in `order`, from
 * CanonicalOrder) hashed through `batch`. Flush the batch before reading the checksum.
 */
void AddToChecksum(const CopyRow &row, const std::vector<std::size_t> &order, RowSink &sink, RowHashBatch &batch,
				   Checksum &checksum);

/*
 * The canonical checksum of a table whose rows arrive as COPY text lines, each line's fields being the columns
 * `names` in that order: a line is read, checked to hold one value per column and added. Memory stays flat.
 */
class CopyChecksum
{
  public:
	explicit CopyChecksum(const std::vector<std::string> &names);

	/* Adds one line; false, with `error` saying why (a malformed escape, the wrong number of values), if not. */
	bool Add(std::string_view line, std::string &error);
	/* The checksum of the lines added so far. */
	Checksum Result();
	/* The values of the line added last, one per column, in the line's order. */
	const CopyRow &
	Values() const
	{
		return row_;
	}
	std::size_t
	Columns() const
	{
		return order_.size();
	}

  private:
	std::vector<std::size_t> order_;
	CopyRow row_;
	RowSink sink_;
	RowHashBatch batch_;
	Checksum sum_;
};

/*
 * The canonical checksums of the buckets of migrate_diff, from COPY text lines whose first value is a row's
 * bucket number and the rest the row's `columns` values in canonical order (core::BucketRowsSql).
 */
class CopyBucketChecksums
{
  public:
	explicit CopyBucketChecksums(std::size_t columns);

	/* Adds one line to its bucket's checksum; false, with `error` saying why, for a line that is no such row. */
	bool Add(std::string_view line, std::string &error);
	/* Each bucket's checksum (buckets without rows absent). */
	std::map<int, Checksum> Result();

  private:
	std::vector<std::size_t> order_; /* 1 .. columns: the row's values after its bucket */
	CopyRow row_;
	RowSink sink_;
	RowHashBatch batch_;
	std::map<int, Checksum> sums_; /* a node stays where it is while its rows are pending in the batch */
};

} // namespace pgc::core
