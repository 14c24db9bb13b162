/*
 * archive_format.hpp: the pure parts of `cutover export` and `cutover import` (no database, no files).
 *
 * A table file holds one row per line, as a JSON array of strings: first the row's hash (md5 of its
 * canonical row text, as migrate_checksum computes it), then each column's value as PostgreSQL's text output
 * prints it, null for NULL. Strings are the values' exact bytes, so any value PostgreSQL can print and read
 * back travels unchanged: numbers beyond a double, numerics, timestamps, intervals, bytea, arrays, jsonb.
 *
 * On the way out, a COPY text line is split into values (ParseCopyLine) and written as JSON (AppendJsonLine);
 * on the way in, a JSON line is read back into values (ParseJsonLine) and written as a COPY text line
 * (AppendCopyField). RowHash gives the row hash and feeds the table checksum from the values.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/checksum.hpp"

namespace cutover::archive {

/* Version of the archive's layout, written to and checked in manifest.json. */
constexpr int kFormatVersion = 1;

/* One value of a row: its text, or NULL. */
struct Value {
	std::string text;
	bool null = false;
};

/* A row: reused from line to line, so the strings keep their capacity. */
using Row = std::vector<Value>;

/*
 * Splits one COPY text-format line (without its newline) into `row`, undoing COPY's backslash escapes;
 * \N is NULL. Returns false, with `error` set, on a malformed escape.
 */
bool ParseCopyLine(std::string_view line, Row &row, std::size_t &count, std::string &error);

/* Appends `value` to a COPY text line, escaped (backslash, tab, newline, carriage return and the like). */
void AppendCopyField(std::string &out, const Value &value);

/*
 * Appends `value` as a JSON string. Returns false (and leaves `out` as it was) when `value` is not valid UTF-8:
 * JSON text must be, and a lossy replacement would change the value.
 */
bool AppendJsonString(std::string &out, std::string_view value);

/*
 * Appends one line of a table file: ["<hash>", values...] and a newline. Returns false, with `error` naming
 * the column index and the problem, when a value is not valid UTF-8.
 */
bool AppendJsonLine(std::string &out, std::string_view hash, const Row &row, std::size_t count, std::string &error);

/*
 * Reads one line of a table file back: the hash into `hash`, the values into `row` (`count` of them). Returns
 * false, with `error` saying what and where (the byte position), on anything but a JSON array of strings and
 * nulls whose first element is a string.
 */
bool ParseJsonLine(std::string_view line, std::string &hash, Row &row, std::size_t &count, std::string &error);

/* Positions of the columns in canonical (name, byte) order: the order the checksum reads a row in. */
std::vector<std::size_t> CanonicalOrder(const std::vector<std::string> &names);

/*
 * The hash of a row (32 lowercase hex digits, md5 of its canonical row text) as migrate_checksum computes
 * it; also added to `checksum`. `order` comes from CanonicalOrder.
 */
void RowHash(const Row &row, const std::vector<std::size_t> &order, pgc::core::RowText &text,
			 pgc::core::Checksum &checksum, char (&hash)[32]);

} // namespace cutover::archive
