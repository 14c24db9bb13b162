/*
 * stack_auth.cpp: Stack Auth settings and requests.
 */
#include "stack_auth.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "http.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "stack_json.hpp"

namespace cutover {

namespace {

std::string
Environment(const char *name)
{
	const char *value = std::getenv(name);
	return value != nullptr ? value : "";
}

std::vector<std::string>
Headers(const StackAuthSettings &settings, bool json_body)
{
	std::vector<std::string> headers = {"x-stack-access-type: server", "x-stack-project-id: " + settings.project_id,
										"x-stack-secret-server-key: " + settings.secret_key,
										"accept: application/json"};
	if (json_body)
		headers.push_back("content-type: application/json");
	return headers;
}

/*
 * Whether `url` is plain http to this machine: its host exactly 127.0.0.1, localhost or [::1], with a port at
 * most, and no user part ("http://127.0.0.1@db.example.com" goes to db.example.com, and so would
 * "http://localhost.example.com"). Anything else must be https.
 */
bool
IsLoopbackHttp(const std::string &url)
{
	const std::string scheme = "http://";
	if (url.compare(0, scheme.size(), scheme) != 0)
		return false;
	std::size_t end = url.find_first_of("/?#", scheme.size());
	std::string authority =
		url.substr(scheme.size(), end == std::string::npos ? std::string::npos : end - scheme.size());
	std::size_t host_end = authority.rfind(':');
	if (host_end == std::string::npos || (authority[0] == '[' && host_end < authority.find(']')))
		host_end = authority.size();
	std::string host = authority.substr(0, host_end);
	std::string port = authority.substr(host_end);
	bool port_ok = port.empty() || (port.size() > 1 && port.find_first_not_of("0123456789", 1) == std::string::npos);
	return port_ok && (host == "127.0.0.1" || host == "localhost" || host == "[::1]");
}

} // namespace

StackAuthSettings
StackAuthSettings::FromEnvironment()
{
	StackAuthSettings settings;
	std::string url = Environment("STACK_API_URL");
	if (!url.empty())
		settings.api_url = url;
	while (!settings.api_url.empty() && settings.api_url.back() == '/')
		settings.api_url.pop_back();
	settings.project_id = Environment("STACK_PROJECT_ID");
	settings.secret_key = Environment("STACK_SECRET_SERVER_KEY");
	std::string missing;
	if (settings.project_id.empty())
		missing += " STACK_PROJECT_ID";
	if (settings.secret_key.empty())
		missing += " STACK_SECRET_SERVER_KEY";
	if (!missing.empty())
		throw std::invalid_argument("Stack Auth is not configured: set" + missing +
									" in the environment (the server key is never taken from the command line)");
	/* the server key travels in a header: in clear text only to this machine */
	if (settings.api_url.rfind("https://", 0) != 0 && !IsLoopbackHttp(settings.api_url))
		throw std::invalid_argument("STACK_API_URL must start with https:// (http:// only for 127.0.0.1 or "
									"localhost): the server key must not cross a network in clear text");
	Out().AddSecret(settings.secret_key);
	return settings;
}

HttpRequest
CreateUserRequest(const StackAuthSettings &settings, const nlohmann::json &body)
{
	HttpRequest request;
	request.method = "POST";
	request.idempotent = false;
	request.url = settings.api_url + "/api/v1/users";
	request.headers = Headers(settings, true);
	request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
	return request;
}

HttpRequest
UpdateUserRequest(const StackAuthSettings &settings, const std::string &user_id, const nlohmann::json &body)
{
	HttpRequest request = CreateUserRequest(settings, body);
	request.method = "PATCH";
	request.idempotent = true;
	request.url += "/" + user_id; /* a canonical UUID read from the ID map: nothing to escape */
	return request;
}

HttpRequest
DeleteUserRequest(const StackAuthSettings &settings, const std::string &user_id)
{
	HttpRequest request;
	request.method = "DELETE";
	request.url = settings.api_url + "/api/v1/users/" + user_id;
	request.headers = Headers(settings, false);
	return request;
}

HttpRequest
ListUsersRequest(const StackAuthSettings &settings, const std::optional<std::string> &cursor, int limit)
{
	HttpRequest request;
	request.url = settings.api_url + "/api/v1/users?include_anonymous=true&limit=" + std::to_string(limit);
	if (cursor)
		request.url += "&cursor=" + *cursor; /* a canonical UUID: nothing to escape */
	request.headers = Headers(settings, false);
	return request;
}

void
CheckStackAuth(const StackAuthSettings &settings)
{
	HttpPool pool(1);
	std::string problem;
	for (int attempt = 1; attempt <= 3; attempt++) {
		if (attempt > 1)
			SleepUnlessInterrupted(std::chrono::milliseconds(250 * (attempt - 1)));
		if (Interrupted())
			throw InterruptedError("Stack Auth's settings were being checked; nothing was sent");
		HttpRequest request = ListUsersRequest(settings, std::nullopt, 1);
		request.timeout = std::chrono::milliseconds(3000);
		HttpResponse response = pool.Perform(request);
		if (response.kind == retry::OutcomeKind::Response) {
			int status = response.status;
			/* refused: the key, the project or the URL is wrong, and every request would be refused alike */
			if (status >= 400 && status < 500 && status != 408 && status != 429)
				throw std::invalid_argument(
					"Stack Auth at " + settings.api_url +
					" refused the settings: " + Describe(ParseError(status, response.content_type, response.body)) +
					". Check STACK_PROJECT_ID, STACK_SECRET_SERVER_KEY (a server key of that project) and "
					"STACK_API_URL; nothing was sent");
			/* an answer (a success, or a passing error the requests will retry): Stack Auth is there */
			return;
		}
		/* the connection was made, then lost: Stack Auth is there, the requests retry such losses */
		if (response.kind == retry::OutcomeKind::NetworkErrorAfterSend && !response.timed_out)
			return;
		problem = response.network_error;
	}
	throw StackAuthUnreachable("Stack Auth at " + settings.api_url + " could not be reached: " + problem +
							   " (3 tries); check STACK_API_URL and the network. Nothing was sent");
}

} // namespace cutover
