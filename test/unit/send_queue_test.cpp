/*
 * send_queue_test.cpp: the queue of `cutover users`' requests (client/send_queue.hpp): at most `concurrency` go
 * at once, parked jobs wait for their time, and a job the rate limiter parked keeps its token and goes first.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "send_queue.hpp"

namespace {

using cutover::SendQueue;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Job {
	std::string name;
	bool has_token = false;
};

std::string
Names(const std::deque<Job> &jobs)
{
	std::string names;
	for (const auto &job : jobs)
		names += job.name;
	return names;
}

TEST(SendQueue, NoMoreThanTheConcurrencyAtOnce)
{
	SendQueue<Job> queue(2, 0);
	for (const char *name : {"a", "b", "c"})
		queue.Push(Job{name});
	Clock::time_point now{};
	EXPECT_EQ(Names(queue.TakeReady(now, 0)), "ab");
	EXPECT_EQ(Names(queue.TakeReady(now, 2)), ""); /* both in flight */
	EXPECT_FALSE(queue.Empty());
	EXPECT_EQ(Names(queue.TakeReady(now, 1)), "c");
	EXPECT_TRUE(queue.Empty());
	EXPECT_FALSE(queue.NextWake());
}

TEST(SendQueue, ParkedJobsWaitForTheirTime)
{
	SendQueue<Job> queue(8, 0);
	Clock::time_point now{};
	queue.Park(Job{"late"}, now + milliseconds(500));
	queue.Park(Job{"soon"}, now + milliseconds(100));
	queue.Push(Job{"now"});
	EXPECT_EQ(Names(queue.TakeReady(now, 0)), "now");
	ASSERT_TRUE(queue.NextWake());
	EXPECT_EQ(*queue.NextWake(), now + milliseconds(100));
	EXPECT_EQ(Names(queue.TakeReady(now + milliseconds(99), 0)), "");
	EXPECT_EQ(Names(queue.TakeReady(now + milliseconds(100), 0)), "soon");
	EXPECT_EQ(Names(queue.TakeReady(now + milliseconds(600), 0)), "late");
	EXPECT_TRUE(queue.Empty());
}

TEST(SendQueue, TheRateLimitParksWithTheTokenTakenAndCountsAgainstTheConcurrency)
{
	/* 1 a second (the burst is the rate, at least 1): one job now, the next a second later */
	SendQueue<Job> queue(2, 1);
	for (const char *name : {"a", "b", "c", "d"})
		queue.Push(Job{name});
	Clock::time_point now{};
	/* a goes; b takes the next token and is parked with it; c waits: b counts against the concurrency of 2 */
	EXPECT_EQ(Names(queue.TakeReady(now, 0)), "a");
	ASSERT_TRUE(queue.NextWake());
	EXPECT_EQ(*queue.NextWake(), now + milliseconds(1000));
	EXPECT_EQ(Names(queue.TakeReady(now + milliseconds(500), 1)), "");
	/* at its time, b goes first, without a second token; c takes the one after */
	EXPECT_EQ(Names(queue.TakeReady(now + milliseconds(1000), 0)), "b");
	EXPECT_EQ(*queue.NextWake(), now + milliseconds(2000));
}

} // namespace
