/*
 * retry.cpp: the retry decision, Retry-After and HTTP-date parsing, and the token bucket.
 */
#include "retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>

#include "timestamptz.hpp"

namespace cutover::retry {

namespace {

using std::chrono::milliseconds;

bool
IsRetryableStatus(int status)
{
	switch (status) {
	case 408: /* the server gave up waiting for the request: it did not act */
	case 425: /* too early: the server refused to process a replayable request */
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return true;
	default:
		return false;
	}
}

/* Statuses after which the server may have carried out the request (see the table in retry.hpp). */
bool
MayHaveActed(int status)
{
	return status == 500 || status == 502 || status == 503 || status == 504;
}

std::string
DescribeOutcome(const AttemptOutcome &outcome)
{
	switch (outcome.kind) {
	case OutcomeKind::Response:
		return "HTTP " + std::to_string(outcome.status);
	case OutcomeKind::NetworkErrorBeforeSend:
		return "the connection failed before the request was sent";
	case OutcomeKind::NetworkErrorAfterSend:
		return "the connection failed after the request was sent";
	}
	return "unknown outcome";
}

milliseconds
Clamp(milliseconds delay, milliseconds max_delay)
{
	if (delay < milliseconds{0})
		return milliseconds{0};
	return std::min(delay, std::max(max_delay, milliseconds{0}));
}

/* The delay before the next attempt: Retry-After where it applies and can be read, else backoff. */
milliseconds
NextDelay(const RetryPolicy &policy, const Attempt &attempt, std::chrono::system_clock::time_point now,
		  const UnitRandom &random)
{
	const AttemptOutcome &outcome = attempt.outcome;
	if (outcome.kind == OutcomeKind::Response && (outcome.status == 429 || outcome.status == 503) &&
		attempt.retry_after) {
		if (auto asked = ParseRetryAfter(*attempt.retry_after, now))
			return Clamp(*asked, policy.max_delay);
	}
	return BackoffDelay(policy, attempt.number, random ? random() : 1.0);
}

bool
EqualsIgnoringCase(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (std::size_t i = 0; i < a.size(); i++)
		if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
			return false;
	return true;
}

bool
IsOws(char c)
{
	return c == ' ' || c == '\t';
}

std::string_view
TrimOws(std::string_view s)
{
	while (!s.empty() && IsOws(s.front()))
		s.remove_prefix(1);
	while (!s.empty() && IsOws(s.back()))
		s.remove_suffix(1);
	return s;
}

/* A small cursor over the date text: every Take* consumes exactly what it matched or fails. */
class DateReader
{
  public:
	explicit DateReader(std::string_view text) : text_(text) {}

	bool
	AtEnd() const
	{
		return pos_ == text_.size();
	}

	bool
	Literal(std::string_view expected)
	{
		if (text_.substr(pos_, expected.size()) != expected)
			return false;
		pos_ += expected.size();
		return true;
	}

	/* Exactly `count` digits. */
	bool
	Digits(int count, int &value)
	{
		value = 0;
		for (int i = 0; i < count; i++) {
			if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_])))
				return false;
			value = value * 10 + (text_[pos_++] - '0');
		}
		return true;
	}

	/* The longest run of letters. */
	std::string_view
	Word()
	{
		std::size_t start = pos_;
		while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_])))
			pos_++;
		return text_.substr(start, pos_ - start);
	}

	/* hour ":" minute ":" second */
	bool
	Time(int &hour, int &minute, int &second)
	{
		return Digits(2, hour) && Literal(":") && Digits(2, minute) && Literal(":") && Digits(2, second);
	}

  private:
	std::string_view text_;
	std::size_t pos_ = 0;
};

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {"Monday", "Tuesday",	 "Wednesday", "Thursday",
														   "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
														  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N>
bool
IsOneOf(std::string_view word, const std::array<std::string_view, N> &names)
{
	for (auto name : names)
		if (EqualsIgnoringCase(word, name))
			return true;
	return false;
}

/* 1-12, or 0 when `word` is no month name. */
int
MonthNumber(std::string_view word)
{
	for (std::size_t i = 0; i < kMonthNames.size(); i++)
		if (EqualsIgnoringCase(word, kMonthNames[i]))
			return static_cast<int>(i) + 1;
	return 0;
}

std::optional<std::chrono::system_clock::time_point>
MakeTime(int year, int month, int day, int hour, int minute, int second)
{
	/* Second 60 is a leap second, which the RFC's grammar allows. */
	if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
		return std::nullopt;
	std::int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	/* system_clock counts nanoseconds in 64 bits (about 1678 to 2262): saturate rather than overflow, so that
	 * "Fri, 31 Dec 9999 ..." is simply a date far away. */
	using SystemDuration = std::chrono::system_clock::duration;
	const std::int64_t latest = std::chrono::duration_cast<std::chrono::seconds>(SystemDuration::max()).count() - 1;
	const std::int64_t earliest = std::chrono::duration_cast<std::chrono::seconds>(SystemDuration::min()).count() + 1;
	seconds = std::clamp(seconds, earliest, latest);
	return std::chrono::system_clock::time_point{std::chrono::seconds{seconds}};
}

} // namespace

UnitRandom
DefaultUnitRandom()
{
	auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
	return [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

const char *
RetryActionName(RetryAction action)
{
	switch (action) {
	case RetryAction::Done:
		return "Done";
	case RetryAction::Retry:
		return "Retry";
	case RetryAction::Reconcile:
		return "Reconcile";
	case RetryAction::Fail:
		return "Fail";
	}
	return "?";
}

milliseconds
BackoffDelay(const RetryPolicy &policy, int attempt, double r)
{
	if (!(r >= 0.0)) /* also NaN */
		r = 0.0;
	if (r > 1.0)
		r = 1.0;
	const milliseconds max_delay = std::max(policy.max_delay, milliseconds{0});
	/* base * 2^(n-1) doubled step by step, stopping at the cap, so no attempt number can overflow it. */
	milliseconds cap = std::max(policy.base_delay, milliseconds{0});
	for (int i = 1; i < attempt && cap < max_delay; i++)
		cap = cap.count() > max_delay.count() / 2 ? max_delay : cap * 2;
	cap = std::min(cap, max_delay);
	auto jittered = static_cast<milliseconds::rep>(std::floor(r * static_cast<double>(cap.count())));
	/* r just below 1 must stay below the cap even after rounding of r * cap. */
	if (cap.count() > 0 && jittered >= cap.count())
		jittered = cap.count() - (r < 1.0 ? 1 : 0);
	return milliseconds{jittered};
}

std::optional<std::chrono::system_clock::time_point>
ParseHttpDate(std::string_view value)
{
	value = TrimOws(value);
	int day = 0, year = 0, hour = 0, minute = 0, second = 0;

	DateReader reader(value);
	std::string_view day_name = reader.Word();
	if (reader.Literal(",")) {
		if (IsOneOf(day_name, kDayNames)) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			if (!reader.Literal(" ") || !reader.Digits(2, day) || !reader.Literal(" "))
				return std::nullopt;
			int month = MonthNumber(reader.Word());
			if (month == 0 || !reader.Literal(" ") || !reader.Digits(4, year) || !reader.Literal(" ") ||
				!reader.Time(hour, minute, second) || !reader.Literal(" ") ||
				!EqualsIgnoringCase(reader.Word(), "GMT") || !reader.AtEnd())
				return std::nullopt;
			return MakeTime(year, month, day, hour, minute, second);
		}
		if (IsOneOf(day_name, kLongDayNames)) {
			/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
			if (!reader.Literal(" ") || !reader.Digits(2, day) || !reader.Literal("-"))
				return std::nullopt;
			int month = MonthNumber(reader.Word());
			if (month == 0 || !reader.Literal("-") || !reader.Digits(2, year) || !reader.Literal(" ") ||
				!reader.Time(hour, minute, second) || !reader.Literal(" ") ||
				!EqualsIgnoringCase(reader.Word(), "GMT") || !reader.AtEnd())
				return std::nullopt;
			year += year < 70 ? 2000 : 1900;
			return MakeTime(year, month, day, hour, minute, second);
		}
		return std::nullopt;
	}
	if (!IsOneOf(day_name, kDayNames) || !reader.Literal(" "))
		return std::nullopt;
	/* asctime: Sun Nov  6 08:49:37 1994 (a one-digit day is padded with a space) */
	int month = MonthNumber(reader.Word());
	if (month == 0 || !reader.Literal(" "))
		return std::nullopt;
	if (reader.Literal(" ")) {
		if (!reader.Digits(1, day))
			return std::nullopt;
	} else if (!reader.Digits(2, day)) {
		return std::nullopt;
	}
	if (!reader.Literal(" ") || !reader.Time(hour, minute, second) || !reader.Literal(" ") || !reader.Digits(4, year) ||
		!reader.AtEnd())
		return std::nullopt;
	return MakeTime(year, month, day, hour, minute, second);
}

std::optional<milliseconds>
ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now)
{
	value = TrimOws(value);
	if (value.empty())
		return std::nullopt;
	if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
		/* delta-seconds; anything above a day is clamped by the caller anyway, so saturate there. */
		constexpr std::int64_t kSaturate = 86400LL * 365;
		std::int64_t seconds = 0;
		for (char c : value) {
			seconds = seconds * 10 + (c - '0');
			if (seconds > kSaturate) {
				seconds = kSaturate;
				break;
			}
		}
		return milliseconds{seconds * 1000};
	}
	auto date = ParseHttpDate(value);
	if (!date)
		return std::nullopt;
	if (*date <= now)
		return milliseconds{0};
	return std::chrono::ceil<milliseconds>(*date - now);
}

RetryDecision
DecideRetry(const RetryPolicy &policy, const Attempt &attempt, std::chrono::system_clock::time_point now,
			const UnitRandom &random)
{
	const AttemptOutcome &outcome = attempt.outcome;
	const int max_attempts = std::max(policy.max_attempts, 1);
	const bool attempts_left = attempt.number < max_attempts;
	RetryDecision decision;

	bool retryable;
	bool unknown_effect; /* the server may have carried out the request */
	switch (outcome.kind) {
	case OutcomeKind::Response:
		retryable = IsRetryableStatus(outcome.status);
		unknown_effect = MayHaveActed(outcome.status);
		break;
	case OutcomeKind::NetworkErrorBeforeSend:
		retryable = true;
		unknown_effect = false;
		break;
	case OutcomeKind::NetworkErrorAfterSend:
	default:
		retryable = true;
		unknown_effect = true;
		break;
	}

	if (!retryable) {
		decision.action = RetryAction::Done;
		return decision;
	}
	decision.reason = DescribeOutcome(outcome);
	if (unknown_effect && !attempt.idempotent) {
		decision.action = RetryAction::Reconcile;
		decision.can_resend = attempts_left;
		if (attempts_left)
			decision.delay = NextDelay(policy, attempt, now, random);
		return decision;
	}
	if (!attempts_left) {
		decision.action = RetryAction::Fail;
		decision.reason = "gave up after " + std::to_string(attempt.number) +
						  (attempt.number == 1 ? " attempt" : " attempts") + ": the last one ended with " +
						  decision.reason;
		return decision;
	}
	decision.action = RetryAction::Retry;
	decision.delay = NextDelay(policy, attempt, now, random);
	return decision;
}

RateLimiter::RateLimiter(double per_second, double burst)
	: per_second_(std::isfinite(per_second) && per_second > 0 ? per_second : 0),
	  burst_(std::isfinite(burst) && burst >= 1 ? burst : 1), tokens_(burst_)
{
}

std::chrono::steady_clock::duration
RateLimiter::Acquire(std::chrono::steady_clock::time_point now)
{
	using Duration = std::chrono::steady_clock::duration;
	if (Unlimited())
		return Duration::zero();
	if (last_ && now > *last_) {
		double elapsed = std::chrono::duration<double>(now - *last_).count();
		tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
	}
	if (!last_ || now > *last_)
		last_ = now;
	tokens_ -= 1;
	if (tokens_ >= 0)
		return Duration::zero();
	/* Rounded to the nearest tick: 1/10 s must come out as exactly 100 ms, not 100 ms and 1 ns. */
	double wait_seconds = -tokens_ / per_second_;
	return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_seconds) +
												std::chrono::duration<double, std::nano>(0.5));
}

} // namespace cutover::retry
