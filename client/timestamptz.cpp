/*
 * timestamptz.cpp: a timestamptz as PostgreSQL prints it in DateStyle ISO, read into microseconds since the
 * epoch (auth.users' timestamps, which the client SELECTs as text).
 */
#include "timestamptz.hpp"

#include <limits>

namespace cutover {

namespace {

/* Digits [pos, pos + count) of `s` as a number; false unless they are all there and all digits. */
bool
ReadDigits(std::string_view s, std::size_t &pos, std::size_t count, std::int64_t &value)
{
	value = 0;
	if (pos + count > s.size())
		return false;
	for (std::size_t i = 0; i < count; i++) {
		char c = s[pos + i];
		if (c < '0' || c > '9')
			return false;
		value = value * 10 + (c - '0');
	}
	pos += count;
	return true;
}

bool
ReadChar(std::string_view s, std::size_t &pos, char expected)
{
	if (pos >= s.size() || s[pos] != expected)
		return false;
	pos++;
	return true;
}

} // namespace

/* Days since 1970-01-01 of a proleptic Gregorian date, year 0 = 1 BC (H. Hinnant's days_from_civil). */
std::int64_t
DaysFromCivil(std::int64_t year, std::int64_t month, std::int64_t day)
{
	year -= month <= 2;
	const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
	const std::int64_t year_of_era = year - era * 400;
	const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

std::int64_t
DaysInMonth(std::int64_t year, std::int64_t month)
{
	static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<std::int64_t>
ParsePgTimestamp(std::string_view text)
{
	if (text == "infinity")
		return std::numeric_limits<std::int64_t>::max();
	if (text == "-infinity")
		return std::numeric_limits<std::int64_t>::min();
	std::size_t pos = 0;
	std::int64_t year = 0, month, day, hour, minute, second;
	/* 4 to 6 year digits: PostgreSQL prints at least 4 and allows years up to 294276 */
	std::size_t year_digits = 0;
	while (pos + year_digits < text.size() && year_digits < 7 && text[pos + year_digits] >= '0' &&
		   text[pos + year_digits] <= '9')
		year_digits++;
	if (year_digits < 4 || year_digits > 6 || !ReadDigits(text, pos, year_digits, year))
		return std::nullopt;
	if (!ReadChar(text, pos, '-') || !ReadDigits(text, pos, 2, month) || !ReadChar(text, pos, '-') ||
		!ReadDigits(text, pos, 2, day))
		return std::nullopt;
	if (!ReadChar(text, pos, ' ') && !ReadChar(text, pos, 'T'))
		return std::nullopt;
	if (!ReadDigits(text, pos, 2, hour) || !ReadChar(text, pos, ':') || !ReadDigits(text, pos, 2, minute) ||
		!ReadChar(text, pos, ':') || !ReadDigits(text, pos, 2, second))
		return std::nullopt;
	std::int64_t micros = 0;
	if (ReadChar(text, pos, '.')) {
		int digits = 0;
		while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
			if (digits < 6) {
				micros = micros * 10 + (text[pos] - '0');
				digits++;
			}
			pos++;
		}
		if (digits == 0)
			return std::nullopt;
		for (; digits < 6; digits++)
			micros *= 10;
	}
	std::int64_t offset_seconds = 0;
	if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
		int sign = text[pos] == '-' ? -1 : 1;
		pos++;
		std::int64_t offset_hours, offset_minutes = 0, offset_secs = 0;
		if (!ReadDigits(text, pos, 2, offset_hours))
			return std::nullopt;
		if (ReadChar(text, pos, ':')) {
			if (!ReadDigits(text, pos, 2, offset_minutes))
				return std::nullopt;
			if (ReadChar(text, pos, ':') && !ReadDigits(text, pos, 2, offset_secs))
				return std::nullopt;
		}
		if (offset_hours > 15 || offset_minutes > 59 || offset_secs > 59)
			return std::nullopt;
		offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60 + offset_secs);
	} else {
		ReadChar(text, pos, 'Z');
	}
	if (text.substr(pos) == " BC") {
		if (year == 0)
			return std::nullopt;
		year = 1 - year;
		pos = text.size();
	}
	if (pos != text.size())
		return std::nullopt;
	if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 24 || minute > 59 ||
		second > 60 || (hour == 24 && (minute != 0 || second != 0 || micros != 0)))
		return std::nullopt;
	std::int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	return (seconds - offset_seconds) * 1000000 + micros;
}

} // namespace cutover
