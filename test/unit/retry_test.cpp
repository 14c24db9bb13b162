/*
 * retry_test.cpp: the retry decision for every outcome (table-driven), backoff and jitter bounds, Retry-After
 * in both forms, HTTP-date parsing, and the token bucket on a fake clock.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "retry.hpp"

namespace {

using namespace std::chrono_literals;
using cutover::retry::Attempt;
using cutover::retry::AttemptOutcome;
using cutover::retry::BackoffDelay;
using cutover::retry::DecideRetry;
using cutover::retry::OutcomeKind;
using cutover::retry::ParseHttpDate;
using cutover::retry::ParseRetryAfter;
using cutover::retry::RateLimiter;
using cutover::retry::RetryAction;
using cutover::retry::RetryDecision;
using cutover::retry::RetryPolicy;
using std::chrono::milliseconds;
using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

/* 2024-03-01 12:00:00 UTC, a Friday: the wall clock of every decision below. */
const SystemTime kNow{std::chrono::seconds{1709294400}};

AttemptOutcome
Status(int status)
{
	return {OutcomeKind::Response, status};
}
const AttemptOutcome kBeforeSend{OutcomeKind::NetworkErrorBeforeSend, 0};
const AttemptOutcome kAfterSend{OutcomeKind::NetworkErrorAfterSend, 0};

struct DecisionCase {
	std::string name;
	int attempt;
	AttemptOutcome outcome;
	std::optional<std::string> retry_after;
	bool idempotent;
	double random;
	RetryAction action;
	milliseconds delay;
	bool can_resend = false;
	std::string reason = ""; /* a substring the reason must hold; empty: the reason must be empty (Done) */
};

constexpr bool kGet = true;
constexpr bool kPost = false;
const std::optional<std::string> kNoHeader = std::nullopt;

/* Default policy: 8 attempts, base 500 ms, cap 30 s. Backoff cap for attempt n: min(30000, 500 * 2^(n-1)). */
std::vector<DecisionCase>
DecisionCases()
{
	using A = RetryAction;
	return {
		/* final answers */
		{"Get200", 1, Status(200), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Post201", 1, Status(201), kNoHeader, kPost, 0.5, A::Done, 0ms},
		{"Get204OnLastAttempt", 8, Status(204), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Post400", 1, Status(400), kNoHeader, kPost, 0.5, A::Done, 0ms},
		{"Get401", 1, Status(401), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Get403", 1, Status(403), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Get404", 3, Status(404), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Post409", 2, Status(409), kNoHeader, kPost, 0.5, A::Done, 0ms},
		{"Post422", 1, Status(422), kNoHeader, kPost, 0.5, A::Done, 0ms},
		{"Get301", 1, Status(301), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Post501", 1, Status(501), kNoHeader, kPost, 0.5, A::Done, 0ms},
		{"Get505", 1, Status(505), kNoHeader, kGet, 0.5, A::Done, 0ms},
		{"Post400IgnoresRetryAfter", 1, Status(400), std::string("5"), kPost, 0.5, A::Done, 0ms},

		/* the server did not act: retried, creates included */
		{"Post408", 1, Status(408), kNoHeader, kPost, 0.5, A::Retry, 250ms, false, "HTTP 408"},
		{"Get425RandomZero", 2, Status(425), kNoHeader, kGet, 0.0, A::Retry, 0ms, false, "HTTP 425"},
		{"Post429NoHeader", 3, Status(429), kNoHeader, kPost, 0.5, A::Retry, 1000ms, false, "HTTP 429"},
		{"Post429DeltaSeconds", 1, Status(429), std::string("3"), kPost, 0.5, A::Retry, 3000ms, false, "HTTP 429"},
		{"Get429DeltaSecondsWithSpaces", 1, Status(429), std::string(" 7\t"), kGet, 0.5, A::Retry, 7000ms, false,
		 "HTTP 429"},
		{"Get429ZeroSeconds", 1, Status(429), std::string("0"), kGet, 0.9, A::Retry, 0ms, false, "HTTP 429"},
		{"Get429DeltaClamped", 1, Status(429), std::string("120"), kGet, 0.5, A::Retry, 30000ms, false, "HTTP 429"},
		{"Get429HugeDeltaClamped", 1, Status(429), std::string("99999999999999999999999"), kGet, 0.5, A::Retry, 30000ms,
		 false, "HTTP 429"},
		{"Get429HttpDate", 1, Status(429), std::string("Fri, 01 Mar 2024 12:00:10 GMT"), kGet, 0.5, A::Retry, 10000ms,
		 false, "HTTP 429"},
		{"Get429HttpDateClamped", 1, Status(429), std::string("Sat, 02 Mar 2024 12:00:00 GMT"), kGet, 0.5, A::Retry,
		 30000ms, false, "HTTP 429"},
		{"Get429HttpDatePast", 4, Status(429), std::string("Thu, 29 Feb 2024 12:00:00 GMT"), kGet, 0.5, A::Retry, 0ms,
		 false, "HTTP 429"},
		{"Get429HttpDateNow", 1, Status(429), std::string("Fri, 01 Mar 2024 12:00:00 GMT"), kGet, 0.5, A::Retry, 0ms,
		 false, "HTTP 429"},
		{"Get429GarbageFallsBackToBackoff", 3, Status(429), std::string("soon"), kGet, 0.5, A::Retry, 1000ms, false,
		 "HTTP 429"},
		{"Get429EmptyFallsBackToBackoff", 2, Status(429), std::string(""), kGet, 0.5, A::Retry, 500ms, false,
		 "HTTP 429"},
		{"Get429NegativeFallsBackToBackoff", 1, Status(429), std::string("-5"), kGet, 0.5, A::Retry, 250ms, false,
		 "HTTP 429"},
		{"Get429FractionFallsBackToBackoff", 1, Status(429), std::string("1.5"), kGet, 0.5, A::Retry, 250ms, false,
		 "HTTP 429"},
		{"Get429BadDateFallsBackToBackoff", 1, Status(429), std::string("Fri, 31 Feb 2024 12:00:00 GMT"), kGet, 0.5,
		 A::Retry, 250ms, false, "HTTP 429"},
		{"Post429LastAttemptFails", 8, Status(429), std::string("1"), kPost, 0.5, A::Fail, 0ms, false,
		 "gave up after 8 attempts: the last one ended with HTTP 429"},

		/* 5xx: retried when idempotent, reconciled for a create */
		{"Get500", 1, Status(500), kNoHeader, kGet, 0.5, A::Retry, 250ms, false, "HTTP 500"},
		{"Get502", 2, Status(502), kNoHeader, kGet, 0.5, A::Retry, 500ms, false, "HTTP 502"},
		{"Get503RetryAfter", 1, Status(503), std::string("2"), kGet, 0.5, A::Retry, 2000ms, false, "HTTP 503"},
		{"Get503GarbageRetryAfter", 1, Status(503), std::string("later"), kGet, 0.5, A::Retry, 250ms, false,
		 "HTTP 503"},
		{"Get504", 4, Status(504), kNoHeader, kGet, 0.5, A::Retry, 2000ms, false, "HTTP 504"},
		{"Get500IgnoresRetryAfter", 1, Status(500), std::string("9"), kGet, 0.5, A::Retry, 250ms, false, "HTTP 500"},
		{"Get503LastAttemptFails", 8, Status(503), kNoHeader, kGet, 0.5, A::Fail, 0ms, false,
		 "gave up after 8 attempts: the last one ended with HTTP 503"},
		{"Post500Reconciles", 1, Status(500), kNoHeader, kPost, 0.5, A::Reconcile, 250ms, true, "HTTP 500"},
		{"Post502Reconciles", 2, Status(502), kNoHeader, kPost, 0.5, A::Reconcile, 500ms, true, "HTTP 502"},
		{"Post503ReconcilesWithRetryAfter", 1, Status(503), std::string("4"), kPost, 0.5, A::Reconcile, 4000ms, true,
		 "HTTP 503"},
		{"Post504Reconciles", 3, Status(504), kNoHeader, kPost, 0.5, A::Reconcile, 1000ms, true, "HTTP 504"},
		{"Post500LastAttemptStillReconciles", 8, Status(500), kNoHeader, kPost, 0.5, A::Reconcile, 0ms, false,
		 "HTTP 500"},

		/* network errors */
		{"PostBeforeSendRetries", 1, kBeforeSend, kNoHeader, kPost, 0.999, A::Retry, 499ms, false,
		 "before the request was sent"},
		{"GetBeforeSendRetries", 2, kBeforeSend, kNoHeader, kGet, 0.0, A::Retry, 0ms, false,
		 "before the request was sent"},
		{"PostBeforeSendLastAttemptFails", 8, kBeforeSend, kNoHeader, kPost, 0.5, A::Fail, 0ms, false,
		 "gave up after 8 attempts: the last one ended with the connection failed before the request was sent"},
		{"GetAfterSendRetries", 4, kAfterSend, kNoHeader, kGet, 0.5, A::Retry, 2000ms, false,
		 "after the request was sent"},
		{"GetAfterSendLastAttemptFails", 8, kAfterSend, kNoHeader, kGet, 0.5, A::Fail, 0ms, false,
		 "gave up after 8 attempts"},
		{"PostAfterSendReconciles", 1, kAfterSend, kNoHeader, kPost, 0.5, A::Reconcile, 250ms, true,
		 "after the request was sent"},
		{"PostAfterSendLastAttemptReconciles", 8, kAfterSend, kNoHeader, kPost, 0.5, A::Reconcile, 0ms, false,
		 "after the request was sent"},

		/* backoff cap and jitter */
		{"BackoffCappedAtMaxDelay", 7, kBeforeSend, kNoHeader, kGet, 0.999, A::Retry, 29970ms, false, "before"},
		{"BackoffAttempt6BelowCap", 6, kBeforeSend, kNoHeader, kGet, 0.999, A::Retry, 15984ms, false, "before"},
		{"BackoffRandomZeroIsImmediate", 7, kBeforeSend, kNoHeader, kGet, 0.0, A::Retry, 0ms, false, "before"},
		{"BackoffRandomAboveOneIsClamped", 1, kBeforeSend, kNoHeader, kGet, 7.0, A::Retry, 500ms, false, "before"},
		{"BackoffRandomNegativeIsClamped", 1, kBeforeSend, kNoHeader, kGet, -3.0, A::Retry, 0ms, false, "before"},
	};
}

class RetryDecisionTable : public testing::TestWithParam<DecisionCase>
{
};

TEST_P(RetryDecisionTable, Decides)
{
	const DecisionCase &c = GetParam();
	Attempt attempt{c.attempt, c.outcome, c.retry_after, c.idempotent};
	double draw = c.random;
	RetryDecision d = DecideRetry(RetryPolicy{}, attempt, kNow, [draw]() { return draw; });
	EXPECT_EQ(cutover::retry::RetryActionName(d.action), std::string(cutover::retry::RetryActionName(c.action)));
	EXPECT_EQ(d.delay.count(), c.delay.count());
	EXPECT_EQ(d.can_resend, c.can_resend);
	if (c.reason.empty()) {
		EXPECT_EQ(d.reason, "");
	} else {
		EXPECT_NE(d.reason.find(c.reason), std::string::npos) << d.reason;
	}
}

INSTANTIATE_TEST_SUITE_P(Outcomes, RetryDecisionTable, testing::ValuesIn(DecisionCases()),
						 [](const testing::TestParamInfo<DecisionCase> &param_info) { return param_info.param.name; });

TEST(DecideRetry, EveryStatusFromOneToFiveNinetyNineHasAnAction)
{
	/* Done for all but the listed retryable statuses, whatever the attempt. */
	const std::vector<int> retryable = {408, 425, 429, 500, 502, 503, 504};
	for (int status = 100; status < 600; status++) {
		bool listed = std::find(retryable.begin(), retryable.end(), status) != retryable.end();
		RetryDecision d =
			DecideRetry(RetryPolicy{}, Attempt{1, Status(status), kNoHeader, kGet}, kNow, []() { return 0.5; });
		EXPECT_EQ(d.action, listed ? RetryAction::Retry : RetryAction::Done) << status;
	}
}

TEST(DecideRetry, EmptyRandomSourceMeansFullBackoff)
{
	RetryDecision d = DecideRetry(RetryPolicy{}, Attempt{3, kBeforeSend, kNoHeader, kPost}, kNow, nullptr);
	EXPECT_EQ(d.action, RetryAction::Retry);
	EXPECT_EQ(d.delay, 2000ms);
}

TEST(DecideRetry, OneAttemptPolicyFailsAtOnce)
{
	for (int max_attempts : {1, 0, -4}) {
		RetryPolicy policy;
		policy.max_attempts = max_attempts;
		RetryDecision d = DecideRetry(policy, Attempt{1, Status(503), kNoHeader, kGet}, kNow, []() { return 0.5; });
		EXPECT_EQ(d.action, RetryAction::Fail) << max_attempts;
		EXPECT_EQ(d.reason, "gave up after 1 attempt: the last one ended with HTTP 503");
	}
}

TEST(DecideRetry, CustomPolicyDelays)
{
	RetryPolicy policy{4, 100ms, 1000ms};
	auto draw = []() { return 0.999; };
	std::vector<milliseconds> expected = {99ms, 199ms, 399ms};
	for (int n = 1; n <= 3; n++) {
		RetryDecision d = DecideRetry(policy, Attempt{n, Status(502), kNoHeader, kGet}, kNow, draw);
		EXPECT_EQ(d.action, RetryAction::Retry);
		EXPECT_EQ(d.delay, expected[n - 1]) << n;
	}
	EXPECT_EQ(DecideRetry(policy, Attempt{4, Status(502), kNoHeader, kGet}, kNow, draw).action, RetryAction::Fail);
	/* Retry-After is clamped to this policy's cap */
	EXPECT_EQ(DecideRetry(policy, Attempt{1, Status(429), std::string("30"), kGet}, kNow, draw).delay, 1000ms);
}

/* ---- backoff and jitter bounds ---- */

TEST(BackoffDelay, FullJitterStaysWithinZeroAndTheCap)
{
	RetryPolicy policy;
	const double draws[] = {
		0.0, 1e-12, 0.25, 0.5, 0.999, std::nextafter(1.0, 0.0), -1.0, std::numeric_limits<double>::quiet_NaN()};
	for (int n = 1; n <= 64; n++) {
		long long cap = std::min<long long>(30000, n >= 20 ? 30000 : 500LL << (n - 1));
		for (double r : draws) {
			milliseconds d = BackoffDelay(policy, n, r);
			EXPECT_GE(d.count(), 0) << n << " " << r;
			EXPECT_LT(d.count(), cap) << n << " " << r;
		}
		EXPECT_EQ(BackoffDelay(policy, n, 0.0), 0ms);
		EXPECT_EQ(BackoffDelay(policy, n, 1.0).count(), cap) << n;
		EXPECT_EQ(BackoffDelay(policy, n, 0.999).count(), static_cast<long long>(std::floor(0.999 * cap))) << n;
	}
}

TEST(BackoffDelay, HugeAttemptNumbersDoNotOverflow)
{
	RetryPolicy policy;
	EXPECT_EQ(BackoffDelay(policy, std::numeric_limits<int>::max(), 0.5), 15000ms);
	EXPECT_EQ(BackoffDelay(policy, 0, 0.5), 250ms);
	RetryPolicy huge{8, milliseconds{std::numeric_limits<milliseconds::rep>::max() / 2},
					 milliseconds{std::numeric_limits<milliseconds::rep>::max()}};
	EXPECT_GT(BackoffDelay(huge, 10, 0.5).count(), 0);
}

TEST(BackoffDelay, ZeroBaseOrCapMeansNoWait)
{
	EXPECT_EQ(BackoffDelay(RetryPolicy{8, 0ms, 30000ms}, 5, 0.9), 0ms);
	EXPECT_EQ(BackoffDelay(RetryPolicy{8, 500ms, 0ms}, 5, 0.9), 0ms);
}

/* ---- HTTP-date and Retry-After ---- */

struct DateCase {
	std::string name;
	std::string text;
	std::optional<long long> epoch_seconds;
};

std::vector<DateCase>
DateCases()
{
	constexpr long long kRfcExample = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	return {
		{"ImfFixdate", "Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample},
		{"Rfc850", "Sunday, 06-Nov-94 08:49:37 GMT", kRfcExample},
		{"Asctime", "Sun Nov  6 08:49:37 1994", kRfcExample},
		{"AsctimeTwoDigitDay", "Fri Mar 01 12:00:00 2024", 1709294400},
		{"ImfFixdateAnyCase", "sun, 06 NOV 1994 08:49:37 gmt", kRfcExample},
		{"SurroundingWhitespace", " \tSun, 06 Nov 1994 08:49:37 GMT ", kRfcExample},
		{"Rfc850After2000", "Friday, 01-Mar-24 12:00:00 GMT", 1709294400},
		{"LeapDay", "Thu, 29 Feb 2024 00:00:00 GMT", 1709164800},
		{"Epoch", "Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"BeforeEpoch", "Wed, 31 Dec 1969 23:59:59 GMT", -1},
		{"LeapSecond", "Sat, 31 Dec 2016 23:59:60 GMT", 1483228800},
		{"Far", "Wed, 31 Dec 2200 23:59:59 GMT", 7289654399},
		{"NotALeapYear", "Thu, 29 Feb 2023 00:00:00 GMT", std::nullopt},
		{"Feb31", "Fri, 31 Feb 2024 12:00:00 GMT", std::nullopt},
		{"Hour24", "Sun, 06 Nov 1994 24:00:00 GMT", std::nullopt},
		{"Minute60", "Sun, 06 Nov 1994 08:60:00 GMT", std::nullopt},
		{"UnknownDay", "Foo, 06 Nov 1994 08:49:37 GMT", std::nullopt},
		{"UnknownMonth", "Sun, 06 Nom 1994 08:49:37 GMT", std::nullopt},
		{"OtherZone", "Sun, 06 Nov 1994 08:49:37 PST", std::nullopt},
		{"NoZone", "Sun, 06 Nov 1994 08:49:37", std::nullopt},
		{"TrailingJunk", "Sun, 06 Nov 1994 08:49:37 GMT+1", std::nullopt},
		{"OneDigitDayInImf", "Sun, 6 Nov 1994 08:49:37 GMT", std::nullopt},
		{"TwoDigitYearInImf", "Sun, 06 Nov 94 08:49:37 GMT", std::nullopt},
		{"LongDayNameInImf", "Sunday, 06 Nov 1994 08:49:37 GMT", std::nullopt},
		{"ShortDayNameInRfc850", "Sun, 06-Nov-94 08:49:37 GMT", std::nullopt},
		{"Iso8601", "1994-11-06T08:49:37Z", std::nullopt},
		{"Empty", "", std::nullopt},
		{"Digits", "120", std::nullopt},
	};
}

class HttpDateTable : public testing::TestWithParam<DateCase>
{
};

TEST_P(HttpDateTable, Parses)
{
	const DateCase &c = GetParam();
	auto parsed = ParseHttpDate(c.text);
	ASSERT_EQ(parsed.has_value(), c.epoch_seconds.has_value()) << c.text;
	if (parsed) {
		EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(parsed->time_since_epoch()).count(),
				  *c.epoch_seconds);
	}
}

INSTANTIATE_TEST_SUITE_P(Dates, HttpDateTable, testing::ValuesIn(DateCases()),
						 [](const testing::TestParamInfo<DateCase> &param_info) { return param_info.param.name; });

TEST(ParseHttpDate, DatesBeyondTheClockSaturateInsteadOfOverflowing)
{
	auto far = ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT");
	ASSERT_TRUE(far.has_value());
	EXPECT_GT(*far, *ParseHttpDate("Wed, 31 Dec 2200 23:59:59 GMT"));
	auto early = ParseHttpDate("Mon, 01 Jan 0001 00:00:00 GMT");
	ASSERT_TRUE(early.has_value());
	EXPECT_LT(*early, SystemTime{});
	EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", kNow).value() > 24h, true);
	EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", kNow), 0ms);
}

TEST(ParseRetryAfter, DeltaSecondsAndDates)
{
	EXPECT_EQ(ParseRetryAfter("0", kNow), 0ms);
	EXPECT_EQ(ParseRetryAfter("42", kNow), 42000ms);
	EXPECT_EQ(ParseRetryAfter("007", kNow), 7000ms);
	/* saturated long before it could overflow; the decision clamps it to max_delay */
	EXPECT_GT(ParseRetryAfter("18446744073709551616000", kNow).value(), 24h);
	EXPECT_EQ(ParseRetryAfter("Fri, 01 Mar 2024 12:01:00 GMT", kNow), 60000ms);
	EXPECT_EQ(ParseRetryAfter("Fri, 01 Mar 2024 11:59:59 GMT", kNow), 0ms);
	/* a date is measured against `now` to the nanosecond and rounded up */
	EXPECT_EQ(ParseRetryAfter("Fri, 01 Mar 2024 12:00:01 GMT", kNow + 1ns), 1000ms);
	EXPECT_EQ(ParseRetryAfter("Fri, 01 Mar 2024 12:00:01 GMT", kNow + 999999999ns), 1ms);
	EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
	EXPECT_EQ(ParseRetryAfter("   ", kNow), std::nullopt);
	EXPECT_EQ(ParseRetryAfter("+5", kNow), std::nullopt);
	EXPECT_EQ(ParseRetryAfter("5s", kNow), std::nullopt);
	EXPECT_EQ(ParseRetryAfter("1 2", kNow), std::nullopt);
}

/* ---- token bucket on a fake clock ---- */

const SteadyTime kT0{std::chrono::hours{1}};

TEST(RateLimiter, BurstThenOneIntervalApart)
{
	RateLimiter limiter(10, 3);
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	/* the bucket is empty: each caller reserves the next slot */
	EXPECT_EQ(limiter.Acquire(kT0), 100ms);
	EXPECT_EQ(limiter.Acquire(kT0), 200ms);
	EXPECT_EQ(limiter.Acquire(kT0 + 50ms), 250ms);
}

TEST(RateLimiter, RefillsUpToBurstOnly)
{
	RateLimiter limiter(10, 3);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	/* an hour idle refills three tokens, not 36000 */
	SteadyTime later = kT0 + 1h;
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(limiter.Acquire(later), 0ns) << i;
	EXPECT_EQ(limiter.Acquire(later), 100ms);
}

TEST(RateLimiter, SteadyStateAtTheRateNeverWaits)
{
	RateLimiter limiter(4, 1);
	SteadyTime t = kT0;
	for (int i = 0; i < 100; i++, t += 250ms)
		EXPECT_EQ(limiter.Acquire(t), 0ns) << i;
	/* faster than the rate: waits for the next quarter second */
	EXPECT_EQ(limiter.Acquire(t - 250ms + 100ms), 150ms);
}

TEST(RateLimiter, CallerThatWaitsAsToldGetsItsSlot)
{
	RateLimiter limiter(2, 1);
	SteadyTime t = kT0;
	for (int i = 0; i < 20; i++) {
		auto wait = limiter.Acquire(t);
		EXPECT_EQ(wait, 0ns) << i;
		t += wait + 500ms;
	}
	RateLimiter queue(2, 1);
	EXPECT_EQ(queue.Acquire(kT0), 0ns);
	auto wait = queue.Acquire(kT0);
	EXPECT_EQ(wait, 500ms);
	/* having waited, the next caller at that moment queues behind */
	EXPECT_EQ(queue.Acquire(kT0 + wait), 500ms);
}

TEST(RateLimiter, FractionalRates)
{
	RateLimiter limiter(3, 1);
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	auto wait = limiter.Acquire(kT0);
	EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 1.0 / 3, 1e-9);
	RateLimiter slow(0.5, 1);
	EXPECT_EQ(slow.Acquire(kT0), 0ns);
	EXPECT_EQ(slow.Acquire(kT0), 2s);
}

TEST(RateLimiter, ZeroRateIsUnlimited)
{
	for (double rate : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
		RateLimiter limiter(rate, 1);
		EXPECT_TRUE(limiter.Unlimited()) << rate;
		for (int i = 0; i < 1000; i++)
			ASSERT_EQ(limiter.Acquire(kT0), 0ns) << rate << " " << i;
	}
}

TEST(RateLimiter, BurstBelowOneCountsAsOne)
{
	RateLimiter limiter(10, 0);
	EXPECT_FALSE(limiter.Unlimited());
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	EXPECT_EQ(limiter.Acquire(kT0), 100ms);
}

TEST(RateLimiter, ClockGoingBackwardsRefillsNothing)
{
	RateLimiter limiter(10, 1);
	EXPECT_EQ(limiter.Acquire(kT0), 0ns);
	EXPECT_EQ(limiter.Acquire(kT0 - 10s), 100ms);
	/* measured from the latest time seen, not from the earlier one */
	EXPECT_EQ(limiter.Acquire(kT0 + 100ms), 100ms);
}

} // namespace
