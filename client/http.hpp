/*
 * http.hpp: HTTP requests in flight at once over libcurl's multi interface. The caller submits requests with
 * a tag and collects finished ones; nothing here retries or interprets statuses (see retry.hpp and
 * users.cpp). Header values are never logged: they carry the Stack Auth secret key.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "retry.hpp"

namespace cutover {

/* How long a request may take, connection included. */
constexpr std::chrono::milliseconds kRequestTimeout{30000};

struct HttpRequest {
	std::string method = "GET";
	std::string url;
	std::vector<std::string> headers; /* "Name: value" */
	std::string body;
	std::chrono::milliseconds timeout = kRequestTimeout;
	/*
	 * false (a create): sent on a connection of its own. On a reused connection that dies before any answer,
	 * libcurl sends the request again by itself; for a create that could make a second user, so such a
	 * failure must reach the caller, whose lookup decides.
	 */
	bool idempotent = true;
};

struct HttpResponse {
	/* Response, or a network error before or after the request reached the server */
	retry::OutcomeKind kind = retry::OutcomeKind::Response;
	int status = 0;
	std::string content_type;
	std::optional<std::string> retry_after;
	std::string body;
	std::string network_error; /* curl's message for a network error */
	bool timed_out = false;	   /* the network error was the timeout: the server may still be at work */
};

class HttpPool
{
  public:
	explicit HttpPool(int max_in_flight);
	~HttpPool();
	HttpPool(const HttpPool &) = delete;
	HttpPool &operator=(const HttpPool &) = delete;

	/* Queues a request; it starts as soon as fewer than max_in_flight run. */
	void Submit(std::uint64_t tag, HttpRequest request);
	/*
	 * Runs the transfers for at most `wait` and returns those that finished (tag, response); after the first
	 * one finishes, up to `linger` more for others to finish with it, so that the caller handles answers a few
	 * at a time rather than one by one (each round of `cutover users` writes to the target once).
	 */
	std::vector<std::pair<std::uint64_t, HttpResponse>>
	Collect(std::chrono::milliseconds wait, std::chrono::milliseconds linger = std::chrono::milliseconds(0));
	/* Requests queued or running. */
	std::size_t
	Pending() const
	{
		return queued_.size() + running_.size();
	}
	/* One request, waited for. */
	HttpResponse Perform(HttpRequest request);

  private:
	struct Transfer;
	void StartQueued();

	void *multi_;
	int max_in_flight_;
	std::deque<std::pair<std::uint64_t, HttpRequest>> queued_;
	std::map<void *, std::unique_ptr<Transfer>> running_;
};

} // namespace cutover
