/*
 * main.cpp: the cutover command line (CLI11). Flags and subcommands only; the work is in commands.cpp,
 * pull_command.cpp, users.cpp and archive.cpp. Secrets are never flags: the Stack Auth key and passwords come
 * from the environment.
 */
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "archive.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "stack_auth.hpp"
#include "stack_json.hpp"
#include "text.hpp"
#include "users.hpp"

using namespace cutover;

namespace {

constexpr const char *kDescription =
	R"(cutover: moves an application off Supabase: users into Stack Auth, tables into this PostgreSQL.

The target database (with the pg_cutover extension) comes from the PG* environment variables or
--target; the source (Supabase) from CUTOVER_SOURCE_URL or --source. Stack Auth from STACK_API_URL
(default https://api.stack-auth.com), STACK_PROJECT_ID and STACK_SECRET_SERVER_KEY. Put passwords in
the environment (PGPASSWORD, ~/.pgpass, the URL variable), never on the command line.

Steps, in order: init, users, plan, pull, verify (or all of them: run). Without a network path
from the source to the target: export on one side, import on the other. Each can be run again after
any failure or crash: what is done is kept, nothing is done twice.)";

constexpr const char *kExitCodes = R"(
Exit codes: 0 done; 1 the step found a problem (a table differs, `diff` found differing rows, a user
was not created, a key is violated); 2 bad flags or settings, nothing done (`diff`: it could not
compare); 3 a database or Stack Auth could not be reached; 130 interrupted by Ctrl-C or SIGTERM: the
servers' work was cancelled, what finished is kept (run the same command again).)";

/* Shown under every command's own options: the global ones are taken before or after the command. */
constexpr const char *kGlobalOptions = R"(
Global options (before or after the command):
  --target CONNINFO    target database (default: the PG* environment variables)
  --source CONNINFO    source database (default: $CUTOVER_SOURCE_URL)
  --schema NAME ...    schemas to move (default: public)
  --json               print results as JSON on stdout
  --log-file FILE      append every event to FILE, one JSON object per line
  -q, --quiet          print only errors and results
  -v, --verbose        every detail: the whole plan, every user's report line
  -n, --dry-run        show what would be done; change nothing anywhere
  -V, --version        print the version and exit
  -h, --help           print this help and exit)";

constexpr const char *kTryHelp = "Try \"cutover --help\" for more information.";

/* An integer option's check, in words ("must be a whole number from 1 to 64"), with nothing of it in --help. */
CLI::Validator
Between(long long low, long long high)
{
	return CLI::Validator(
		[low, high](std::string &value) -> std::string {
			std::size_t used = 0;
			long long number = 0;
			try {
				number = std::stoll(value, &used);
			} catch (const std::exception &) {
				used = 0;
			}
			if (used == 0 || used != value.size() || number < low || number > high)
				return "must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
					   ", not \"" + value + "\"";
			return "";
		},
		"");
}

/* The first word of the command line that is no option nor an option's value: the command, as typed. */
std::string
CommandWord(const std::vector<std::string> &args)
{
	const std::set<std::string> with_value = {"--target", "--source", "--log-file"};
	for (std::size_t i = 0; i < args.size(); i++) {
		const std::string &arg = args[i];
		if (with_value.count(arg) != 0) {
			i++;
		} else if (arg == "--schema") {
			while (i + 1 < args.size() && args[i + 1].rfind('-', 0) != 0)
				i++;
		} else if (arg.rfind('-', 0) != 0) {
			return arg;
		}
	}
	return "";
}

std::string
Environment(const char *name)
{
	const char *value = std::getenv(name);
	return value != nullptr ? value : "";
}

std::set<std::string>
SplitList(const std::string &text)
{
	std::set<std::string> out;
	std::stringstream stream(text);
	std::string item;
	while (std::getline(stream, item, ','))
		if (!item.empty())
			out.insert(item);
	return out;
}

/*
 * What a command that threw tells its user, and its exit code. After Ctrl-C or SIGTERM every error is the
 * interruption's (the statements cancelled fail with 57014): 130, with what the command said it rolled back.
 */
int
ExitFor(std::exception_ptr thrown, const std::string &command)
{
	try {
		std::rethrow_exception(thrown);
	} catch (const std::exception &error) {
		if (Interrupted()) {
			bool said = dynamic_cast<const InterruptedError *>(&error) != nullptr;
			Out().Error("cutover " + command + ": interrupted (" + InterruptName() +
							"): " + (said ? error.what() : "the statement running was cancelled and rolled back") +
							"\nwhat finished before is kept: run `cutover " + command + "` again to go on",
						{{"interrupted", InterruptName()}});
			return kExitInterrupted;
		}
	}
	try {
		std::rethrow_exception(thrown);
	} catch (const pg::Error &error) {
		Out().Error(error.Described(), {{"sqlstate", error.sqlstate()}});
		return error.sqlstate().rfind("08", 0) == 0 ? kExitUnreachable : kExitProblem;
	} catch (const std::invalid_argument &error) {
		Out().Error(error.what());
		return kExitUsage;
	} catch (const StackAuthUnreachable &error) {
		Out().Error(error.what());
		return kExitUnreachable;
	} catch (const ResponseError &error) {
		Out().Error(std::string("Stack Auth: ") + error.what());
		return kExitProblem;
	} catch (const std::exception &error) {
		Out().Error(error.what());
		return kExitProblem;
	}
}

/* Every flag's value, as CLI11 fills them in. */
struct CommandLine {
	Settings settings;
	bool json = false, quiet = false, verbose = false;
	std::string log_file;
	UsersOptions users;
	std::string providers = "google,github,microsoft";
	int jobs = 1;
	bool no_snapshot = false;
	std::string diff_table;
	long long diff_rows = 1000;
	bool diff_whole_table = false;
	std::string archive_dir;
	std::vector<std::string> reset_tables;
};

/* The subcommands, to tell which one was given. */
struct Commands {
	CLI::App *init, *plan, *users, *pull, *verify, *diff, *status, *export_cmd, *import_cmd, *run, *reset;
};

/* The words after `cutover`; `cutover help [COMMAND]` is `cutover [COMMAND] --help`. */
std::vector<std::string>
Arguments(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	if (!args.empty() && args[0] == "help") {
		args.erase(args.begin());
		args.push_back("--help");
	}
	return args;
}

void
AddGlobalOptions(CLI::App &app, CommandLine &line)
{
	Settings &settings = line.settings;
	app.add_option("--target", settings.target,
				   "target database, conninfo or URI (default: the PG* environment variables)");
	app.add_option("--source", settings.source,
				   "source database, conninfo or URI (default: $CUTOVER_SOURCE_URL; keep passwords out of it)");
	app.add_option("--schema", settings.schemas, "schema to move, repeatable (default: public)")->take_all();
	app.add_flag("--json", line.json, "print results as JSON on stdout");
	app.add_option("--log-file", line.log_file, "append every event to this file, one JSON object per line");
	app.add_flag("-q,--quiet", line.quiet, "print only errors and results");
	app.add_flag("-v,--verbose", line.verbose,
				 "every detail at the terminal: the whole plan, every user's report line");
	app.add_flag("-n,--dry-run", settings.dry_run, "show what would be done; change nothing anywhere");
}

/* --rate's check, in words, with nothing of it in --help. */
CLI::Validator
NonNegativeNumber()
{
	return CLI::Validator(
		[](std::string &value) -> std::string {
			try {
				std::size_t used = 0;
				if (std::stod(value, &used) >= 0 && used == value.size())
					return "";
			} catch (const std::exception &) {
			}
			return "must be a number of 0 or more, not \"" + value + "\"";
		},
		"");
}

/* The options of `users` and `run`. */
void
AddUserOptions(CLI::App *command, CommandLine &line)
{
	UsersOptions &users = line.users;
	command->add_option("--concurrency", users.concurrency, "requests to Stack Auth in flight, 1 to 256 (default 48)")
		->type_name("N")
		->check(Between(1, 256));
	command->add_option("--rate", users.rate, "at most this many requests per second (default: no limit)")
		->type_name("N")
		->check(NonNegativeNumber());
	command
		->add_option("--max-attempts", users.policy.max_attempts,
					 "attempts per user before giving up, 1 to 100 (default 8)")
		->type_name("N")
		->check(Between(1, 100));
	command->add_option("--oauth-providers", line.providers,
						"OAuth providers configured in the Stack Auth project, comma-separated (default "
						"google,github,microsoft); other Supabase identities are reported and left out");
	command
		->add_option("--report", users.report_file,
					 "write every user that needs a word (special kinds, notes, skipped, failed) to FILE, one "
					 "JSON object a line; the terminal shows counts and the new ones")
		->type_name("FILE");
	command->add_flag(
		"--no-password-sign-in", [&users](std::int64_t) { users.password_sign_in = false; },
		"the Stack Auth project has password sign-in off: send no password hashes");
	command->add_flag("--delete-removed", users.delete_removed,
					  "users deleted in Supabase since they were created are deleted in Stack Auth too (without "
					  "it they are reported and kept); their ID-map pairs stay, marked");
}

/* -j,--jobs of `pull`, `verify` and `run`, and when a table is split in key ranges. */
void
AddJobsOption(CLI::App *command, CommandLine &line, const char *what)
{
	command
		->add_option("-j,--jobs", line.jobs,
					 std::string("tables ") + what + " at once, 1 to 64 (default 1); a big table is " + what +
						 " in N key ranges at once")
		->type_name("N")
		->check(Between(1, 64));
	command
		->add_option("--split-tables-larger-than", line.settings.split_bytes,
					 "with -j above 1, split a table this large on the source in key ranges (default 256MB; 0: "
					 "never by size)")
		->type_name("SIZE")
		->transform(CLI::AsSizeValue(false));
	command
		->add_option("--split-tables-with-rows", line.settings.split_rows,
					 "... or with this many rows by the source's estimate, whichever comes first (default "
					 "1000000; 0: never by rows)")
		->type_name("N")
		->check(CLI::NonNegativeNumber);
}

/* The arguments of diff, export, import and reset. */
void
AddArguments(const Commands &commands, CommandLine &line)
{
	commands.diff->add_option("table", line.diff_table, "the table (schema-qualified or on the search_path)")
		->required();
	commands.diff->add_option("--max-rows", line.diff_rows, "report at most this many differing rows (default 1000)")
		->type_name("N")
		->check(Between(1, 2147483646));
	commands.diff->add_flag("--whole-table", line.diff_whole_table,
							"compare every row; by default a table whose last verification was made in key ranges "
							"(verify -j) and failed is compared only in the ranges that differed");
	commands.diff->get_option("table")->type_name("TABLE");
	commands.export_cmd
		->add_option("--dir", line.archive_dir, "the directory (created if missing; must not hold an archive)")
		->required();
	commands.import_cmd->add_option("--dir", line.archive_dir, "the directory export wrote")
		->required()
		->check(CLI::ExistingDirectory);
	commands.reset->add_option("table", line.reset_tables, "the tables (schema-qualified or on the search_path)")
		->required()
		->type_name("TABLE");
}

/* The subcommands, in the order --help lists them, with their own options; each one's help ends with the
 * global options and the exit codes. */
Commands
AddCommands(CLI::App &app, CommandLine &line)
{
	Commands commands{};
	commands.init = app.add_subcommand("init", "check the extension in the target (create it if missing) and point "
											   "it at the source");
	commands.plan = app.add_subcommand("plan", "the load plan: tables in foreign-key order, user-ID columns, problems");
	commands.users = app.add_subcommand("users", "create every Supabase Auth user in Stack Auth, exactly once, and "
												 "record the ID map; with --sync, update the ones created before");
	AddUserOptions(commands.users, line);
	CLI::Option *sync = commands.users->add_flag(
		"--sync", line.users.sync,
		"also bring the users created earlier up to date: changed ones PATCHed, deleted ones reported (and deleted "
		"with --delete-removed), OAuth accounts changed since reported; in the window, after a run days ahead");
	commands.users->get_option("--delete-removed")->needs(sync);
	commands.pull = app.add_subcommand("pull", "copy every planned table from the source, user IDs rewritten; then "
											   "sequences and foreign-key checks");
	AddJobsOption(commands.pull, line, "pulled");
	commands.pull->add_flag("--no-snapshot", line.no_snapshot,
							"do not read every table from one snapshot of the source");
	commands.verify = app.add_subcommand("verify", "compare row counts and checksums of every planned table");
	AddJobsOption(commands.verify, line, "verified");
	commands.diff = app.add_subcommand(
		"diff", "the rows that differ in one table between source and target (missing, extra, changed with the "
				"columns), as a table with a summary line; exit 0 when no row differs, 1 when rows differ, 2 when it "
				"could not compare (no such table, no primary key), 3 when a database could not be reached");
	commands.status = app.add_subcommand("status", "the state of every table and of the users");
	commands.export_cmd = app.add_subcommand(
		"export", "write every planned table of the source to a directory: one JSON file per table, manifest.json "
				  "(columns, types, row counts, checksums) and the target's ID map when the target is reachable");
	commands.import_cmd = app.add_subcommand("import", "load an archive written by export into the target: user IDs "
													   "rewritten, every file checked and every table verified "
													   "against the manifest; a damaged table is refused whole");
	commands.run = app.add_subcommand("run", "every step in order: init, users (as users --sync), plan, pull, "
											 "verify; stops at the first failure");
	AddUserOptions(commands.run, line);
	AddJobsOption(commands.run, line, "pulled and verified");
	commands.reset = app.add_subcommand("reset", "set tables back to pending so that the next pull loads them "
												 "again: each table and every table whose foreign keys lead to it "
												 "(migrate_reset); after marking a column with migrate_remap_column");
	AddArguments(commands, line);
	for (CLI::App *command : app.get_subcommands({}))
		command->footer(std::string(kGlobalOptions) + "\n" + kExitCodes);
	return commands;
}

/* A parse error in words: no command, a command mistyped, or a bad flag of the command given. */
void
SayParseError(const CLI::App &app, const CLI::ParseError &error, const std::vector<std::string> &args)
{
	std::vector<std::string> names;
	for (const CLI::App *command : app.get_subcommands({}))
		names.push_back(command->get_name());
	std::string word = CommandWord(args);
	if (word.empty() && app.get_subcommands().empty()) {
		std::cerr << "cutover: no command given\n" << kTryHelp << "\n";
	} else if (app.get_subcommands().empty() && std::find(names.begin(), names.end(), word) == names.end()) {
		std::string meant = DidYouMean(word, names);
		std::cerr << "cutover: \"" << word << "\" is not a command"
				  << (meant.empty() ? "" : "; did you mean \"" + meant + "\"?") << "\n"
				  << kTryHelp << "\n";
	} else if (!app.get_subcommands().empty()) {
		std::string command = app.get_subcommands().front()->get_name();
		std::cerr << "cutover " << command << ": " << error.what() << "\nTry \"cutover " << command
				  << " --help\" for more information.\n";
	} else {
		std::cerr << "cutover: " << error.what() << "\n" << kTryHelp << "\n";
	}
}

/* The command line parsed; an exit code when there is nothing more to do (help, version, a parse error). */
std::optional<int>
Parse(CLI::App &app, const std::vector<std::string> &args)
{
	try {
		std::vector<std::string> reversed(args.rbegin(), args.rend()); /* CLI11 takes them last first */
		app.parse(reversed);
	} catch (const CLI::CallForHelp &) {
		std::cout << (app.get_subcommands().empty() ? app.help() : app.get_subcommands().front()->help("cutover"));
		return kExitOk;
	} catch (const CLI::CallForVersion &error) {
		std::cout << error.what() << "\n";
		return kExitOk;
	} catch (const CLI::ParseError &error) {
		SayParseError(app, error, args);
		return kExitUsage;
	}
	return std::nullopt;
}

int
Dispatch(const Commands &commands, const CommandLine &line)
{
	const Settings &settings = line.settings;
	if (*commands.init)
		return RunInit(settings);
	if (*commands.plan)
		return RunPlan(settings);
	if (*commands.users)
		return RunUsersCommand(settings, line.users);
	if (*commands.pull)
		return RunPull(settings, line.jobs, !line.no_snapshot);
	if (*commands.verify)
		return RunVerify(settings, line.jobs);
	if (*commands.diff)
		return RunDiff(settings, line.diff_table, line.diff_rows, line.diff_whole_table);
	if (*commands.status)
		return RunStatus(settings);
	if (*commands.run)
		return RunAll(settings, line.users, line.jobs);
	if (*commands.export_cmd)
		return RunExport(settings, line.archive_dir);
	if (*commands.import_cmd)
		return RunImport(settings, line.archive_dir);
	if (*commands.reset)
		return RunReset(settings, line.reset_tables);
	return kExitUsage;
}

} // namespace

int
main(int argc, char **argv)
{
	CLI::App app{kDescription, "cutover"};
	app.footer(kExitCodes);
	app.require_subcommand(1);
	app.fallthrough(); /* global flags may follow the subcommand */
	app.set_version_flag("-V,--version", "cutover " CUTOVER_VERSION);

	std::vector<std::string> args = Arguments(argc, argv);
	CommandLine line;
	line.settings.source = Environment("CUTOVER_SOURCE_URL");
	AddGlobalOptions(app, line);
	Commands commands = AddCommands(app, line);
	if (std::optional<int> code = Parse(app, args))
		return *code;
	line.users.oauth_providers = SplitList(line.providers);
	line.users.dry_run = line.settings.dry_run;

	std::string command = app.get_subcommands().front()->get_name();
	try {
		Out().Configure(line.quiet, line.json, line.log_file, line.verbose);
		InstallInterruptHandlers();
		return Dispatch(commands, line);
	} catch (...) {
		return ExitFor(std::current_exception(), command);
	}
}
