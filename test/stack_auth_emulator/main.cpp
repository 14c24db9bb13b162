// test/stack_auth_emulator/main.cpp: stack_auth_emulator, a loopback emulator of the Stack Auth users REST API
// for pg_cutover's tests. Flags configure the emulated project and the injected faults; the secret server key
// comes only from the environment (STACK_SECRET_SERVER_KEY) and is never printed. See README.md.
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "api.hpp"
#include "faults.hpp"
#include "store.hpp"

namespace {

using emulator::FaultKind;
using emulator::FaultName;
using emulator::FaultSettings;
using emulator::ProjectConfig;

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

// httplib::Server with access to its listening socket, which the base class keeps to itself.
class EmulatorServer : public httplib::Server
{
  public:
	// httplib listens with a backlog of 5; a client opening dozens of connections at once would see SYNs
	// dropped and retried a second later. listen() again on a listening socket only raises the backlog.
	void
	RaiseListenBacklog()
	{
		::listen(svr_sock_, SOMAXCONN);
	}
};

struct Options {
	int port = 0;
	std::string host = "127.0.0.1";
	std::string project_id = "5f1c6e0a-3b8d-4c2e-9a47-6d0b2e8f1c35";
	std::vector<std::string> oauth_providers{"google", "github", "microsoft"};
	bool no_password_sign_in = false;
	bool otp_sign_in = false;
	bool require_email_verification = false;
	std::string port_file;
	std::uint64_t seed = 1;
	int threads = 64;
	double fault_rate = 0;
	FaultSettings faults;
};

void
AddFlags(CLI::App &app, Options &options)
{
	auto probability = CLI::Range(0.0, 1.0);
	app.add_option("--port", options.port, "TCP port to listen on; 0 picks a free one")
		->capture_default_str()
		->check(CLI::Range(0, 65535));
	app.add_option("--host", options.host, "address to listen on")->capture_default_str();
	app.add_option("--port-file", options.port_file,
				   "write the port to FILE once listening (atomically, by rename), for tests that use --port 0");
	app.add_option("--project-id", options.project_id, "the only project id the API accepts")->capture_default_str();
	app.add_option("--oauth-providers", options.oauth_providers,
				   "comma-separated OAuth provider ids configured in the project")
		->delimiter(',')
		->capture_default_str();
	app.add_flag("--no-password-sign-in", options.no_password_sign_in,
				 "the project does not allow password sign-in: password and password_hash are refused");
	app.add_flag("--otp-sign-in", options.otp_sign_in, "the project allows OTP sign-in (otp_auth_enabled)");
	app.add_flag("--require-email-verification", options.require_email_verification,
				 "users without a verified primary e-mail are restricted");
	app.add_option("--threads", options.threads, "worker threads, i.e. connections served at once")
		->capture_default_str()
		->check(CLI::Range(1, 4096));

	auto faults = "Faults (probabilities per request to /api/v1/*)";
	app.add_option("--seed", options.seed, "seed of the fault random generator")->capture_default_str()->group(faults);
	app.add_option("--fault-rate", options.fault_rate,
				   "shorthand: spread P evenly over 429, 500, drop, lost-response, html and malformed-json (a "
				   "per-kind flag overrides its share)")
		->check(probability)
		->group(faults);
	std::pair<FaultKind, const char *> kinds[] = {
		{FaultKind::TooManyRequests, "answer 429 with Retry-After, doing nothing"},
		{FaultKind::ServerError, "answer 500 text/plain, doing nothing"},
		{FaultKind::Drop, "close the connection without a response, doing nothing"},
		{FaultKind::LostResponse, "POST /api/v1/users only: create the user, then cut the response short"},
		{FaultKind::HtmlPage, "answer 502 with a proxy's HTML page, doing nothing"},
		{FaultKind::MalformedJson, "carry the request out, then answer with a body that is not JSON"}};
	for (auto [kind, help] : kinds)
		app.add_option("--fault-" + FaultName(kind), options.faults.Probability(kind), help)
			->check(probability)
			->group(faults);
	app.add_option("--retry-after", options.faults.retry_after, "seconds in the Retry-After header of a 429")
		->capture_default_str()
		->check(CLI::Range(0, 3600))
		->group(faults);
	app.add_option("--retry-after-omit-rate", options.faults.retry_after_omit_rate,
				   "probability that a 429 has no Retry-After (Stack Auth's dev limiter omits it half the time)")
		->check(probability)
		->group(faults);
	app.add_option("--latency-ms", options.faults.latency_ms, "delay added to every API request")
		->check(CLI::Range(0, 3600000))
		->group(faults);
	app.add_option("--latency-jitter-ms", options.faults.latency_jitter_ms, "random extra delay, 0 to N ms")
		->check(CLI::Range(0, 3600000))
		->group(faults);
}

// --fault-rate sets each kind's share unless that kind has a flag of its own.
FaultSettings
FaultsFromFlags(const CLI::App &app, const Options &options)
{
	FaultSettings settings = options.faults;
	if (app.count("--fault-rate") > 0) {
		FaultSettings spread;
		spread.SpreadRate(options.fault_rate);
		for (FaultKind kind : emulator::kFaultKinds)
			if (app.count("--fault-" + FaultName(kind)) == 0)
				settings.Probability(kind) = spread.Probability(kind);
	}
	settings.Check();
	return settings;
}

bool
WritePortFile(const std::string &path, int port)
{
	std::string temporary = path + ".tmp." + std::to_string(getpid());
	{
		std::ofstream out(temporary, std::ios::trunc);
		out << port << "\n";
		if (!out.flush())
			return false;
	}
	return std::rename(temporary.c_str(), path.c_str()) == 0;
}

sigset_t
StopSignals()
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	return signals;
}

// Runs on its own thread: SIGINT and SIGTERM are blocked everywhere and taken here with sigtimedwait, so that
// stopping the server happens in ordinary code rather than in a signal handler.
void
StopOnSignal(EmulatorServer &server, const std::atomic<bool> &finished)
{
	sigset_t signals = StopSignals();
	const timespec tick{0, 100 * 1000 * 1000};
	bool stop_requested = false;
	while (!finished) {
		if (sigtimedwait(&signals, nullptr, &tick) > 0)
			stop_requested = true;
		// stop() only acts on a running server: keep asking until the accept loop has started and ended.
		if (stop_requested && server.is_running())
			server.stop();
	}
}

} // namespace

int
main(int argc, char **argv)
{
	// Before any thread exists, so that every thread inherits the mask and only StopOnSignal sees the signals.
	sigset_t signals = StopSignals();
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);

	CLI::App app{"stack_auth_emulator: a loopback emulator of the Stack Auth server-side users REST API "
				 "(/api/v1/users), with fault injection, for pg_cutover's tests.\n"
				 "The secret server key clients must send is read from the environment variable "
				 "STACK_SECRET_SERVER_KEY (required).\n"
				 "Control API (no auth): GET /__emulator/users, GET /__emulator/stats, GET|POST /__emulator/faults, "
				 "POST /__emulator/reset."};
	Options options;
	AddFlags(app, options);
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		return app.exit(error) == 0 ? 0 : kUsageError;
	}

	const char *secret = std::getenv("STACK_SECRET_SERVER_KEY");
	if (secret == nullptr || *secret == '\0') {
		std::cerr << "stack_auth_emulator: STACK_SECRET_SERVER_KEY is not set; it must hold the secret server key "
					 "that clients send in x-stack-secret-server-key\n";
		return kUsageError;
	}

	FaultSettings fault_settings;
	try {
		fault_settings = FaultsFromFlags(app, options);
	} catch (const std::invalid_argument &error) {
		std::cerr << "stack_auth_emulator: " << error.what() << "\n";
		return kUsageError;
	}

	ProjectConfig project;
	project.project_id = options.project_id;
	project.oauth_providers.insert(options.oauth_providers.begin(), options.oauth_providers.end());
	project.password_sign_in = !options.no_password_sign_in;
	project.otp_sign_in = options.otp_sign_in;
	project.require_email_verification = options.require_email_verification;

	emulator::FaultInjector faults(fault_settings, options.seed);
	emulator::Api api(project, secret, faults);

	EmulatorServer server;
	int threads = options.threads;
	server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
	server.set_keep_alive_max_count(1000);
	// httplib sends the headers and the body in two writes; with Nagle on, the body waits for the client's
	// delayed ACK of the headers, some 40 ms per request.
	server.set_tcp_nodelay(true);
	server.set_payload_max_length(8 * 1024 * 1024);
	// Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let two emulators share a port.
	server.set_socket_options([](socket_t sock) {
		int yes = 1;
		setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
	});
	api.Register(server);

	int port = options.port == 0 ? server.bind_to_any_port(options.host)
								 : (server.bind_to_port(options.host, options.port) ? options.port : -1);
	if (port <= 0) {
		std::cerr << "stack_auth_emulator: cannot listen on " << options.host << ":" << options.port << "\n";
		return kRuntimeError;
	}
	server.RaiseListenBacklog();

	std::string host = options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
	std::cout << "stack_auth_emulator listening on http://" << host << ":" << port << std::endl;
	if (!options.port_file.empty() && !WritePortFile(options.port_file, port)) {
		std::cerr << "stack_auth_emulator: cannot write the port file " << options.port_file << "\n";
		return kRuntimeError;
	}

	std::atomic<bool> finished{false};
	std::thread signal_thread(StopOnSignal, std::ref(server), std::cref(finished));
	bool listened = server.listen_after_bind();
	finished = true;
	signal_thread.join();
	std::cerr << "stack_auth_emulator: stopped\n";
	return listened ? 0 : kRuntimeError;
}
