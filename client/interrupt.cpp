/*
 * interrupt.cpp: the SIGINT and SIGTERM handler, and the connections it cancels.
 *
 * The handler runs on the client's one thread. It touches only lock-free atomics, PQcancel and write(2):
 * a slot is emptied before its PGcancel is freed, so the handler never sees a freed one.
 */
#include "interrupt.hpp"

#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>

namespace cutover {

namespace {

constexpr int kSlots = 128; /* more connections than any command holds (pull -j 64, plus two) */
std::array<std::atomic<PGcancel *>, kSlots> g_cancels{};
volatile std::sig_atomic_t g_signal = 0;
static_assert(std::atomic<PGcancel *>::is_always_lock_free, "the signal handler needs lock-free slots");

void
OnSignal(int signo)
{
	if (g_signal != 0) {
		static const char kAgain[] = "\ncutover: interrupted again: leaving without waiting for the servers\n";
		ssize_t ignored = write(STDERR_FILENO, kAgain, sizeof kAgain - 1);
		(void) ignored;
		_exit(130);
	}
	g_signal = signo;
	for (auto &slot : g_cancels)
		if (PGcancel *cancel = slot.load()) {
			char message[256];
			PQcancel(cancel, message, sizeof message);
		}
}

} // namespace

void
InstallInterruptHandlers()
{
	struct sigaction action = {};
	action.sa_handler = &OnSignal;
	sigemptyset(&action.sa_mask);
	/* no SA_RESTART: a wait (poll, a sleep) ends early, and the loop looks at Interrupted() */
	sigaction(SIGINT, &action, nullptr);
	sigaction(SIGTERM, &action, nullptr);
}

bool
Interrupted()
{
	return g_signal != 0;
}

std::string
InterruptName()
{
	switch (g_signal) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	default:
		return "";
	}
}

void
SleepUnlessInterrupted(std::chrono::milliseconds time)
{
	auto until = std::chrono::steady_clock::now() + time;
	while (!Interrupted() && std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
			std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
}

CancelOnInterrupt::CancelOnInterrupt(PGconn *conn)
{
	PGcancel *cancel = PQgetCancel(conn);
	if (cancel == nullptr)
		return;
	for (int i = 0; i < kSlots; i++) {
		PGcancel *empty = nullptr;
		if (g_cancels[i].compare_exchange_strong(empty, cancel)) {
			slot_ = i;
			return;
		}
	}
	PQfreeCancel(cancel); /* every slot taken: this connection is not cancelled by a signal */
}

CancelOnInterrupt::~CancelOnInterrupt()
{
	if (slot_ >= 0)
		PQfreeCancel(g_cancels[slot_].exchange(nullptr));
}

} // namespace cutover
