/*
 * archive_format.hpp: the pure parts of `cutover export` and `cutover import` (no database, no files).
 *
 * A table file holds one row per line, as a JSON array of strings: first the line's own check (16 hex
 * digits, LineCheck of the rest of the line, so that an edited line is found by its number), then each
 * column's value as PostgreSQL's text output prints it, null for NULL. Strings are the values' exact bytes, so any
 * value PostgreSQL can print and read back travels unchanged: numbers beyond a double, numerics, timestamps, intervals,
 * bytea, arrays, jsonb.
 *
 * On the way out, a COPY text line is split into values (core::ParseCopyLine) and written as JSON
 * (AppendJsonLine); on the way in, a JSON line is read back into values (ParseJsonLine) and written as a COPY
 * text line (AppendCopyField). core::AddToChecksum feeds the table's canonical checksum from the values.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/copy_row.hpp"

namespace cutover::archive {

/* Version of the archive's layout, written to and checked in manifest.json. */
constexpr int kFormatVersion = 1;

/* One value of a row, and a row (core/copy_row.hpp, which reads COPY lines and checksums rows). */
using Value = pgc::core::CopyValue;
using Row = pgc::core::CopyRow;

/* Appends `value` to a COPY text line, escaped (backslash, tab, newline, carriage return and the like). */
void AppendCopyField(std::string &out, const Value &value);

/*
 * Appends `value` as a JSON string. Returns false (and leaves `out` as it was) when `value` is not valid UTF-8:
 * JSON text must be, and a lossy replacement would change the value.
 */
bool AppendJsonString(std::string &out, std::string_view value);

/* Length of the check that opens each line: `["` 16 hex digits `"`. */
constexpr std::size_t kCheckPrefix = 19;

/* A 64-bit check of a line's bytes after its check (not cryptographic: the file's SHA-256 is). */
std::uint64_t LineCheck(std::string_view text);

/*
 * Appends one line of a table file: ["<check>",values...] and a newline. Returns false (and leaves `out` as it
 * was), with `error` naming the column index and the problem, when a value is not valid UTF-8.
 */
bool AppendJsonLine(std::string &out, const Row &row, std::size_t count, std::string &error);

/*
 * Reads one line of a table file back into `row` (`count` values), checking its check. Returns false, with
 * `error` saying what and where (the byte position), on anything but a JSON array of strings and nulls, or a
 * check that does not match (the line was changed).
 */
bool ParseJsonLine(std::string_view line, Row &row, std::size_t &count, std::string &error);

} // namespace cutover::archive
