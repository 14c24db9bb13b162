/*
 * retry.hpp: what to do after one HTTP request attempt (done, retry after a delay, reconcile, give up), and a
 * token bucket that paces requests. Pure policy: the clock and the random source are passed in, so the unit
 * tests drive both, and the client's HTTP layer only carries out the decisions.
 *
 * The decision, for attempt n (1-based) of at most max_attempts:
 *
 *   outcome                              idempotent (GET)         not idempotent (POST create)
 *   2xx                                  Done                     Done
 *   400, 401, 403, 404, 409, other 4xx   Done (a final answer)    Done (a final answer)
 *   408, 425, 429                        Retry                    Retry
 *   500, 502, 503, 504                   Retry                    Reconcile
 *   other statuses (1xx, 3xx, 501, ...)  Done                     Done
 *   network error before send            Retry                    Retry
 *   network error after send             Retry                    Reconcile
 *
 * Retry becomes Fail once n reaches max_attempts. Done means "this response is the answer": the caller reads
 * it, success or error. 408, 425 and 429 say the server did not act on the request, so even a create can be
 * sent again. A 5xx is different: the write may have committed before the response was generated (a proxy's
 * 504 after the backend created the user, a 500 raised after the commit), so for a create its outcome is as
 * unknown as a timeout's. Reconcile tells the caller to look before it acts again: find the user by email or
 * by server_metadata.supabase_user_id, adopt it when it exists, and only otherwise send the create again. That
 * is why Reconcile is returned even on the last attempt (the write may have happened; giving up without
 * looking could leave a user the journal does not know about); `can_resend` then says whether a resend is
 * still allowed, after `delay`, when the lookup finds nothing.
 *
 * Delays: 429 and 503 honour Retry-After (delta-seconds or an HTTP-date, RFC 7231 7.1.3) clamped to
 * max_delay; a missing or unreadable header falls back to backoff. Backoff is "full jitter": a uniform draw in
 * [0, min(max_delay, base_delay * 2^(n-1))), so that many clients that failed together do not retry together.
 */
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cutover::retry {

struct RetryPolicy {
	int max_attempts = 8; /* attempts in all, the first one included; below 1 counts as 1 */
	std::chrono::milliseconds base_delay{500};
	std::chrono::milliseconds max_delay{30000};
};

enum class OutcomeKind {
	Response,				/* the server answered with a status code */
	NetworkErrorBeforeSend, /* DNS, connect or TLS failed: nothing reached the server */
	NetworkErrorAfterSend,	/* timeout or connection lost after the request was sent: the server may have acted */
};

struct AttemptOutcome {
	OutcomeKind kind = OutcomeKind::Response;
	int status = 0; /* the HTTP status when kind is Response */
};

/* One finished attempt, as the HTTP layer saw it. */
struct Attempt {
	int number = 1; /* 1-based */
	AttemptOutcome outcome;
	std::optional<std::string> retry_after; /* the Retry-After header value as received, if any */
	bool idempotent = false;				/* a GET (or a PATCH of the same fields); false for a create */
};

enum class RetryAction { Done, Retry, Reconcile, Fail };

struct RetryDecision {
	RetryAction action = RetryAction::Done;
	std::chrono::milliseconds delay{0}; /* Retry, and Reconcile with can_resend: the wait before sending again */
	bool can_resend = false;			/* Reconcile: an attempt is left for a resend if the lookup finds nothing */
	std::string reason; /* empty for Done; otherwise what happened, e.g. "HTTP 503", for logs and errors */
};

/* A uniform draw in [0, 1). Values outside are clamped, so a faulty source cannot produce a negative delay. */
using UnitRandom = std::function<double()>;

/* A UnitRandom over a std::mt19937_64 seeded from std::random_device, for production use. */
UnitRandom DefaultUnitRandom();

/*
 * The decision after `attempt`. `now` is the wall clock that an HTTP-date Retry-After is measured against;
 * `random` draws the jitter (an empty function means no jitter: the full backoff).
 */
RetryDecision DecideRetry(const RetryPolicy &policy, const Attempt &attempt, std::chrono::system_clock::time_point now,
						  const UnitRandom &random);

/* The backoff after attempt n with jitter draw r in [0, 1): floor(r * min(max_delay, base_delay * 2^(n-1))). */
std::chrono::milliseconds BackoffDelay(const RetryPolicy &policy, int attempt, double r);

/*
 * The wait a Retry-After value asks for, not clamped: delta-seconds (digits only; huge values saturate), or an
 * HTTP-date minus `now`, rounded up to the millisecond (0 when the date is past). std::nullopt when the value
 * is neither.
 */
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
														 std::chrono::system_clock::time_point now);

/*
 * An HTTP-date in any of the three forms RFC 7231 7.1.1.1 tells recipients to accept: IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT"; years 70-99 are 19xx, 00-69
 * are 20xx) and asctime ("Sun Nov  6 08:49:37 1994"). Names are matched without regard to case; the day name
 * must be a real one but is not checked against the date.
 */
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view value);

/* "Done", "Retry", "Reconcile", "Fail". */
const char *RetryActionName(RetryAction action);

/*
 * A token bucket: `burst` requests may go at once, then `per_second` on average. Acquire takes one token and
 * returns how long the caller must wait before sending (zero when a token was there). Tokens are reserved even
 * when the caller must wait, so successive callers queue up one interval apart instead of all waking at once.
 * A rate of 0 (or below, or not finite) means unlimited. Time is passed in, so tests use a fake clock; a clock
 * that goes backwards counts as no time passing. Not thread-safe: one instance per sending thread, or a lock.
 */
class RateLimiter
{
  public:
	RateLimiter(double per_second, double burst);

	std::chrono::steady_clock::duration Acquire(std::chrono::steady_clock::time_point now);

	bool
	Unlimited() const
	{
		return per_second_ <= 0;
	}

  private:
	double per_second_;
	double burst_;
	double tokens_; /* may go negative: tokens reserved by callers that are still waiting */
	std::optional<std::chrono::steady_clock::time_point> last_;
};

} // namespace cutover::retry
