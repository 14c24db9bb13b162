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

/* Days since 1970-01-01 of a proleptic Gregorian date, year 0 = 1 BC (also read by retry.cpp's HTTP dates). */
std::int64_t DaysFromCivil(std::int64_t year, std::int64_t month, std::int64_t day);
/* The days of a month (1 to 12) of a proleptic Gregorian year. */
std::int64_t DaysInMonth(std::int64_t year, std::int64_t month);

} // namespace cutover
