// test/stack_auth_emulator/api.cpp: routes, the request pipeline of the real server (apps/backend/src/
// route-handlers/smart-request.tsx and smart-route-handler.tsx), fault injection and the control API.
#include "api.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "schema.hpp"

namespace emulator {

namespace {

constexpr const char *kUsersPath = "/api/v1/users";

bool
StartsWith(const std::string &text, const std::string &prefix)
{
	return text.compare(0, prefix.size(), prefix) == 0;
}

// The path as the client sent it (percent-encoded), which is what Stack Auth puts in its messages.
std::string
RawPath(const httplib::Request &req)
{
	return req.target.substr(0, req.target.find('?'));
}

// application/x-www-form-urlencoded decoding, as URLSearchParams does it.
std::string
FormDecode(const std::string &text)
{
	std::string out;
	for (std::size_t i = 0; i < text.size(); ++i) {
		if (text[i] == '+') {
			out += ' ';
		} else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
				   std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
			out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
			i += 2;
		} else {
			out += text[i];
		}
	}
	return out;
}

// Object.fromEntries(new URLSearchParams(text)): keys in first-seen order, the last value wins.
Json
FormToObject(const std::string &text)
{
	Json object = Json::object();
	std::size_t start = 0;
	while (start <= text.size()) {
		std::size_t end = text.find('&', start);
		if (end == std::string::npos)
			end = text.size();
		std::string pair = text.substr(start, end - start);
		if (!pair.empty()) {
			std::size_t equals = pair.find('=');
			std::string name = FormDecode(pair.substr(0, equals));
			object[name] = equals == std::string::npos ? "" : FormDecode(pair.substr(equals + 1));
		}
		start = end + 1;
	}
	return object;
}

Json
QueryObject(const httplib::Request &req)
{
	std::size_t question = req.target.find('?');
	return question == std::string::npos ? Json::object() : FormToObject(req.target.substr(question + 1));
}

// The schema validation and the JSON printing recurse once per nesting level: refuse absurd depths rather than
// run out of stack. (JSON.parse has a depth limit too, and the real server answers BODY_PARSING_ERROR past it.)
bool
NestsTooDeeply(const std::string &text)
{
	int depth = 0;
	bool in_string = false;
	for (std::size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				++i;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > 512)
				return true;
		} else if (c == ']' || c == '}') {
			--depth;
		}
	}
	return false;
}

// parseBody in smart-request.tsx: GET has no body; otherwise the content type (up to any ';') decides.
// std::nullopt is JavaScript's undefined.
std::optional<Json>
ParseBody(const httplib::Request &req, const std::string &text)
{
	if (req.method == "GET" || req.method == "HEAD" || !req.has_header("Content-Type"))
		return std::nullopt;
	std::string content_type = req.get_header_value("Content-Type");
	content_type = content_type.substr(0, content_type.find(';'));
	if (content_type.empty())
		return std::nullopt;
	if (content_type == "application/json") {
		Json body = NestsTooDeeply(text) ? Json(Json::value_t::discarded) : Json::parse(text, nullptr, false);
		if (body.is_discarded())
			throw known_errors::BodyParsingError("Invalid JSON in request body");
		return NormalizeJsNumbers(std::move(body));
	}
	if (content_type == "text/plain")
		return Json(text);
	if (content_type == "application/x-www-form-urlencoded")
		return FormToObject(text);
	if (content_type == "application/octet-stream")
		return Json::binary({}); // an ArrayBuffer: never an object, printed as {}
	throw known_errors::BodyParsingError("Unknown content type in request body: " + content_type);
}

// Reads the request body through httplib's content reader. A request with neither Content-Length nor chunked
// encoding has no body (httplib itself would read until the client closes). Returns false when reading failed;
// httplib has then set the response status (400, or 413 over the payload limit).
bool
ReadBody(const httplib::Request &req, const httplib::ContentReader &reader, std::string &body)
{
	bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
	if (!req.has_header("Content-Length") && !chunked)
		return true;
	if (req.is_multipart_form_data()) // answered BODY_PARSING_ERROR anyway: read it, keep nothing
		return reader([](const httplib::MultipartFormData &) { return true; },
					  [](const char *, std::size_t) { return true; });
	return reader([&body](const char *data, std::size_t length) {
		body.append(data, length);
		return true;
	});
}

// Compares without an early exit, so that the time taken does not tell how much of a guessed key was right.
bool
ConstantTimeEquals(const std::string &given, const std::string &expected)
{
	unsigned char diff = given.size() == expected.size() ? 0 : 1;
	for (std::size_t i = 0; i < given.size(); ++i)
		diff |= static_cast<unsigned char>(given[i] ^ (i < expected.size() ? expected[i] : 0));
	return diff == 0;
}

// "  - <message>" lines under one heading; a multi-line message keeps its lines indented (deindent in strings.tsx).
std::string
SchemaErrorMessage(const httplib::Request &req, const schema::Errors &errors)
{
	std::string list;
	for (const auto &error : errors)
		list += (list.empty() ? "- " : "\n- ") + error.message;
	std::string indented;
	for (char c : list)
		indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
	return "Request validation failed on " + req.method + " " + RawPath(req) + ":\n  " + indented;
}

Reply
NotFoundReply(const httplib::Request &req)
{
	return Reply::Text(404, "404 \u2014 this page does not exist in Stack Auth's API.\n\nPlease see the API "
							"documentation at https://docs.stack-auth.com, or visit the Stack Auth dashboard at "
							"https://app.stack-auth.com.\n\nURL: http://" +
								req.get_header_value("Host") + req.target);
}

// Whether the descriptor's local (or peer) address is addr:port, compared as httplib formats addresses.
bool
SocketEndpointIs(int fd, bool peer, const std::string &addr, int port)
{
	sockaddr_storage storage{};
	socklen_t length = sizeof storage;
	auto *address = reinterpret_cast<sockaddr *>(&storage);
	if ((peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length)) != 0)
		return false;
	char host[NI_MAXHOST], service[NI_MAXSERV];
	if (getnameinfo(address, length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return false;
	return addr == host && port == std::atoi(service);
}

// cpp-httplib 0.11 hands a handler no socket. The connection is found instead among this process's descriptors
// by its two endpoints (which httplib put in the request; together they name one live TCP connection) and shut
// down in the given direction(s).
bool
ShutdownConnection(const httplib::Request &req, int how)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == nullptr)
		return false;
	bool found = false;
	while (dirent *entry = readdir(dir)) {
		char *end = nullptr;
		long fd = std::strtol(entry->d_name, &end, 10);
		if (*end != '\0' || end == entry->d_name || fd == dirfd(dir))
			continue;
		int socket_fd = static_cast<int>(fd);
		if (SocketEndpointIs(socket_fd, false, req.local_addr, req.local_port) &&
			SocketEndpointIs(socket_fd, true, req.remote_addr, req.remote_port)) {
			found = shutdown(socket_fd, how) == 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

// httplib reads no body for GET, HEAD and OPTIONS; one sent anyway would be parsed as the next request.
bool
HasUnreadBody(const httplib::Request &req)
{
	if (req.method == "POST" || req.method == "PATCH" || req.method == "DELETE" || req.method == "PUT")
		return false;
	bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
	return chunked || (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

void
LogLine(const std::string &line)
{
	// One call per line: stdio locks the stream, so lines from concurrent requests do not interleave.
	std::fprintf(stderr, "%s\n", line.c_str());
}

// The decoded path with control characters replaced, so that a crafted path cannot forge log lines.
std::string
PrintablePath(const std::string &path)
{
	std::string out = path;
	for (char &c : out)
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
			c = '?';
	return out;
}

// What a reverse proxy in front of the API answers when the API behind it does not: a whole HTML page.
std::string
ProxyErrorPage()
{
	return "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
		   "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
}

// A JSON body cut in the middle and ended with a stray byte, so that no JSON parser reads it; the content type
// still says JSON. An empty body becomes a lone "{".
std::string
MalformedJson(const std::string &body)
{
	return body.substr(0, body.size() / 2) + "{";
}

// Method, path (never the query string, never a header), status and the fault injected, if any.
void
LogRequest(const httplib::Request &req, int status, FaultKind fault, std::chrono::steady_clock::duration elapsed)
{
	using namespace std::chrono;
	std::string line = "stack_auth_emulator: " + req.method + " " + PrintablePath(req.path) + " -> " +
					   (status > 0 ? std::to_string(status) : std::string("no response")) + " (" +
					   std::to_string(duration_cast<milliseconds>(elapsed).count()) + " ms)";
	if (fault != FaultKind::None)
		line += " fault=" + FaultName(fault);
	LogLine(line);
}

} // namespace

// ------------------------------------------------------------------------------------------------ Stats

void
Stats::Record(int status, FaultKind fault, Change change)
{
	std::lock_guard<std::mutex> lock(mutex_);
	++requests_;
	++by_status_[status];
	if (fault != FaultKind::None)
		++faults_[fault];
	if (change != Change::None)
		++changes_[change];
	if (change != Change::None && (fault == FaultKind::LostResponse || fault == FaultKind::MalformedJson))
		++unanswered_[change];
}

Json
Stats::ToJson(std::size_t user_count) const
{
	std::lock_guard<std::mutex> lock(mutex_);
	Json by_status = Json::object();
	for (const auto &[status, count] : by_status_)
		by_status[status > 0 ? std::to_string(status) : "no_response"] = count;
	Json faults = Json::object();
	for (FaultKind kind : kFaultKinds) {
		auto it = faults_.find(kind);
		faults[FaultName(kind)] = it == faults_.end() ? 0 : it->second;
	}
	auto count = [](const std::map<Change, std::uint64_t> &counts, Change change) {
		auto it = counts.find(change);
		return it == counts.end() ? std::uint64_t{0} : it->second;
	};
	return Json{{"requests", requests_},
				{"requests_by_status", by_status},
				{"creates", count(changes_, Change::Create)},
				{"unanswered_creates", count(unanswered_, Change::Create)},
				{"updates", count(changes_, Change::Update)},
				{"unanswered_updates", count(unanswered_, Change::Update)},
				{"deletes", count(changes_, Change::Delete)},
				{"unanswered_deletes", count(unanswered_, Change::Delete)},
				{"users", user_count},
				{"faults", faults}};
}

void
Stats::Reset()
{
	std::lock_guard<std::mutex> lock(mutex_);
	requests_ = 0;
	changes_.clear();
	unanswered_.clear();
	by_status_.clear();
	faults_.clear();
}

// ------------------------------------------------------------------------------------------------ RequestIds

RequestIds::RequestIds() : salt_((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}

std::string
RequestIds::Next()
{
	// splitmix64's finalizer is a bijection, so distinct counter values give distinct ids.
	std::uint64_t z = counter_.fetch_add(1) + salt_;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	char text[17];
	std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(z));
	return text;
}

// ------------------------------------------------------------------------------------------------ Api

struct Api::Call {
	const httplib::Request &req;
	const std::string &body; // the raw request body
	std::string request_id;
};

struct Api::Route {
	enum class Kind {
		List,
		Create,
		Read,
		Update,
		Delete,
		Me,				  // /users/me: needs a signed-in user, which the emulator never has
		MethodNotAllowed, // a users path with a method its route does not export (Next.js answers 405)
		TrailingSlash,	  // Next.js redirects /path/ to /path with a 308
		ApiNotFound,	  // the catch-all /api/[...notFoundPath] route: parses and authenticates, then 404
		NotFound,		  // outside /api/
	};
	Kind kind;
	std::string user_id;
	std::string allow; // for MethodNotAllowed

	static Route
	Classify(const std::string &method, const std::string &path)
	{
		bool read = method == "GET" || method == "HEAD";
		if (StartsWith(path, "/api/") && path.size() > 5 && path.back() == '/')
			return {Kind::TrailingSlash, "", ""};
		if (path == kUsersPath) {
			if (read || method == "POST")
				return {read ? Kind::List : Kind::Create, "", ""};
			return {Kind::MethodNotAllowed, "", "GET, HEAD, POST"};
		}
		std::string users_prefix = std::string(kUsersPath) + "/";
		if (StartsWith(path, users_prefix) && path.find('/', users_prefix.size()) == std::string::npos) {
			std::string id = path.substr(users_prefix.size());
			if (!read && method != "PATCH" && method != "DELETE")
				return {Kind::MethodNotAllowed, "", "GET, HEAD, PATCH, DELETE"};
			if (id == "me")
				return {Kind::Me, "", ""};
			return {read ? Kind::Read : method == "PATCH" ? Kind::Update : Kind::Delete, id, ""};
		}
		if (path == "/api" || StartsWith(path, "/api/"))
			return {Kind::ApiNotFound, "", ""};
		return {Kind::NotFound, "", ""};
	}

	bool
	HasUserId() const
	{
		return kind == Kind::Read || kind == Kind::Update || kind == Kind::Delete;
	}
};

// A request's validated, cast parts.
struct Api::Input {
	Json body;
	Json query;
	std::string user_id;
};

Api::Api(const ProjectConfig &project, std::string secret_server_key, FaultInjector &faults)
	: project_(project), secret_server_key_(std::move(secret_server_key)), faults_(faults), users_(project)
{
}

void
Api::Register(httplib::Server &server)
{
	// POST, PATCH and DELETE read their bodies through a content reader (see ReadBody); httplib tries those
	// handlers first, so the control API's POST routes are content-reader handlers too, added before the
	// catch-all ones.
	auto control_get = [this, &server](const char *path, std::function<Reply(const std::string &)> handler) {
		server.Get(path, [this, handler](const httplib::Request &req, httplib::Response &res) {
			HandleControl(req, req.body, res, handler);
		});
	};
	auto control_post = [this, &server](const char *path, std::function<Reply(const std::string &)> handler) {
		server.Post(path, [this, handler](const httplib::Request &req, httplib::Response &res,
										  const httplib::ContentReader &reader) {
			std::string body;
			if (ReadBody(req, reader, body))
				HandleControl(req, body, res, handler);
		});
	};
	control_get("/__emulator/users",
				[this](const std::string &) { return Reply::JsonBody(200, users_.InternalDump(), 2); });
	control_get("/__emulator/stats",
				[this](const std::string &) { return Reply::JsonBody(200, stats_.ToJson(users_.Count()), 2); });
	control_get("/__emulator/faults",
				[this](const std::string &) { return Reply::JsonBody(200, faults_.Settings().ToJson(), 2); });
	control_post("/__emulator/faults", [this](const std::string &body) {
		try {
			faults_.Apply(Json::parse(body, nullptr, false));
		} catch (const std::invalid_argument &e) {
			return Reply::Text(400, e.what());
		}
		return Reply::JsonBody(200, faults_.Settings().ToJson(), 2);
	});
	control_post("/__emulator/reset", [this](const std::string &) {
		users_.Reset();
		stats_.Reset();
		return Reply::JsonBody(200, Json{{"success", true}});
	});

	auto api = [this](const httplib::Request &req, httplib::Response &res) { HandleApi(req, req.body, res); };
	auto api_with_body = [this](const httplib::Request &req, httplib::Response &res,
								const httplib::ContentReader &reader) {
		std::string body;
		if (ReadBody(req, reader, body))
			HandleApi(req, body, res);
	};
	server.Get(".*", api);
	server.Put(".*", api);
	server.Options(".*", api);
	server.Post(".*", api_with_body);
	server.Patch(".*", api_with_body);
	server.Delete(".*", api_with_body);

	// Responses httplib writes by itself (a malformed request line, a body over the size limit) get the headers
	// every Stack Auth response has as well.
	server.set_post_routing_handler([this](const httplib::Request &, httplib::Response &res) {
		if (!res.has_header("x-stack-request-id"))
			res.set_header("x-stack-request-id", request_ids_.Next());
		if (!res.has_header("cache-control"))
			res.set_header("cache-control", "no-store, max-age=0");
	});
	server.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
		res.status = 500;
		res.set_content("Internal Server Error", "text/plain; charset=utf-8");
	});
}

void
Api::HandleControl(const httplib::Request &req, const std::string &body, httplib::Response &res,
				   const std::function<Reply(const std::string &)> &handler)
{
	auto started = std::chrono::steady_clock::now();
	Call call{req, body, request_ids_.Next()};
	Reply reply = handler(body);
	Send(call, reply, res);
	LogRequest(req, reply.status, FaultKind::None, std::chrono::steady_clock::now() - started);
}

void
Api::HandleApi(const httplib::Request &req, const std::string &body, httplib::Response &res)
{
	auto started = std::chrono::steady_clock::now();
	Call call{req, body, request_ids_.Next()};
	Route route = Route::Classify(req.method, req.path);

	// Faults stand where the network and the rate limiter (proxy.tsx) do: before anything is parsed.
	FaultDecision fault;
	if (StartsWith(req.path, "/api/v1/") || req.path == "/api/v1")
		fault = faults_.Decide(route.kind == Route::Kind::Create || route.kind == Route::Kind::Update ||
							   route.kind == Route::Kind::Delete);
	if (fault.delay.count() > 0)
		std::this_thread::sleep_for(fault.delay);

	Reply reply;
	switch (fault.kind) {
	case FaultKind::TooManyRequests:
		reply = Reply::JsonBody(
			429, Json{{"message", "Artificial development rate limit triggered. Wait before retrying."}});
		if (fault.retry_after >= 0)
			reply.headers.emplace_back("Retry-After", std::to_string(fault.retry_after));
		break;
	case FaultKind::ServerError:
		reply = known_errors::InternalServerError(call.request_id).reply();
		break;
	case FaultKind::Drop:
		DropConnection(req, res);
		stats_.Record(0, fault.kind, Stats::Change::None);
		LogRequest(req, 0, fault.kind, std::chrono::steady_clock::now() - started);
		return;
	case FaultKind::HtmlPage:
		reply = {502, "text/html", ProxyErrorPage(), {}};
		break;
	case FaultKind::None:
	case FaultKind::LostResponse:
	case FaultKind::MalformedJson:
		reply = Dispatch(call, route);
		break;
	}
	if (fault.kind == FaultKind::MalformedJson)
		reply.body = MalformedJson(reply.body);

	// Tell the client not to reuse the connection: the unread body must not be taken for its next request.
	if (HasUnreadBody(req))
		reply.headers.emplace_back("Connection", "close");

	Stats::Change change = Stats::Change::None;
	if (route.kind == Route::Kind::Create && reply.status == 201)
		change = Stats::Change::Create;
	else if (route.kind == Route::Kind::Update && reply.status == 200)
		change = Stats::Change::Update;
	else if (route.kind == Route::Kind::Delete && reply.status == 200)
		change = Stats::Change::Delete;
	if (fault.kind == FaultKind::LostResponse)
		SendTruncated(call, reply, res);
	else
		Send(call, reply, res);
	stats_.Record(fault.kind == FaultKind::LostResponse ? 0 : reply.status, fault.kind, change);
	LogRequest(req, fault.kind == FaultKind::LostResponse ? 0 : reply.status, fault.kind,
			   std::chrono::steady_clock::now() - started);
}

Reply
Api::Dispatch(const Call &call, const Route &route)
{
	using Kind = Route::Kind;
	const httplib::Request &req = call.req;
	try {
		switch (route.kind) {
		case Kind::NotFound:
			return NotFoundReply(req);
		case Kind::TrailingSlash: {
			Reply reply{308, "", "", {}};
			std::string path = RawPath(req);
			reply.headers.emplace_back("Location", path.substr(0, path.size() - 1) + req.target.substr(path.size()));
			return reply;
		}
		case Kind::MethodNotAllowed: {
			Reply reply{405, "", "", {}};
			reply.headers.emplace_back("Allow", route.allow);
			return reply;
		}
		default:
			break;
		}

		// Order of the real pipeline: body, then project authentication, then the schema, then the handler.
		std::optional<Json> body = ParseBody(req, call.body);
		std::optional<std::string> access_type = Authenticate(req);
		if (route.kind == Kind::ApiNotFound)
			return NotFoundReply(req);
		if (!access_type)
			throw known_errors::AccessTypeRequired();
		if (route.kind == Kind::Me)
			throw known_errors::CannotGetOwnUserWithoutUser();
		if (*access_type == "client")
			throw known_errors::InsufficientAccessType(*access_type);
		return RunHandler(route, Validate(call, route, body));
	} catch (const ApiError &error) {
		return error.reply();
	} catch (const std::exception &error) {
		LogLine("stack_auth_emulator: internal error on " + req.method + " " + PrintablePath(req.path) + ": " +
				error.what());
		return known_errors::InternalServerError(call.request_id).reply();
	}
}

// parseAuth in smart-request.tsx. Returns the access type, or nothing when the request has none (which only the
// routes that need a project then refuse).
std::optional<std::string>
Api::Authenticate(const httplib::Request &req) const
{
	auto header = [&req](const char *name) { return req.get_header_value(name); };
	std::string access_type = header("x-stack-access-type");
	std::string project_id = header("x-stack-project-id");
	std::string branch_id = req.has_header("x-stack-branch-id") ? header("x-stack-branch-id") : "main";
	std::string publishable_key = header("x-stack-publishable-client-key");
	std::string secret_key = header("x-stack-secret-server-key");
	std::string admin_key = header("x-stack-super-secret-admin-key");
	std::string admin_token = header("x-stack-admin-access-token");

	bool any_key = !publishable_key.empty() || !secret_key.empty() || !admin_key.empty() || !admin_token.empty();
	if (access_type.empty() && any_key)
		throw known_errors::ProjectKeyWithoutAccessType();
	if (access_type.empty())
		return std::nullopt;
	if (access_type != "client" && access_type != "server" && access_type != "admin")
		throw known_errors::InvalidAccessType(access_type);
	if (project_id.empty())
		throw known_errors::AccessTypeWithoutProjectId(access_type);
	if (project_id != project_.project_id)
		throw known_errors::CurrentProjectNotFound(project_id);

	if (access_type == "client") {
		// Any publishable key is taken as valid: the emulator has none of its own.
		if (publishable_key.empty())
			throw known_errors::PublishableClientKeyRequiredForProject(project_id);
	} else if (access_type == "server") {
		if (secret_key.empty())
			throw known_errors::ServerAuthenticationRequired();
		if (!ConstantTimeEquals(secret_key, secret_server_key_))
			throw known_errors::InvalidSecretServerKey(project_id);
	} else {
		// The emulator has no admin key, so every admin key is wrong.
		if (admin_key.empty())
			throw known_errors::AdminAuthenticationRequired();
		throw known_errors::InvalidSuperSecretAdminKey(project_id);
	}

	// Checked last, as the real server does, so that branches cannot be probed without a valid key.
	if (branch_id != "main")
		throw known_errors::BranchDoesNotExist(branch_id);
	return access_type;
}

Api::Input
Api::Validate(const Call &call, const Route &route, const std::optional<Json> &body) const
{
	using Kind = Route::Kind;
	static const schema::Node delete_body = schema::Node::Mixed(); // usersCrudServerDeleteSchema: yupMixed()

	Input input;
	schema::Errors query_errors, params_errors, body_errors;

	Json query = QueryObject(call.req);
	input.query = schema::UsersQuery().Validate(&query, "query", query_errors).value_or(Json::object());
	if (route.HasUserId()) {
		Json params{{"user_id", route.user_id}};
		schema::UserIdParams().Validate(&params, "params", params_errors);
		input.user_id = route.user_id;
	}
	const schema::Node *body_schema = route.kind == Kind::Create   ? &schema::UserCreateBody()
									  : route.kind == Kind::Update ? &schema::UserUpdateBody()
									  : route.kind == Kind::Delete ? &delete_body
																   : nullptr;
	if (body_schema)
		input.body = body_schema->Validate(body ? &*body : nullptr, "body", body_errors).value_or(Json());

	// The request object's fields, validated in yup's reverse order and then sorted by its key order.
	schema::Errors errors = query_errors;
	errors.insert(errors.end(), params_errors.begin(), params_errors.end());
	errors.insert(errors.end(), body_errors.begin(), body_errors.end());
	schema::SortByKeyOrder(errors, {"auth", "url", "method", "body", "params", "query"});
	if (!errors.empty())
		throw known_errors::SchemaError(SchemaErrorMessage(call.req, errors));
	return input;
}

Reply
Api::RunHandler(const Route &route, const Input &input)
{
	using Kind = Route::Kind;
	switch (route.kind) {
	case Kind::List:
		return Reply::JsonBody(200, users_.List(input.query));
	case Kind::Create:
		return Reply::JsonBody(201, users_.Create(input.body));
	case Kind::Read:
		return Reply::JsonBody(200, users_.Read(input.user_id));
	case Kind::Update:
		return Reply::JsonBody(200, users_.Update(input.user_id, input.body));
	case Kind::Delete:
		users_.Delete(input.user_id);
		return Reply::JsonBody(200, Json{{"success", true}});
	default:
		break;
	}
	throw std::logic_error("route without a handler");
}

void
Api::Send(const Call &call, const Reply &reply, httplib::Response &res) const
{
	// x-stack-override-error-status: browsers' fetch cannot read some 4xx bodies, so Stack Auth can answer 200.
	int status = reply.status;
	if (call.req.has_header("x-stack-override-error-status") && status >= 400 && status < 500) {
		res.set_header("x-stack-actual-status", std::to_string(status));
		status = 200;
	}
	res.status = status;
	for (const auto &[name, value] : reply.headers)
		res.set_header(name, value);
	res.set_header("x-stack-request-id", call.request_id);
	res.set_header("cache-control", "no-store, max-age=0");
	if (!reply.content_type.empty())
		res.set_content(reply.body, reply.content_type);
}

void
Api::SendTruncated(const Call &call, const Reply &reply, httplib::Response &res) const
{
	if (reply.body.empty()) {
		DropConnection(call.req, res);
		return;
	}
	Reply headers_only = reply;
	headers_only.content_type.clear();
	Send(call, headers_only, res);
	// Announce the whole body, send half of it, then fail: httplib closes the connection short of
	// Content-Length and the client gets a transfer error although the status line said 201.
	auto body = std::make_shared<std::string>(reply.body);
	res.set_content_provider(body->size(), reply.content_type,
							 [body](std::size_t offset, std::size_t, httplib::DataSink &sink) {
								 if (offset == 0)
									 sink.write(body->data(), body->size() / 2);
								 return false;
							 });
}

void
Api::DropConnection(const httplib::Request &req, httplib::Response &res) const
{
	// The client sees the connection close before any byte of a response; httplib's own attempt to answer then
	// fails quietly (it sends with SIGPIPE ignored).
	res.status = 500;
	if (ShutdownConnection(req, SHUT_RDWR))
		return;
	// Fallback when the socket cannot be found: a response whose body provider fails at once, so the client
	// gets a status line and then a connection closed short of Content-Length.
	LogLine("stack_auth_emulator: socket of the connection to drop not found; truncating the response instead");
	res.set_content_provider(1, "text/plain", [](std::size_t, std::size_t, httplib::DataSink &) { return false; });
}

} // namespace emulator
