/*
 * copy_text.hpp: user IDs rewritten inside COPY text-format lines, as the pull streams them from the source to
 * the target and the import loads an archive. Pure C++: only the fields of columns that can hold a user ID are
 * looked at, each walked for IDs (user_ids.hpp) through its COPY escapes and rewritten in place (remap.hpp).
 */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/id_map.hpp"
#include "core/remap.hpp"

namespace pgc::core {

/*
 * Appends `line` (one COPY text row without its newline) to `out` with the user IDs of `fields` (sorted by
 * index) rewritten by `rewriter`. False, with `failure` filled, when a value cannot be rewritten or the line
 * has fewer fields than `fields` name.
 */
bool RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, Rewriter &rewriter, std::string &out,
				   RemapFailure &failure);

/* The same with a Rewriter over `map`. */
bool RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
				   RemapFailure &failure);

} // namespace pgc::core
