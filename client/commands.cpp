/*
 * commands.cpp: init, plan, diff, status, reset, users and run (pull is pull_command.cpp, verify
 * verify_command.cpp). Each step is
 * the extension's SQL call; the client connects, calls, shows progress and prints the rows.
 */
#include "commands.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "core/diff.hpp"
#include "diff_report.hpp"
#include "interrupt.hpp"
#include "json_values.hpp"
#include "output.hpp"
#include "plan_view.hpp"
#include "result_rows.hpp"
#include "source.hpp"
#include "stack_auth.hpp"
#include "target_plan.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

/* The number of elements of a one-dimensional array value (0 for NULL). */
int
CountArray(const pg::Result &result, int row, int column)
{
	json value = ValueJson(result.Type(column), result.Optional(row, column));
	return value.is_array() ? static_cast<int>(value.size()) : 0;
}

} // namespace

pg::Connection
ConnectTarget(const Settings &settings)
{
	return pg::Connection::Open(settings.target, "target");
}

pg::Connection
ConnectSource(const Settings &settings)
{
	return ConnectSource(settings.source);
}

void
CheckNamedSource(const pg::Connection &target, const Settings &settings)
{
	if (!settings.source.empty())
		ConnectStoredSource(target, settings.source);
}

int
RunInit(const Settings &settings)
{
	pg::Connection target = ConnectTarget(settings);
	pg::Result found = target.Exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_cutover'");
	std::string version;
	if (found.Rows() == 0) {
		if (settings.dry_run) {
			Out().Info("dry run: would CREATE EXTENSION pg_cutover CASCADE in the target");
		} else {
			target.Exec("CREATE EXTENSION pg_cutover CASCADE");
			Out().Info("created the pg_cutover extension in the target");
		}
	}
	found = target.Exec("SELECT coalesce((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = "
						"'pg_cutover'), 'not installed')");
	version = found.Text(0, 0);

	/* the client reads auth.users itself; the extension reaches the source through its user mapping */
	pg::Connection source = ConnectSource(settings);
	pg::Result about = source.Exec(
		"SELECT current_setting('server_version'), (SELECT count(*) FROM pg_catalog.pg_namespace n "
		"JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid WHERE n.nspname = 'auth' AND c.relname = 'users')");
	if (about.Int(0, 1) == 0)
		Out().Warn("the source has no auth.users table: `cutover users` will have nothing to read");
	std::string configured = "not configured (dry run)";
	if (!settings.dry_run) {
		/* the connection string holds the password: keep this one statement out of the server log */
		try {
			target.Exec("SET log_statement = 'none'; SET log_min_duration_statement = -1; "
						"SET log_parameter_max_length = 0");
		} catch (const pg::Error &) {
			Out().Warn("could not turn off statement logging for migrate_source (not a superuser): if the target "
					   "logs statements, its server log may show the source's connection string");
		}
		/* what libpq used, the password too wherever it found it: the extension connects the same way */
		configured = target.Exec("SELECT migrate_source($1)", {StoredSourceSettings(source)}).Text(0, 0);
		target.Exec("RESET log_statement; RESET log_min_duration_statement; RESET log_parameter_max_length");
	}
	json result = {{"extension_version", version}, {"source_server_version", about.Text(0, 0)}, {"source", configured}};
	Out().Result(result, "pg_cutover " + version + " in the target; source PostgreSQL " + about.Text(0, 0) +
							 "\nsource: " + configured + "\n");
	return kExitOk;
}

int
RunPlan(const Settings &settings)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	pg::Result plan = target.Exec("SELECT * FROM migrate_plan($1::text[])", {pg::ArrayLiteral(settings.schemas)});
	int problems = 0;
	std::vector<PlanLine> lines;
	for (int row = 0; row < plan.Rows(); row++) {
		PlanLine line;
		line.table = plan.Text(row, 0);
		line.level = static_cast<int>(plan.Int(row, 1));
		line.row_estimate = plan.Int(row, 2);
		line.user_id_columns = CountArray(plan, row, 3);
		line.user_id_values = CountArray(plan, row, 4);
		line.problem = plan.Optional(row, plan.Columns() - 1);
		problems += line.problem ? 1 : 0;
		lines.push_back(std::move(line));
	}
	/* every column with -v (or --json); else one line a table, the problems first */
	Out().Result(RowsJson(plan), Out().verbose() ? RowsTable(plan) : PlanView(lines));
	if (problems > 0) {
		Out().Error(std::to_string(problems) +
					(problems == 1 ? " planned table has a problem" : " planned tables have problems") +
					": marked ! above (every column: cutover plan -v)");
		return kExitProblem;
	}
	return kExitOk;
}

namespace {

/* cutover diff's work; RunDiff says what a failure of it means */
int
Diff(const Settings &settings, const std::string &table, long long max_rows, bool whole_table)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	CheckNamedSource(target, settings);
	bool available = target
						 .Exec("SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_extension e ON "
							   "e.extnamespace = p.pronamespace WHERE e.extname = 'pg_cutover' AND p.proname = "
							   "'migrate_diff'")
						 .Rows() > 0;
	if (!available) {
		Out().Error("this version of the pg_cutover extension has no migrate_diff; `cutover verify` says which "
					"tables differ");
		return kExitUsage;
	}
	DiffReport report;
	{
		report.table = target
						   .Exec("SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
								 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass",
								 {table})
						   .Text(0, 0);
		Out().Event("diff started", {{"table", report.table}, {"max_rows", max_rows}, {"whole_table", whole_table}});
		/* the extension says so in a notice when it compared only the key ranges that differed */
		pg::KeptNotices notices(target);
		pg::Result diff = target.Exec("SELECT key, status, array_to_json(columns)::text FROM "
									  "migrate_diff($1::regclass, $2::integer, $3::boolean)",
									  {table, std::to_string(max_rows + 1), whole_table ? "true" : "false"});
		for (const auto &notice : notices.Messages())
			if (notice.rfind(pgc::core::kOnlyRangesNotice, 0) == 0)
				report.only_ranges = notice;
		for (int row = 0; row < diff.Rows(); row++) {
			if (row == max_rows) {
				report.stopped = true;
				break;
			}
			DiffRow line{diff.Optional(row, 0), diff.Text(row, 1), {}};
			if (!diff.IsNull(row, 2))
				line.columns = json::parse(diff.Text(row, 2)).get<std::vector<std::string>>();
			report.rows.push_back(std::move(line));
		}
	}
	json document = DiffJson(report);
	Out().Event("diff finished", document.at("summary"));
	Out().Result(document, DiffTable(report));
	return report.rows.empty() ? kExitOk : kExitProblem;
}

} // namespace

int
RunDiff(const Settings &settings, const std::string &table, long long max_rows, bool whole_table)
{
	/* one more than asked for says whether more rows differ */
	if (max_rows < 1 || max_rows >= 2147483647)
		throw std::invalid_argument("--max-rows must be between 1 and 2147483646");
	/* exit 1 says that rows differ, and only that: a diff that could not run is 2 (the table, its key) or 3 */
	try {
		return Diff(settings, table, max_rows, whole_table);
	} catch (const pg::Error &error) {
		if (Interrupted())
			throw;
		Out().Error("cutover diff could not compare " + table + ": " + error.Described(),
					{{"sqlstate", error.sqlstate()}});
		return error.Unreachable() ? kExitUnreachable : kExitUsage;
	}
}

int
RunStatus(const Settings &settings)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	pg::Result tables = target.Exec("SELECT table_name, status, ranges_loaded || '/' || ranges AS ranges, rows, "
									"round(seconds::numeric, 3) AS seconds, last_error FROM migrate_status()");
	pg::Result users =
		target.Exec("SELECT status, count(*) AS users FROM migrate_users() GROUP BY status ORDER BY status");
	pg::Result mapped = target.Exec("SELECT count(*) FROM cutover.id_map");
	json out = {{"tables", RowsJson(tables)}, {"users", RowsJson(users)}, {"mapped_users", mapped.Int(0, 0)}};
	Out().Result(out, RowsTable(tables) + "\nusers mapped: " + mapped.Text(0, 0) + "\n" + RowsTable(users));
	return kExitOk;
}

int
RunReset(const Settings &settings, const std::vector<std::string> &tables)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	target.Exec("BEGIN");
	std::vector<std::string> reset;
	for (const auto &table : tables) {
		if (target.Exec("SELECT pg_catalog.to_regclass($1)", {table}).IsNull(0, 0))
			throw std::invalid_argument("cutover reset: no table " + table + " in the target (nothing was reset)");
		pg::Result names = target.Exec("SELECT * FROM migrate_reset($1::regclass)", {table});
		for (int row = 0; row < names.Rows(); row++)
			if (std::find(reset.begin(), reset.end(), names.Text(row, 0)) == reset.end())
				reset.push_back(names.Text(row, 0));
	}
	target.Exec(settings.dry_run ? "ROLLBACK" : "COMMIT");
	std::ostringstream text;
	for (const auto &name : reset)
		text << name << (settings.dry_run ? ": would be pending again\n" : ": pending again\n");
	if (!settings.dry_run && !reset.empty())
		text << "pull them again with `cutover pull` (or `cutover run`)\n";
	Out().Result({{"reset", reset}, {"dry_run", settings.dry_run}}, text.str());
	return kExitOk;
}

int
RunUsersCommand(const Settings &settings, const UsersOptions &users)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	pg::Connection source = ConnectStoredSource(target, settings.source);
	return RunUsers(source, target, users);
}

int
RunAll(const Settings &settings, const UsersOptions &users, int jobs)
{
	/* Stack Auth's settings proven before the first step, so that a bad key stops the run before it starts;
	 * the users step does not ask again */
	CheckStackAuth(StackAuthSettings::FromEnvironment());
	UsersOptions checked_users = users;
	checked_users.stack_auth_checked = true;
	/* users created days ahead (`cutover users`) are brought up to date in the window */
	checked_users.sync = true;
	struct Step {
		const char *name;
		std::function<int()> run;
	};
	std::vector<Step> steps = {
		{"init", [&] { return RunInit(settings); }},
		{"users", [&] { return RunUsersCommand(settings, checked_users); }},
		{"plan", [&] { return RunPlan(settings); }},
		{"pull", [&] { return RunPull(settings, jobs, true); }},
		{"verify", [&] { return RunVerify(settings, jobs); }},
	};
	/* with --json, one document: each step's result under its name, and where the run stopped */
	for (const auto &step : steps) {
		Out().Info("cutover run: " + std::string(step.name));
		Out().CollectResultsUnder(step.name);
		int code = kExitProblem;
		try {
			code = step.run();
		} catch (...) {
			Out().EmitCollected({{"done", false}, {"stopped_at", step.name}});
			throw;
		}
		if (code != kExitOk) {
			Out().EmitCollected({{"done", false}, {"stopped_at", step.name}});
			Out().Error("cutover run stopped at step " + std::string(step.name) +
						"; fix what it says and run `cutover run` again: finished steps are not redone");
			return code;
		}
	}
	Out().EmitCollected({{"done", true}, {"stopped_at", nullptr}});
	Out().Info("cutover run: every step done");
	return kExitOk;
}

} // namespace cutover
