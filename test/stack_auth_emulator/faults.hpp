// test/stack_auth_emulator/faults.hpp: the failures the emulator injects into /api/v1/* requests, so that a
// migration client can be tested against what a real network and a rate-limited API do to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "js_compat.hpp"

namespace emulator {

enum class FaultKind {
	None,
	TooManyRequests, // 429 with Retry-After, nothing done
	ServerError,	 // 500 text/plain, nothing done
	Drop,			 // the connection closes before any byte of a response, nothing done
	LostResponse,	 // a create, update or delete only: the request is carried out, then the response is cut short
	HtmlPage,		 // 502 text/html from a proxy in front of the API, nothing done
	MalformedJson,	 // the request is carried out, then answered with its status and a body that is not JSON
};

// Every kind that can be injected, in the order of the draw.
inline constexpr FaultKind kFaultKinds[] = {
	FaultKind::TooManyRequests, FaultKind::ServerError, FaultKind::Drop,
	FaultKind::LostResponse,	FaultKind::HtmlPage,	FaultKind::MalformedJson};

// The name used in logs, stats and the control API: "429", "500", "drop", "lost-response", "html",
// "malformed-json".
std::string FaultName(FaultKind kind);

struct FaultSettings {
	double fault_429 = 0;
	double fault_500 = 0;
	double fault_drop = 0;
	double fault_lost_response = 0;
	double fault_html = 0;
	double fault_malformed_json = 0;
	int retry_after = 1;			  // seconds, in the 429's Retry-After header
	double retry_after_omit_rate = 0; // the dev rate limiter leaves Retry-After out about half the time
	int latency_ms = 0;
	int latency_jitter_ms = 0;

	// Applies a JSON object of settings, keys as in ToJson(). "fault_rate" is a shorthand that spreads a rate
	// evenly over every fault kind, before the other keys of the same object apply. Throws
	// std::invalid_argument for unknown keys, wrong types and values out of range; then nothing changes.
	void Apply(const Json &changes);
	void Check() const;
	Json ToJson() const;
	// The probability of one kind, to read or set.
	double &Probability(FaultKind kind);
	double Probability(FaultKind kind) const;
	void SpreadRate(double rate);

  private:
	template <class Settings> static auto &Field(Settings &settings, FaultKind kind);
};

struct FaultDecision {
	FaultKind kind = FaultKind::None;
	std::chrono::milliseconds delay{0};
	int retry_after = -1; // seconds; -1: leave the Retry-After header out
};

class FaultInjector
{
  public:
	FaultInjector(FaultSettings settings, std::uint64_t seed);

	// One draw per API request. `carried_out` says whether a lost response is possible: a request that changes a
	// user (POST /api/v1/users, PATCH or DELETE /api/v1/users/{id}), carried out before its answer is cut.
	FaultDecision Decide(bool carried_out);

	FaultSettings Settings() const;
	void Apply(const Json &changes);

  private:
	mutable std::mutex mutex_;
	FaultSettings settings_;
	std::mt19937_64 rng_;
};

} // namespace emulator
