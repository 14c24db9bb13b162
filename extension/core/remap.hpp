/*
 * remap.hpp: what is done with the user IDs a walk finds (user_ids.hpp). Pure C++.
 *
 *   Rewriter   the pull and the import: each Supabase ID becomes its Stack Auth ID, spelled the same way;
 *              a Supabase user without a Stack Auth user, or an ID whose spelling a target ID cannot keep,
 *              stops the table.
 *   Unmapper   the verification: each Stack Auth ID goes back to its Supabase ID, so that the target's
 *              checksum equals the source's; a Supabase ID still on the target is marked (so the row's hash
 *              differs) and recorded, naming the column and the JSON path.
 *   IdCounter  the audit and the plan's sample: user IDs counted by column, place and JSON path.
 *
 * Which values are looked at is the column's RemapMode: by value (the default for every column of a type
 * that can hold an ID), as a user-ID column (a foreign key to the users, or marked by hand: a UUID there that
 * is no user is an error too), with embedded IDs (opted in by hand), or kept out (by hand).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/id_map.hpp"
#include "core/user_ids.hpp"

namespace pgc::core {

enum class RemapMode : std::uint8_t {
	Off,	  /* kept out by hand: never rewritten, never mapped back */
	Value,	  /* every user ID that is a whole string, an element, a JSON string or key */
	Strict,	  /* a user-ID column: also a UUID there that is no user ID is an error */
	Embedded, /* as Value, and IDs inside longer strings too (opted in by hand) */
};

/* One letter per mode, as the extension passes a table's modes around: '-', 'v', 's', 'e'. */
char RemapModeLetter(RemapMode mode);
/* The mode of a letter; false for another letter. */
bool RemapModeOfLetter(char letter, RemapMode &mode);
/* The mode's name in cutover.remap_column and migrate_remap_column: "off", "value", "user_ids", "embedded". */
const char *RemapModeName(RemapMode mode);
bool RemapModeOfName(const std::string &name, RemapMode &mode);

/* A column of a COPY line or tuple that takes part in remapping. */
struct RemapField {
	std::size_t index = 0; /* 0-based position in the line or tuple */
	ValueType type;
	RemapMode mode = RemapMode::Value;
	std::string column;
};

/*
 * The remap fields of a row from its columns' base types (format_type) and modes; columns kept out or of a
 * type that holds no ID are left out (a column of any type opted in for embedded IDs is in). Sorted by index.
 */
struct ColumnRemap {
	std::string column;
	std::string base_type;
	RemapMode mode = RemapMode::Value;
};
std::vector<RemapField> RemapFieldsOf(const std::vector<ColumnRemap> &columns);

/* What stopped a value: the column, the JSON path, the ID as written and why. */
struct RemapFailure {
	std::string column;
	std::string path;  /* inside JSON: $.a.b[*]; empty otherwise */
	std::string value; /* the ID as written; empty for data that is not what the type prints */
	std::string reason;
	bool unmapped = false; /* a user ID without a counterpart (P0002); otherwise one that cannot be kept (22P02) */
};

/* The pull's and the import's rewriting: Supabase ID -> Stack Auth ID, in place. */
class Rewriter : private IdVisitor
{
  public:
	/* `map`: Supabase ID -> Stack Auth ID, with the Supabase users without a Stack Auth user as IDs alone. */
	explicit Rewriter(const IdMap &map) : map_(map) {}

	/* Rewrites a value's text form (an array literal for an array). False with failure() filled. */
	bool Text(Span &value, const RemapField &field);
	/* Rewrites one value that is no array (a whole value or, at ArrayElement, one element of a binary array). */
	bool Scalar(Span &value, const RemapField &field, ValueClass element, IdPlace place);
	/* Rewrites a binary uuid (16 bytes, big-endian) in place. */
	bool BinaryUuid(char *bytes, const RemapField &field, IdPlace place);

	const RemapFailure &
	failure() const
	{
		return failure_;
	}

  private:
	bool Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			const JsonPath &path) override;
	bool Finish(WalkResult result);
	bool Fail(Span &span, std::size_t at, std::size_t size, const JsonPath &path, const char *reason, bool unmapped);

	const IdMap &map_;
	const RemapField *field_ = nullptr;
	RemapFailure failure_;
};

/* Counts of user IDs at one place of one column (the audit, the plan's sample, the verification's leftovers). */
struct Finding {
	std::size_t column = 0;
	IdPlace place = IdPlace::Value;
	std::string path;			  /* JSON path, empty outside JSON */
	std::int64_t ids = 0;		  /* user IDs found there */
	std::int64_t other_uuids = 0; /* UUIDs there that are no user ID (counted by the plan's sample) */
	std::int64_t values = 0;	  /* scalars seen there (counted by the plan's sample) */
	std::string example_id;		  /* the first user ID found, as written */
	std::string example_row;	  /* the row it was in, as the caller names rows */
};

/* Findings by (column, place, path), in bounded memory: after kMaxEntries places, more are counted as one. */
class Findings
{
  public:
	static constexpr std::size_t kMaxEntries = 10000;

	/* The entry of a place (created empty); the overflow entry once kMaxEntries exist. */
	Finding &At(std::size_t column, IdPlace place, const std::string &path);
	/* Every entry, by column, then path, then place. */
	std::vector<Finding> Sorted() const;
	bool
	empty() const
	{
		return entries_.empty();
	}
	void
	clear()
	{
		entries_.clear();
		index_.clear();
	}
	/* Names the current row for an example (called once per entry, at its first ID); may be empty. */
	std::function<std::string()> row_name;

  private:
	std::vector<Finding> entries_;
	std::unordered_map<std::string, std::size_t> index_;
};

/*
 * The evidence of a sample in words, one line per column and place holding user IDs, in column order:
 * "details $.targets[*]: 2,000 of 2,000 sampled values are user IDs", with the other UUIDs of a place that mixes
 * user IDs with them, and IDs embedded in longer strings (which are not rewritten unless the column opts in).
 * `columns` names the columns by the index the findings were counted under.
 */
std::vector<std::string> SampleEvidence(const Findings &findings, const std::vector<std::string> &columns,
										const std::vector<RemapMode> &modes);

/* A count with thousands separators: 2,000. */
std::string Thousands(std::int64_t count);

/*
 * The verification's mapping back: Stack Auth ID -> Supabase ID, in place, spelled as it was. A Supabase ID
 * still there is overwritten with LEFTOVER (and, in a user-ID column, a UUID that is no user with UNMAPPED)
 * in its first eight digits, so that the row's hash cannot equal the source's, and recorded in `findings`.
 */
class Unmapper : private IdVisitor
{
  public:
	/* `map`: Stack Auth ID -> Supabase ID, with every Supabase ID as an ID alone. */
	Unmapper(const IdMap &map, Findings &findings) : map_(map), findings_(findings) {}

	/*
	 * Maps a value's text form back, column `column` in `mode`. False when the text is not what the type
	 * prints. `keys_moved` is set when an object key was rewritten (a jsonb document then needs its keys
	 * sorted again: SortJsonbKeys).
	 */
	bool Text(Span &value, ValueType type, RemapMode mode, std::size_t column, bool &keys_moved);

  private:
	bool Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			const JsonPath &path) override;
	void Mark(Span &span, std::size_t at, const UuidSpelling &spelling, const char *word);

	const IdMap &map_;
	Findings &findings_;
	RemapMode mode_ = RemapMode::Value;
	std::size_t column_ = 0;
	bool keys_moved_ = false;
};

/*
 * Counts user IDs (Lookup not No) into findings: the audit (Supabase IDs left on the target, whole and
 * embedded), the plan's sample (with every scalar and every UUID that is no user counted too).
 */
class IdCounter : private IdVisitor
{
  public:
	IdCounter(const IdMap &ids, Findings &findings, bool sample) : ids_(ids), findings_(findings), sample_(sample) {}
	/* Counts in a value's text form, IDs inside longer strings included. False when it is malformed. */
	bool Text(Span &value, ValueType type, std::size_t column);

  private:
	bool Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			const JsonPath &path) override;
	void Scalar(IdPlace place, const JsonPath &path) override;

	const IdMap &ids_;
	Findings &findings_;
	bool sample_;
	std::size_t column_ = 0;
};

} // namespace pgc::core
