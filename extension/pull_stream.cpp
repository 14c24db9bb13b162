/*
 * pull_stream.cpp: PullStream, the data of migrate_pull's COPY FROM (pull_stream.hpp).
 */
#include <algorithm>
#include <cstring>
#include <string_view>

#include "pull_stream.hpp"

namespace pgc {

int
PullStream::Read(char *out, int minread, int maxread)
{
	if (offset_ > 0) {
		pending_.erase(0, offset_);
		offset_ = 0;
	}
	/* Waits for the lines it must deliver, then takes the ones already received, up to maxread. */
	while (static_cast<int>(pending_.size()) < minread && !finished_)
		NextLine(true);
	while (static_cast<int>(pending_.size()) < maxread && !finished_ && NextLine(false)) {
	}
	int n = std::min(maxread, static_cast<int>(pending_.size()));
	std::memcpy(out, pending_.data() + offset_, n);
	offset_ += n;
	return n;
}

bool
PullStream::NextLine(bool wait)
{
	char *buffer = nullptr;
	int len = source_.GetCopyLine(&buffer, wait);
	if (len == 0)
		return false;
	if (len < 0) {
		finished_ = true;
		return false;
	}
	lines_++;
	if (binary_) {
		/* one tuple per message (the first also holds the header): user IDs rewritten in place */
		core::RemapFailure failure;
		bool ok = fields_.empty() || remapper_.Remap(buffer, static_cast<std::size_t>(len), failure);
		if (ok)
			pending_.append(buffer, static_cast<std::size_t>(len));
		PQfreemem(buffer);
		if (!ok)
			ThrowRemapFailure(failure, remapper_.Tuples());
		return true;
	}
	std::string_view line(buffer, static_cast<std::size_t>(len));
	if (!line.empty() && line.back() == '\n')
		line.remove_suffix(1);
	/* written straight after what is pending, user IDs rewritten there; an unmapped ID throws, and the pull
	 * rolls back */
	core::RemapFailure failure;
	bool ok = core::RemapCopyLine(line, fields_, rewriter_, pending_, failure);
	PQfreemem(buffer);
	if (!ok)
		ThrowRemapFailure(failure, lines_);
	pending_.push_back('\n');
	return true;
}

void
PullStream::ThrowRemapFailure(const core::RemapFailure &failure, uint64_t row) const
{
	if (failure.column.empty())
		throw Error(ERRCODE_DATA_CORRUPTED, "table " + table_ + ": " + failure.reason,
					"Nothing of the table was loaded.");
	if (failure.value.empty())
		throw Error(ERRCODE_DATA_CORRUPTED,
					"column " + failure.column + " of table " + table_ + " " + failure.reason + " (source row " +
						std::to_string(row) + ")",
					"Nothing of the table was loaded.");
	throw Error(failure.unmapped ? ERRCODE_NO_DATA_FOUND : ERRCODE_INVALID_TEXT_REPRESENTATION,
				"column " + failure.column + " of table " + table_ + " holds user ID " + failure.value +
					(failure.path.empty() ? "" : " at " + failure.path) + ", which " + failure.reason +
					" (source row " + std::to_string(row) + ")",
				"Nothing of the table was loaded.",
				failure.unmapped
					? "Create the user in Stack Auth first (cutover users), record the pair with migrate_map_put, "
					  "or keep the column out with migrate_remap_column(..., false)."
					: "Write the ID in small or capital letters, 8-4-4-4-12, on the source, or keep the column out "
					  "with migrate_remap_column(..., false).");
}

} // namespace pgc
