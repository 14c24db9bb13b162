/*
 * main.cpp: the cutover command line (CLI11). Flags and subcommands only; the work is in users.cpp and
 * commands.cpp. Secrets are never flags: the Stack Auth key and passwords come from the environment.
 */
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "archive.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "stack_json.hpp"
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
was not created, a key is violated); 2 bad flags or settings, nothing done; 3 a database or Stack Auth
could not be reached; 130 interrupted (run the same command again).)";

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

} // namespace

int
main(int argc, char **argv)
{
	CLI::App app{kDescription, "cutover"};
	app.footer(kExitCodes);
	app.require_subcommand(1);
	app.fallthrough(); /* global flags may follow the subcommand */
	app.set_version_flag("--version", "cutover " CUTOVER_VERSION);

	Settings settings;
	settings.source = Environment("CUTOVER_SOURCE_URL");
	bool json = false, quiet = false;
	std::string log_file;
	app.add_option("--target", settings.target,
				   "target database, conninfo or URI (default: the PG* environment variables)");
	app.add_option("--source", settings.source,
				   "source database, conninfo or URI (default: $CUTOVER_SOURCE_URL; keep passwords out of it)");
	app.add_option("--schema", settings.schemas, "schema to move, repeatable (default: public)")->take_all();
	app.add_flag("--json", json, "print results as JSON on stdout");
	app.add_option("--log-file", log_file, "append every event to this file, one JSON object per line");
	app.add_flag("-q,--quiet", quiet, "print only errors and results");
	app.add_flag("-n,--dry-run", settings.dry_run, "show what would be done; change nothing anywhere");

	UsersOptions users;
	std::string providers = "google,github,microsoft";
	auto add_user_options = [&](CLI::App *command) {
		command->add_option("--concurrency", users.concurrency, "requests to Stack Auth in flight (default 16)")
			->check(CLI::Range(1, 256));
		command->add_option("--rate", users.rate, "at most this many requests per second (default: no limit)")
			->check(CLI::NonNegativeNumber);
		command
			->add_option("--max-attempts", users.policy.max_attempts, "attempts per user before giving up (default 8)")
			->check(CLI::Range(1, 100));
		command->add_option("--oauth-providers", providers,
							"OAuth providers configured in the Stack Auth project, comma-separated (default "
							"google,github,microsoft); other Supabase identities are reported and left out");
		command->add_flag(
			"--no-password-sign-in", [&](std::int64_t) { users.password_sign_in = false; },
			"the Stack Auth project has password sign-in off: send no password hashes");
	};

	int jobs = 1;
	bool no_snapshot = false;
	std::string diff_table;
	long long diff_rows = 1000;

	auto *init = app.add_subcommand("init", "check the extension in the target (create it if missing) and point it "
											"at the source");
	auto *plan = app.add_subcommand("plan", "the load plan: tables in foreign-key order, user-ID columns, problems");
	auto *users_cmd = app.add_subcommand("users", "create every Supabase Auth user in Stack Auth, exactly once, and "
												  "record the ID map");
	add_user_options(users_cmd);
	auto *pull = app.add_subcommand("pull", "copy every planned table from the source, user IDs rewritten; then "
											"sequences and foreign-key checks");
	pull->add_option("-j,--jobs", jobs, "tables pulled at once (default 1)")->check(CLI::Range(1, 64));
	pull->add_flag("--no-snapshot", no_snapshot, "do not read every table from one snapshot of the source");
	auto *verify = app.add_subcommand("verify", "compare row counts and checksums of every planned table");
	auto *diff = app.add_subcommand(
		"diff", "the rows that differ in one table between source and target (missing, extra, changed with the "
				"columns), as a table with a summary line; exit 1 when rows differ, 0 when none do");
	diff->add_option("table", diff_table, "the table (schema-qualified or on the search_path)")->required();
	diff->add_option("--max-rows", diff_rows, "report at most this many differing rows (default 1000)")
		->check(CLI::Range(1LL, 2147483646LL));
	auto *status = app.add_subcommand("status", "the state of every table and of the users");
	std::string archive_dir;
	auto *export_cmd = app.add_subcommand(
		"export", "write every planned table of the source to a directory: one JSON file per table, manifest.json "
				  "(columns, types, row counts, checksums) and the target's ID map when the target is reachable");
	export_cmd->add_option("--dir", archive_dir, "the directory (created if missing; must not hold an archive)")
		->required();
	auto *import_cmd = app.add_subcommand("import", "load an archive written by export into the target: user IDs "
													"rewritten, every file checked and every table verified against "
													"the manifest; a damaged table is refused whole");
	import_cmd->add_option("--dir", archive_dir, "the directory export wrote")
		->required()
		->check(CLI::ExistingDirectory);
	auto *run = app.add_subcommand("run", "every step in order: init, users, plan, pull, verify; stops at the first "
										  "failure");
	add_user_options(run);
	run->add_option("-j,--jobs", jobs, "tables pulled at once (default 1)")->check(CLI::Range(1, 64));

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		int code = app.exit(error);
		return code == 0 ? kExitOk : kExitUsage;
	}
	users.oauth_providers = SplitList(providers);
	users.dry_run = settings.dry_run;

	try {
		Out().Configure(quiet, json, log_file);
		if (*init)
			return RunInit(settings);
		if (*plan)
			return RunPlan(settings);
		if (*users_cmd) {
			pg::Connection source = ConnectSource(settings);
			pg::Connection target = ConnectTarget(settings);
			return RunUsers(source, target, users);
		}
		if (*pull)
			return RunPull(settings, jobs, !no_snapshot);
		if (*verify)
			return RunVerify(settings);
		if (*diff)
			return RunDiff(settings, diff_table, diff_rows);
		if (*status)
			return RunStatus(settings);
		if (*run)
			return RunAll(settings, users, jobs);
		if (*export_cmd)
			return RunExport(settings, archive_dir);
		if (*import_cmd)
			return RunImport(settings, archive_dir);
	} catch (const pg::Error &error) {
		Out().Error(std::string(error.what()) + (error.detail().empty() ? "" : "\ndetail: " + error.detail()) +
						(error.hint().empty() ? "" : "\nhint: " + error.hint()),
					{{"sqlstate", error.sqlstate()}});
		return error.sqlstate().rfind("08", 0) == 0 ? kExitUnreachable : kExitProblem;
	} catch (const std::invalid_argument &error) {
		Out().Error(error.what());
		return kExitUsage;
	} catch (const ResponseError &error) {
		Out().Error(std::string("Stack Auth: ") + error.what());
		return kExitProblem;
	} catch (const std::exception &error) {
		Out().Error(error.what());
		return kExitProblem;
	}
	return kExitUsage;
}
