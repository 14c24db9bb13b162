/*
 * id_map.hpp: UUIDs as text in every spelling PostgreSQL reads, and the in-memory ID map the pull, the
 * verification and the audit look user IDs up in. Pure C++.
 *
 * A Supabase user ID is a random UUID, so a value equal to one of them is that user, however it is spelled:
 * 8-4-4-4-12 hex digits, 32 hex digits without hyphens, either in braces, in small or capital letters. Each of
 * those spellings can be kept when one ID is replaced by another (same length, same hyphens and braces, same
 * letter case); a UUID in mixed letter case or with hyphens elsewhere (uuid_in reads both) cannot.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/escapes.hpp"

namespace pgc::core {

/* A UUID's 128 bits, big-endian halves (the first 16 and the last 16 hex digits). */
struct Uuid {
	std::uint64_t high = 0;
	std::uint64_t low = 0;
	bool
	operator==(const Uuid &other) const
	{
		return high == other.high && low == other.low;
	}
};

/* Letter cases a spelling uses: kSmallLetters | kCapitalLetters (escapes.hpp); digits only is 0. */
/* How a UUID is written. */
enum class UuidForm : std::uint8_t {
	Canonical,	 /* 8-4-4-4-12: 36 characters */
	Plain,		 /* 32 hex digits: 32 */
	Braced,		 /* {8-4-4-4-12}: 38 */
	BracedPlain, /* {32 hex digits}: 34 */
	Other,		 /* hyphens after other groups of four digits: uuid_in reads it, no other ID can keep it */
};

struct UuidSpelling {
	Uuid value;
	UuidForm form = UuidForm::Canonical;
	int cases = 0; /* kSmallLetters | kCapitalLetters */

	/* Whether another UUID can be written the same way: not in mixed letter case, no hyphens elsewhere. */
	bool
	Keepable() const
	{
		return form != UuidForm::Other && cases != (kSmallLetters | kCapitalLetters);
	}
	/* Another UUID written this way is in capitals: this one has capital letters and no small ones. */
	bool
	Upper() const
	{
		return cases == kCapitalLetters;
	}
};

/* Whether `text` as a whole is a UUID in any spelling uuid_in reads; fills `out` if so. */
bool ParseUuidSpelling(std::string_view text, UuidSpelling &out);

/* The 128-bit value of a canonical (8-4-4-4-12) UUID in any letter case; false for anything else. */
bool ParseCanonicalUuid(std::string_view text, Uuid &out, int *cases = nullptr);

/* Writes `value` in `form` (not Other) into `out` (as long as the form: 32, 34, 36 or 38 characters). */
void SpellUuid(Uuid value, UuidForm form, bool upper, char *out);

/* The canonical text of a UUID, in small letters. */
void FormatUuid(std::uint64_t high, std::uint64_t low, char (&text)[36]);

/* Whether `text` is a UUID in the canonical form, in any letter case. */
bool IsCanonicalUuid(std::string_view text);

/*
 * User ID -> user ID, both kept as 128-bit values in an open-addressing table of 32-byte slots (a map of
 * 10,000 users fits in 512 KiB, so a lookup rarely leaves the CPU's cache), plus IDs known to be user IDs that
 * have no counterpart in this direction. The pull reads it as Supabase ID -> Stack Auth ID (a Supabase user
 * without a Stack Auth ID is an error there); the verification as Stack Auth ID -> Supabase ID, with the
 * Supabase IDs as IDs without a counterpart (one of them on the target was left behind).
 */
class IdMap
{
  public:
	enum class Found : std::uint8_t {
		No,	   /* not a user ID this map knows */
		Pair,  /* a user ID with its counterpart */
		Alone, /* a user ID without one */
	};

	/* Adds a pair given as canonical UUID text in any letter case; false if either is no such UUID. */
	bool Add(std::string_view from, std::string_view to);
	void Add(Uuid from, Uuid to);
	/* Adds a user ID without a counterpart (a pair with the same ID wins over it). */
	void AddAlone(Uuid id);

	/* Looks `id` up; `to` receives its counterpart when Found::Pair. */
	Found Lookup(Uuid id, Uuid &to) const;

	/*
	 * Writes the counterpart of canonical text `from` as 36 small letters to `to` and returns true, or returns
	 * false when `from` has none or is no UUID. `cases`, if given, receives the letter cases `from` uses;
	 * `is_uuid` whether it is a canonical UUID at all.
	 */
	bool Find(std::string_view from, char (&to)[36], int *cases = nullptr, bool *is_uuid = nullptr) const;
	/* The same by 128-bit value (the 16 bytes of a binary uuid, big-endian); false without a counterpart. */
	bool FindValue(std::uint64_t high, std::uint64_t low, std::uint64_t &to_high, std::uint64_t &to_low) const;

	/* Pairs held. */
	std::size_t
	size() const
	{
		return pairs_.count;
	}
	/* IDs held without a counterpart. */
	std::size_t
	alone() const
	{
		return alone_.count;
	}
	bool
	empty() const
	{
		return pairs_.count == 0 && alone_.count == 0;
	}
	/* Makes room for `count` pairs without growing again. */
	void reserve(std::size_t count);

  private:
	/* An empty slot has the nil UUID as its key; the nil UUID itself, if held, is kept aside. */
	struct Slot {
		Uuid key;
		Uuid value;
	};
	struct Table {
		std::vector<Slot> slots; /* a power of two in size, at most 3/4 full */
		std::size_t count = 0;
		bool has_nil = false;
		Slot nil;

		void Reserve(std::size_t wanted);
		void Put(const Slot &slot);
		const Slot *Get(Uuid key) const;
	};

	Table pairs_;
	Table alone_;
};

} // namespace pgc::core
