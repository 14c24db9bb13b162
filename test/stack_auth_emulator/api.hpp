// test/stack_auth_emulator/api.hpp: the HTTP side of the emulator. Every request to /api/ goes through the real
// server's pipeline (fault injection standing in for the network and the rate limiter, then body parsing,
// project authentication, schema validation, the handler); /__emulator/ is the unauthenticated control API
// that tests use to look inside and to change the faults.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <httplib.h>

#include "api_error.hpp"
#include "faults.hpp"
#include "store.hpp"
#include "users.hpp"

namespace emulator {

// Counters for GET /__emulator/stats.
class Stats
{
  public:
	// What a request did to the users: nothing, or a create, an update or a delete carried out.
	enum class Change { None, Create, Update, Delete };
	// `status` is 0 when no response was sent (a dropped connection).
	void Record(int status, FaultKind fault, Change change);
	Json ToJson(std::size_t user_count) const;
	void Reset();

  private:
	mutable std::mutex mutex_;
	std::uint64_t requests_ = 0;
	// per change: how many were carried out, and how many of those the client could not read the answer of
	// (lost-response, malformed-json)
	std::map<Change, std::uint64_t> changes_, unanswered_;
	std::map<int, std::uint64_t> by_status_;
	std::map<FaultKind, std::uint64_t> faults_;
};

// x-stack-request-id values: unique (a bijective mix of a counter) and unguessable enough for a test tool.
class RequestIds
{
  public:
	RequestIds();
	std::string Next();

  private:
	std::uint64_t salt_;
	std::atomic<std::uint64_t> counter_{0};
};

class Api
{
  public:
	// The secret server key is compared, never logged or echoed.
	Api(const ProjectConfig &project, std::string secret_server_key, FaultInjector &faults);

	void Register(httplib::Server &server);

  private:
	struct Call;
	struct Route;
	struct Input;

	void HandleApi(const httplib::Request &req, const std::string &body, httplib::Response &res);
	Reply Dispatch(const Call &call, const Route &route);
	std::optional<std::string> Authenticate(const httplib::Request &req) const;
	Input Validate(const Call &call, const Route &route, const std::optional<Json> &body) const;
	Reply RunHandler(const Route &route, const Input &input);

	void HandleControl(const httplib::Request &req, const std::string &body, httplib::Response &res,
					   const std::function<Reply(const std::string &)> &handler);
	void Send(const Call &call, const Reply &reply, httplib::Response &res) const;
	void SendTruncated(const Call &call, const Reply &reply, httplib::Response &res) const;
	void DropConnection(const httplib::Request &req, httplib::Response &res) const;

	const ProjectConfig &project_;
	const std::string secret_server_key_;
	FaultInjector &faults_;
	UsersCrud users_;
	Stats stats_;
	RequestIds request_ids_;
};

} // namespace emulator
