/*
 * pull_stream.hpp: the stream of a pull, from the source's COPY TO STDOUT to the target's COPY FROM, with the
 * fields of user-ID columns rewritten on the way from an in-memory copy of the ID map (core/copy_text,
 * core/copy_binary). Memory holds the lines of one read at a time.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/copy_binary.hpp"
#include "core/copy_text.hpp"
#include "pg/copy_from.hpp"
#include "source.hpp"

namespace pgc {

class PullStream : public pg::CopySource
{
  public:
	PullStream(SourceConnection &source, std::string table, std::vector<core::RemapField> fields, core::IdMap map,
			   bool binary)
		: source_(source), table_(std::move(table)), fields_(std::move(fields)), map_(std::move(map)), binary_(binary),
		  remapper_(fields_, map_), rewriter_(map_)
	{
	}

	/* Fills `out` with at least `minread` bytes (fewer only at the end of the data) and at most `maxread`. */
	int Read(char *out, int minread, int maxread) override;

	uint64_t
	Lines() const
	{
		return lines_;
	}

  private:
	/*
	 * Appends the next line of the source's COPY to pending_, or notes the end of the data. Without `wait`,
	 * only a line libpq has already received; returns whether it appended one.
	 */
	bool NextLine(bool wait);

	/* An unmapped or malformed user ID: the pull rolls back. */
	[[noreturn]] void ThrowRemapFailure(const core::RemapFailure &failure, uint64_t row) const;

	SourceConnection &source_;
	std::string table_;
	std::vector<core::RemapField> fields_;
	core::IdMap map_;
	bool binary_;
	core::BinaryCopyRemapper remapper_;
	core::Rewriter rewriter_;
	std::string pending_;
	std::size_t offset_ = 0;
	uint64_t lines_ = 0;
	bool finished_ = false;
};

} // namespace pgc
