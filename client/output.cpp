/*
 * output.cpp: human lines, results, the JSON-lines log and progress bars.
 */
#include "output.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace cutover {

namespace {

std::string
Timestamp()
{
	auto now = std::chrono::system_clock::now();
	std::time_t seconds = std::chrono::system_clock::to_time_t(now);
	auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
	std::tm utc{};
	gmtime_r(&seconds, &utc);
	char text[64];
	std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900, utc.tm_mon + 1,
				  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long long>(micros));
	return text;
}

} // namespace

Output &
Out()
{
	static Output output;
	return output;
}

void
Output::Configure(bool quiet, bool json, const std::string &log_file, bool verbose)
{
	quiet_ = quiet;
	verbose_ = verbose && !quiet;
	json_ = json;
	terminal_ = !quiet && isatty(STDERR_FILENO) != 0;
	if (!log_file.empty()) {
		log_.open(log_file, std::ios::app);
		if (!log_)
			throw std::runtime_error("cannot write the log file " + log_file);
	}
}

void
Output::AddSecret(const std::string &secret)
{
	if (secret.size() < 4)
		return;
	secrets_.push_back(secret);
	/* as it reads inside JSON (a quote, a backslash or a control character escaped) */
	std::string escaped = nlohmann::json(secret).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
	escaped = escaped.substr(1, escaped.size() - 2);
	if (escaped != secret)
		secrets_.push_back(escaped);
}

std::string
Output::Redact(std::string text) const
{
	for (const auto &secret : secrets_)
		for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
			text.replace(at, secret.size(), "********");
	return text;
}

void
Output::Log(const std::string &level, const std::string &message, nlohmann::json fields)
{
	if (!log_.is_open())
		return;
	nlohmann::json line = {{"time", Timestamp()}, {"level", level}, {"message", message}};
	for (auto &[key, value] : fields.items())
		line[key] = value;
	log_ << Redact(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << '\n';
	log_.flush();
}

void
Output::Human(const std::string &prefix, const std::string &message)
{
	if (terminal_)
		std::cerr << "\r\033[K";
	std::cerr << Redact(prefix + message) << std::endl;
}

void
Output::Info(const std::string &message, nlohmann::json fields)
{
	Log("info", message, std::move(fields));
	if (!quiet_)
		Human("", message);
}

void
Output::Warn(const std::string &message, nlohmann::json fields)
{
	Log("warning", message, std::move(fields));
	if (!quiet_)
		Human("warning: ", message);
}

void
Output::Error(const std::string &message, nlohmann::json fields)
{
	Log("error", message, std::move(fields));
	Human("error: ", message); /* even with --quiet */
}

void
Output::Event(const std::string &event, nlohmann::json fields)
{
	Log("event", event, std::move(fields));
}

void
Output::CollectResultsUnder(const std::string &key)
{
	collect_key_ = key;
}

void
Output::EmitCollected(const nlohmann::json &fields)
{
	nlohmann::json document = fields;
	document["steps"] = collected_;
	collect_key_.clear();
	collected_ = nlohmann::json::object();
	if (json_)
		std::cout << Redact(document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << std::endl;
}

void
Output::Result(const nlohmann::json &json, const std::string &table)
{
	if (json_ && !collect_key_.empty()) {
		collected_[collect_key_] = json;
		return;
	}
	if (json_)
		std::cout << Redact(json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << std::endl;
	else if (!table.empty())
		std::cout << Redact(table) << std::flush;
}

std::string
Thousands(std::uint64_t value)
{
	std::string digits = std::to_string(value);
	std::string out;
	for (std::size_t i = 0; i < digits.size(); i++) {
		if (i > 0 && (digits.size() - i) % 3 == 0)
			out.push_back(',');
		out.push_back(digits[i]);
	}
	return out;
}

std::string
Duration(double seconds)
{
	long long total = std::llround(std::max(0.0, seconds));
	char text[32];
	if (total >= 3600)
		std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
	else
		std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
	return text;
}

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
	: label_(std::move(label)), unit_(std::move(unit)), total_(total), started_(std::chrono::steady_clock::now()),
	  drawn_(started_)
{
	Draw(false);
}

Progress::~Progress()
{
	if (!finished_)
		Finish();
}

void
Progress::Note(const std::string &note)
{
	if (note == note_)
		return;
	note_ = note;
	note_changed_ = true;
}

void
Progress::Set(std::uint64_t done)
{
	done_ = std::max(done_, done);
	auto now = std::chrono::steady_clock::now();
	if (Out().terminal() ? now - drawn_ >= std::chrono::milliseconds(100) : true)
		Draw(false);
}

void
Progress::Finish(const std::string &note)
{
	finished_ = true;
	Draw(true);
	if (!note.empty())
		Out().Info(label_ + ": " + note);
}

void
Progress::Draw(bool last)
{
	auto now = std::chrono::steady_clock::now();
	double seconds = std::chrono::duration<double>(now - started_).count();
	double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
	std::string counts =
		Thousands(done_) + (total_ > 0 ? "/" + Thousands(total_) : "") + (unit_.empty() ? "" : " " + unit_);
	std::string note = note_.empty() || last ? "" : " (" + note_ + ")";
	char rate_text[64];
	std::snprintf(rate_text, sizeof rate_text, "%.1f/s", rate);
	std::string eta;
	if (!last && total_ > done_ && rate > 0)
		eta = " ETA " + Duration(static_cast<double>(total_ - done_) / rate);
	else if (last)
		eta = " in " + Duration(seconds);

	if (Out().quiet())
		return;
	if (Out().terminal()) {
		drawn_ = now;
		constexpr int kWidth = 30;
		int filled = total_ > 0 ? static_cast<int>(kWidth * std::min<double>(1.0, double(done_) / double(total_))) : 0;
		std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
		std::cerr << "\r\033[K" << label_ << " " << bar << " " << counts << " " << rate_text << eta << note;
		if (last)
			std::cerr << std::endl;
		else
			std::cerr << std::flush;
		return;
	}
	/* plain lines: the start, each tenth, each change of the note, and the end */
	int step = total_ > 0 ? static_cast<int>(10 * std::min<double>(1.0, double(done_) / double(total_))) : 0;
	bool noted = note_changed_ && !note_.empty();
	note_changed_ = false;
	if (!last && !noted && done_ > 0 && (step <= plain_step_ || step >= 10))
		return; /* the last line is Finish's */
	if (!last && !noted && done_ == 0 && drawn_ != started_)
		return;
	plain_step_ = std::max(plain_step_, step);
	drawn_ = now;
	std::cerr << label_ << ": " << counts << " " << rate_text << eta << note << std::endl;
}

} // namespace cutover
