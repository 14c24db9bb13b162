/*
 * http.cpp: libcurl's multi interface behind HttpPool.
 */
#include "http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace cutover {

namespace {

/* curl_global_init once, before any thread could race for it. */
struct CurlGlobal {
	CurlGlobal()
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			throw std::runtime_error("could not initialise libcurl");
	}
	~CurlGlobal() { curl_global_cleanup(); }
};

void
EnsureCurl()
{
	static CurlGlobal global;
}

std::string
Lower(std::string text)
{
	std::transform(text.begin(), text.end(), text.begin(),
				   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
	return text;
}

/* Errors where nothing reached the server: a resend cannot create anything twice. */
bool
NothingSent(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return true;
	default:
		return false;
	}
}

} // namespace

struct HttpPool::Transfer {
	std::uint64_t tag = 0;
	HttpRequest request;
	HttpResponse response;
	CURL *easy = nullptr;
	curl_slist *headers = nullptr;
	char error[CURL_ERROR_SIZE] = {};

	~Transfer()
	{
		if (easy != nullptr)
			curl_easy_cleanup(easy);
		curl_slist_free_all(headers);
	}

	static size_t
	OnBody(char *data, size_t size, size_t count, void *self)
	{
		static_cast<Transfer *>(self)->response.body.append(data, size * count);
		return size * count;
	}

	static size_t
	OnHeader(char *data, size_t size, size_t count, void *self)
	{
		std::string line(data, size * count);
		auto colon = line.find(':');
		if (colon != std::string::npos) {
			std::string name = Lower(line.substr(0, colon));
			std::string value = line.substr(colon + 1);
			auto first = value.find_first_not_of(" \t");
			auto last = value.find_last_not_of(" \t\r\n");
			value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
			if (name == "retry-after")
				static_cast<Transfer *>(self)->response.retry_after = value;
		}
		return size * count;
	}

	void
	Setup()
	{
		easy = curl_easy_init();
		if (easy == nullptr)
			throw std::runtime_error("could not create a curl handle");
		for (const auto &header : request.headers)
			headers = curl_slist_append(headers, header.c_str());
		curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
		if (request.method != "GET") {
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
		}
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
		curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
		curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_cutover-cutover/" CUTOVER_VERSION);
		if (!request.idempotent) {
			curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
			curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
		}
		/* a redirect would send the secret key's header to wherever it points */
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	}

	void
	Finish(CURLcode code)
	{
		if (code == CURLE_OK) {
			long status = 0;
			curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
			char *type = nullptr;
			curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
			response.kind = retry::OutcomeKind::Response;
			response.status = static_cast<int>(status);
			response.content_type = type != nullptr ? type : "";
			return;
		}
		long sent = 0;
		curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
		response.kind = NothingSent(code) || sent == 0 ? retry::OutcomeKind::NetworkErrorBeforeSend
													   : retry::OutcomeKind::NetworkErrorAfterSend;
		response.network_error = error[0] != '\0' ? error : curl_easy_strerror(code);
		response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
		response.body.clear();
	}
};

HttpPool::HttpPool(int max_in_flight) : multi_(nullptr), max_in_flight_(std::max(1, max_in_flight))
{
	EnsureCurl();
	multi_ = curl_multi_init();
	if (multi_ == nullptr)
		throw std::runtime_error("could not create a curl multi handle");
	/* one connection per request in flight, kept alive between requests */
	curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(max_in_flight_));
	curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_in_flight_));
}

HttpPool::~HttpPool()
{
	for (auto &[easy, transfer] : running_)
		curl_multi_remove_handle(multi_, transfer->easy);
	running_.clear();
	curl_multi_cleanup(multi_);
}

void
HttpPool::Submit(std::uint64_t tag, HttpRequest request)
{
	queued_.emplace_back(tag, std::move(request));
	StartQueued();
}

void
HttpPool::StartQueued()
{
	while (!queued_.empty() && static_cast<int>(running_.size()) < max_in_flight_) {
		auto transfer = std::make_unique<Transfer>();
		transfer->tag = queued_.front().first;
		transfer->request = std::move(queued_.front().second);
		queued_.pop_front();
		transfer->Setup();
		if (curl_multi_add_handle(multi_, transfer->easy) != CURLM_OK)
			throw std::runtime_error("could not start an HTTP request");
		running_.emplace(transfer->easy, std::move(transfer));
	}
}

std::vector<std::pair<std::uint64_t, HttpResponse>>
HttpPool::Collect(std::chrono::milliseconds wait, std::chrono::milliseconds linger)
{
	std::vector<std::pair<std::uint64_t, HttpResponse>> done;
	auto deadline = std::chrono::steady_clock::now() + wait;
	bool lingering = false;
	for (;;) {
		int active = 0;
		curl_multi_perform(multi_, &active);
		int left = 0;
		while (CURLMsg *message = curl_multi_info_read(multi_, &left)) {
			if (message->msg != CURLMSG_DONE)
				continue;
			auto found = running_.find(message->easy_handle);
			if (found == running_.end())
				continue;
			CURLcode code = message->data.result;
			curl_multi_remove_handle(multi_, message->easy_handle);
			found->second->Finish(code);
			done.emplace_back(found->second->tag, std::move(found->second->response));
			running_.erase(found);
		}
		StartQueued();
		auto now = std::chrono::steady_clock::now();
		if (!done.empty() && !lingering && linger.count() > 0) {
			lingering = true;
			deadline = std::min(deadline, now + linger);
		}
		if ((!done.empty() && !lingering) || running_.empty() || now >= deadline)
			return done;
		int timeout = static_cast<int>(
			std::min<long long>(100, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()));
		curl_multi_poll(multi_, nullptr, 0, std::max(timeout, 1), nullptr);
	}
}

HttpResponse
HttpPool::Perform(HttpRequest request)
{
	/* only for a pool with nothing else to do: other answers would be dropped */
	if (Pending() != 0)
		throw std::logic_error("HttpPool::Perform on a pool with requests pending");
	constexpr std::uint64_t kTag = ~std::uint64_t(0);
	Submit(kTag, std::move(request));
	for (;;)
		for (auto &[tag, response] : Collect(std::chrono::milliseconds(1000)))
			if (tag == kTag)
				return std::move(response);
}

} // namespace cutover
