/*
 * send_queue.hpp: the requests of `cutover users` waiting their turn: queued ones, and parked ones held until
 * a time (a retry's back-off, or the --rate limit). Each job type has `bool has_token`: a job the rate limiter
 * parked holds its token, goes first when it wakes, and counts against the concurrency meanwhile, so that at
 * most `concurrency` tokens are ever taken ahead.
 */
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "retry.hpp"

namespace cutover {

template <typename Job> class SendQueue
{
  public:
	using Clock = std::chrono::steady_clock;

	SendQueue(int concurrency, double rate) : concurrency_(concurrency), limiter_(rate, std::max(1.0, rate)) {}

	void
	Push(Job job)
	{
		queue_.push_back(std::move(job));
	}

	/* A job held until `when`. */
	void
	Park(Job job, Clock::time_point when)
	{
		std::uint64_t key = next_park_++;
		parked_.emplace(key, std::move(job));
		waiting_.emplace(when, key);
	}

	/* The jobs to send now, the parked ones whose time came first: at most `concurrency` with `busy` in flight. */
	std::deque<Job>
	TakeReady(Clock::time_point now, std::size_t busy)
	{
		Wake(now);
		std::deque<Job> ready;
		while (!queue_.empty() && busy + ready.size() + token_parked_ < static_cast<std::size_t>(concurrency_)) {
			Job job = std::move(queue_.front());
			queue_.pop_front();
			auto wait = job.has_token ? Clock::duration::zero() : limiter_.Acquire(now);
			job.has_token = false;
			if (wait > Clock::duration::zero()) {
				job.has_token = true;
				token_parked_++;
				Park(std::move(job), now + wait);
			} else {
				ready.push_back(std::move(job));
			}
		}
		return ready;
	}

	/* Nothing queued nor parked. */
	bool
	Empty() const
	{
		return queue_.empty() && waiting_.empty();
	}

	/* When the first parked job wakes, if one is parked. */
	std::optional<Clock::time_point>
	NextWake() const
	{
		if (waiting_.empty())
			return std::nullopt;
		return waiting_.top().first;
	}

  private:
	void
	Wake(Clock::time_point now)
	{
		while (!waiting_.empty() && waiting_.top().first <= now) {
			auto found = parked_.find(waiting_.top().second);
			waiting_.pop();
			Job job = std::move(found->second);
			parked_.erase(found);
			if (job.has_token) {
				token_parked_--;
				queue_.push_front(std::move(job)); /* its token is taken: it goes first */
			} else {
				queue_.push_back(std::move(job));
			}
		}
	}

	int concurrency_;
	retry::RateLimiter limiter_;
	std::deque<Job> queue_;
	using Timed = std::pair<Clock::time_point, std::uint64_t>;
	std::priority_queue<Timed, std::vector<Timed>, std::greater<Timed>> waiting_;
	std::map<std::uint64_t, Job> parked_;
	std::uint64_t next_park_ = 1;
	std::size_t token_parked_ = 0;
};

} // namespace cutover
