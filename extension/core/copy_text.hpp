/*
 * copy_text.hpp: user IDs rewritten inside COPY text-format lines, as the pull streams them from the source
 * to the target. Pure C++: no row is parsed into values, only the user-ID fields are looked at.
 *
 * The rules are the inverse of the mapping-aware verification (sql.hpp, UnmapUserIds):
 *   uuid       the source ID is replaced by its target ID;
 *   text       a UUID in any letter case is replaced, in capitals when it was written in capitals; other
 *              text ('system') is kept;
 *   uuid[]     element by element; NULL elements kept;
 *   text[]     unquoted UUID elements as for text; quoted elements (never UUIDs) and NULL kept.
 * A UUID with no target ID is an error that names the column and the value.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/sql.hpp"

namespace pgc::core {

/*
 * Source ID -> target ID, keyed by the UUID's 128-bit value: a lookup parses 36 characters and hashes two
 * words, with no allocation.
 */
class IdMap
{
  public:
	/* Adds a pair given as canonical UUID text in any letter case; false if either is no such UUID. */
	bool Add(std::string_view source, std::string_view target);
	/* The target ID of `source` as 36 lowercase characters, or nullptr when `source` is unmapped or no UUID. */
	const char *Find(std::string_view source) const;
	std::size_t
	size() const
	{
		return map_.size();
	}
	void
	reserve(std::size_t count)
	{
		map_.reserve(count);
	}

  private:
	struct Key {
		std::uint64_t high;
		std::uint64_t low;
		bool
		operator==(const Key &other) const
		{
			return high == other.high && low == other.low;
		}
	};
	struct KeyHash {
		std::size_t
		operator()(const Key &key) const
		{
			return static_cast<std::size_t>(key.high ^ (key.low * 0x9e3779b97f4a7c15ULL));
		}
	};
	static bool Parse(std::string_view text, Key &key);

	std::unordered_map<Key, std::array<char, 36>, KeyHash> map_;
};

/* A field of the line that holds user IDs. */
struct RemapField {
	std::size_t index = 0; /* 0-based position in the line */
	UserIdKind kind = UserIdKind::None;
	std::string column;
};

/* What stopped a line: the column, the value and why (no target ID, mixed letter case), or a line too short. */
struct RemapFailure {
	std::string column;
	std::string value;
	std::string reason;
	bool unmapped = false; /* the value is a UUID the map does not know */
};

/* Whether `text` is a UUID in the canonical 8-4-4-4-12 form, in any letter case. */
bool IsCanonicalUuid(std::string_view text);

/*
 * Appends `line` (one COPY text row without its newline) to `out` with the user-ID fields rewritten. `fields`
 * must be sorted by index. Returns false, with `failure` filled, when a user ID has no target ID.
 */
bool RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
				   RemapFailure &failure);

} // namespace pgc::core
