/*
 * timestamptz.hpp: a timestamptz as PostgreSQL prints it, read (timestamptz.cpp). Pure: no database.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cutover {

/*
 * A timestamptz as PostgreSQL prints it in DateStyle ISO ("2024-03-01 12:00:00.123456+00", any offset
 * "+05:30", an optional " BC", "infinity", "-infinity"), in microseconds since 1970-01-01 UTC. infinity is
 * INT64_MAX, -infinity INT64_MIN; std::nullopt when the text is not such a timestamp.
 */
std::optional<std::int64_t> ParsePgTimestamp(std::string_view text);

} // namespace cutover
