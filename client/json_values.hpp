/*
 * json_values.hpp: PostgreSQL values in JSON of their own types, for every --json document and --log-file
 * line of the client: booleans, numbers, arrays, nested JSON and null, not psql's text forms. Pure: no
 * database (the caller passes the column's type OID and the value's text), unit-tested.
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cutover {

/*
 * The value of a column of type `type` (its pg_type OID) from its text form: bool as true/false; smallint,
 * integer, bigint and oid as integers; real, double precision and numeric as numbers (NaN and the infinities,
 * which JSON cannot hold, as their text); json and jsonb as the JSON they hold; arrays of those and of the
 * string types as JSON arrays (nested for more dimensions, NULL elements as null); NULL as null; any other
 * type as its text. A text form that does not parse as its type says is kept as text.
 */
nlohmann::json ValueJson(unsigned type, const std::optional<std::string> &text);

/*
 * The elements of an array literal (`{a,"b c",NULL}`, `{{1,2},{3,4}}`, with or without explicit bounds)
 * as a JSON array, each element through ValueJson(element_type). Throws std::invalid_argument when the
 * literal is malformed.
 */
nlohmann::json ArrayJson(unsigned element_type, std::string_view literal);

} // namespace cutover
