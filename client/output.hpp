/*
 * output.hpp: what the client tells its user. Human lines go to stderr (unless --quiet), results to stdout
 * (a table, or JSON with --json), and every event to the --log-file as one JSON object per line. Progress
 * bars redraw in place on a terminal and print plain lines otherwise. Every string written anywhere passes
 * through Redact, which blanks the secrets registered with AddSecret (the Stack Auth key, passwords).
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover {

class Output
{
  public:
	Output() = default;
	void Configure(bool quiet, bool json, const std::string &log_file, bool verbose = false);

	/* A value that must never be printed; ignored when shorter than 4 characters. */
	void AddSecret(const std::string &secret);
	std::string Redact(std::string text) const;

	/* A line for the person at the terminal, also logged with `fields`. */
	void Info(const std::string &message, nlohmann::json fields = nlohmann::json::object());
	void Warn(const std::string &message, nlohmann::json fields = nlohmann::json::object());
	void Error(const std::string &message, nlohmann::json fields = nlohmann::json::object());
	/* Logged only. */
	void Event(const std::string &event, nlohmann::json fields = nlohmann::json::object());

	/* A command's result: JSON on stdout with --json, else `table` (already formatted) on stdout. */
	void Result(const nlohmann::json &json, const std::string &table);
	/*
	 * For a command made of steps (`cutover run`): with --json, each result from now on is kept under `key`
	 * instead of printed, so that EmitCollected() prints one JSON document, `fields` plus {"steps": {...}}.
	 */
	void CollectResultsUnder(const std::string &key);
	void EmitCollected(const nlohmann::json &fields);

	bool
	json() const
	{
		return json_;
	}
	bool
	quiet() const
	{
		return quiet_;
	}
	/* -v: every detail at the terminal (the whole plan, every user's line) */
	bool
	verbose() const
	{
		return verbose_;
	}
	bool
	terminal() const
	{
		return terminal_;
	}

  private:
	void Log(const std::string &level, const std::string &message, nlohmann::json fields);
	void Human(const std::string &prefix, const std::string &message);

	bool quiet_ = false;
	bool verbose_ = false;
	bool json_ = false;
	bool terminal_ = false;
	std::ofstream log_;
	std::vector<std::string> secrets_;
	std::string collect_key_; /* empty: results are printed as they come */
	nlohmann::json collected_ = nlohmann::json::object();
};

/* The one Output of the process. */
Output &Out();

/* Counts, rate and ETA of a long step. */
class Progress
{
  public:
	Progress(std::string label, std::uint64_t total, std::string unit = "");
	~Progress();
	Progress(const Progress &) = delete;
	Progress &operator=(const Progress &) = delete;

	/* How much is done: a bar never goes back, so a smaller count than before is ignored. */
	void Set(std::uint64_t done);
	/* What the step is at besides the count ("public.big: index 1 of 3, building index: scanning table 40%"),
	 * shown after it; a change prints a plain line too. "" clears it. */
	void Note(const std::string &note);
	void
	Add(std::uint64_t count = 1)
	{
		Set(done_ + count);
	}
	void
	SetTotal(std::uint64_t total)
	{
		total_ = total;
	}
	/* Ends the bar with a last line. */
	void Finish(const std::string &note = "");

  private:
	void Draw(bool last);

	std::string label_;
	std::string unit_;
	std::string note_;
	bool note_changed_ = false;
	std::uint64_t total_;
	std::uint64_t done_ = 0;
	bool finished_ = false;
	std::chrono::steady_clock::time_point started_;
	std::chrono::steady_clock::time_point drawn_;
	int plain_step_ = 0; /* the last tenth printed as a plain line */
};

/* "1,234,567" */
std::string Thousands(std::uint64_t value);
/* "1:02:03" or "2:03" */
std::string Duration(double seconds);

} // namespace cutover
