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

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/sql.hpp"

namespace pgc::core {

/* Source ID -> target ID, both as lowercase canonical UUID text. */
using IdMap = std::unordered_map<std::string, std::string>;

/* A field of the line that holds user IDs. */
struct RemapField {
	std::size_t index = 0; /* 0-based position in the line */
	UserIdKind kind = UserIdKind::None;
	std::string column;
};

/* What stopped a line: the column and the value that has no target ID, or a line too short. */
struct RemapFailure {
	std::string column;
	std::string value;
	std::string reason;
};

/* Whether `text` is a UUID in the canonical 8-4-4-4-12 form, in any letter case. */
bool IsCanonicalUuid(std::string_view text);

/*
 * Writes `line` (one COPY text row without its newline) to `out` with the user-ID fields rewritten. `fields`
 * must be sorted by index. Returns false, with `failure` filled, when a user ID has no target ID.
 */
bool RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
				   RemapFailure &failure);

} // namespace pgc::core
