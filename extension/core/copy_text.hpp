/*
 * copy_text.hpp: user IDs rewritten inside COPY text-format lines, as the pull streams them from the source
 * to the target. Pure C++: no row is parsed into values, only the user-ID fields are looked at.
 *
 * The rules are the inverse of the mapping-aware verification (sql.hpp, UnmapUserIds):
 *   uuid       the source ID is replaced by its target ID;
 *   text       a UUID in any letter case is replaced, in capitals when it was written in capitals; a UUID
 *              PostgreSQL reads in another form (braces, hyphens missing or moved) is an error, as no target
 *              ID could keep that form; other text ('system') is kept;
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
#include <vector>

#include "core/sql.hpp"

namespace pgc::core {

/*
 * Source ID -> target ID, both kept as 128-bit values in an open-addressing table of 32-byte slots (a map of
 * 10,000 users fits in 512 KiB, so a lookup rarely leaves the CPU's cache): a lookup parses 36 characters,
 * hashes two words and reads one or two neighbouring slots, with no allocation.
 */
class IdMap
{
  public:
	/* Adds a pair given as canonical UUID text in any letter case; false if either is no such UUID. */
	bool Add(std::string_view source, std::string_view target);
	/*
	 * Writes the target ID of `source` as 36 lowercase characters to `target` and returns true, or returns
	 * false when `source` is unmapped or no UUID. `cases`, if given, receives which letter cases `source` uses
	 * (1 small, 2 capital, 3 both); `is_uuid` whether it is a UUID at all.
	 */
	bool Find(std::string_view source, char (&target)[36], int *cases = nullptr, bool *is_uuid = nullptr) const;
	/* The same lookup by 128-bit value (the 16 bytes of a binary uuid, big-endian); false when unmapped. */
	bool FindValue(std::uint64_t high, std::uint64_t low, std::uint64_t &target_high, std::uint64_t &target_low) const;
	std::size_t
	size() const
	{
		return count_;
	}
	/* Makes room for `count` pairs without growing again. */
	void reserve(std::size_t count);

  private:
	/* An empty slot has the nil UUID as its key; the nil UUID itself, if mapped, is kept aside. */
	struct Slot {
		std::uint64_t high = 0;
		std::uint64_t low = 0;
		std::uint64_t target_high = 0;
		std::uint64_t target_low = 0;
	};
	std::size_t Home(std::uint64_t high, std::uint64_t low) const;
	void Put(const Slot &pair);

	std::vector<Slot> slots_; /* a power of two in size, at most 3/4 full */
	std::size_t count_ = 0;
	bool has_nil_ = false;
	Slot nil_;
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
 * One UUID written as text, rewritten in place to its target ID (36 characters for 36): in capitals when the
 * text has capital letters and no small ones. Returns nullptr when done or when `text` is no UUID
 * (`is_uuid` false), else why it cannot be (unmapped, mixed letter case, another form of UUID).
 */
const char *RemapUuidTextInPlace(char *text, std::size_t size, const IdMap &map, bool &is_uuid);

/* The canonical text of a 128-bit UUID value, in small letters. */
void FormatUuid(std::uint64_t high, std::uint64_t low, char (&text)[36]);

/*
 * Appends `line` (one COPY text row without its newline) to `out` with the user-ID fields rewritten. `fields`
 * must be sorted by index. Returns false, with `failure` filled, when a user ID has no target ID.
 */
bool RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
				   RemapFailure &failure);

} // namespace pgc::core
