/*
 * commands.cpp: init, plan, pull, verify, diff, status and run. Each step is the extension's SQL call; the
 * client connects, calls, shows progress and prints the rows.
 */
#include "commands.hpp"

#include <poll.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "diff_report.hpp"
#include "interrupt.hpp"
#include "json_values.hpp"
#include "output.hpp"
#include "plan_view.hpp"
#include "source.hpp"
#include "stack_auth.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

/* The schemas as a text[] literal. */
std::string
SchemasLiteral(const std::vector<std::string> &schemas)
{
	return pg::ArrayLiteral(std::vector<std::optional<std::string>>(schemas.begin(), schemas.end()));
}

/* A result as rows of JSON (column name -> the value in JSON of its type), and as an aligned text table. */
json
RowsJson(const pg::Result &result)
{
	json rows = json::array();
	for (int row = 0; row < result.Rows(); row++) {
		json object = json::object();
		for (int column = 0; column < result.Columns(); column++)
			object[result.Name(column)] = ValueJson(result.Type(column), result.Optional(row, column));
		rows.push_back(object);
	}
	return rows;
}

std::string
RowsTable(const pg::Result &result)
{
	std::vector<std::size_t> width(result.Columns());
	for (int column = 0; column < result.Columns(); column++) {
		width[column] = result.Name(column).size();
		for (int row = 0; row < result.Rows(); row++)
			width[column] = std::max(width[column], result.Text(row, column).size());
	}
	std::ostringstream out;
	auto cell = [&](const std::string &text, int column) {
		out << text << std::string(width[column] - std::min(width[column], text.size()), ' ')
			<< (column + 1 < result.Columns() ? " | " : "\n");
	};
	for (int column = 0; column < result.Columns(); column++)
		cell(result.Name(column), column);
	for (int column = 0; column < result.Columns(); column++)
		out << std::string(width[column], '-') << (column + 1 < result.Columns() ? "-+-" : "\n");
	for (int row = 0; row < result.Rows(); row++)
		for (int column = 0; column < result.Columns(); column++)
			cell(result.Text(row, column), column);
	out << "(" << result.Rows() << (result.Rows() == 1 ? " row)\n" : " rows)\n");
	return out.str();
}

/* The number of elements of a one-dimensional array value (0 for NULL). */
int
CountArray(const pg::Result &result, int row, int column)
{
	json value = ValueJson(result.Type(column), result.Optional(row, column));
	return value.is_array() ? static_cast<int>(value.size()) : 0;
}

/* The extension must be there, and at a version this client knows. */
void
CheckExtension(const pg::Connection &target)
{
	pg::Result found = target.Exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_cutover'");
	if (found.Rows() == 0)
		throw pg::Error("55000", "the pg_cutover extension is not installed in the target database", "",
						"Run `cutover init`, or CREATE EXTENSION pg_cutover CASCADE as a superuser.");
}

struct PlannedTable {
	std::string name;
	int level = 0;
	long long estimate = 0;
	std::string problem;
};

std::vector<PlannedTable>
ReadPlan(const pg::Connection &target, const Settings &settings)
{
	/* the order and the problems only: no sample of the rows (sample_rows 0) */
	pg::Result plan = target.Exec("SELECT table_name, level, coalesce(row_estimate, 0), coalesce(problem, '') "
								  "FROM migrate_plan($1::text[], 0) ORDER BY level, table_name",
								  {SchemasLiteral(settings.schemas)});
	std::vector<PlannedTable> tables;
	for (int row = 0; row < plan.Rows(); row++)
		tables.push_back({plan.Text(row, 0), static_cast<int>(plan.Int(row, 1)), plan.Int(row, 2), plan.Text(row, 3)});
	return tables;
}

/*
 * The places of the target that still hold Supabase user IDs (migrate_audit_ids), in words, one per line; those
 * outside columns kept out on purpose are problems.
 */
struct Leftovers {
	json rows = json::array();
	std::string text;
	int problems = 0;
	std::string problem_places; /* "public.t.c $.a; ..." */
};

Leftovers
AuditUserIds(const pg::Connection &target, const Settings &settings)
{
	Out().Info("looking for Supabase user IDs left anywhere in the target (migrate_audit_ids)");
	pg::Result audit = target.Exec("SELECT table_name, column_name, json_path, kind, ids, example_key, example_id, "
								   "remap FROM migrate_audit_ids($1::text[])",
								   {SchemasLiteral(settings.schemas)});
	Leftovers left;
	left.rows = RowsJson(audit);
	for (int row = 0; row < audit.Rows(); row++) {
		bool kept_out = audit.Text(row, 7) == "off";
		std::string place = audit.Text(row, 0) + "." + audit.Text(row, 1) +
							(audit.IsNull(row, 2) ? "" : " " + audit.Text(row, 2)) + " (" + audit.Text(row, 3) + ")";
		left.text += "  " + place + ": " + audit.Text(row, 4) + " Supabase user ID" +
					 (audit.Text(row, 4) == "1" ? "" : "s") + ", such as " + audit.Text(row, 6) +
					 (audit.IsNull(row, 5) ? "" : " in row " + audit.Text(row, 5)) +
					 (kept_out ? " (column kept out on purpose)" : "") + "\n";
		if (!kept_out) {
			left.problems++;
			left.problem_places += (left.problem_places.empty() ? "" : "; ") + place;
		}
	}
	if (!left.text.empty())
		left.text = "\nSupabase user IDs left in the target:\n" + left.text;
	else
		left.text = "\nno Supabase user ID left in the target\n";
	return left;
}

/* A pull worker: its own connection to the target, one migrate_pull at a time. */
struct Worker {
	pg::Connection conn;
	int pid = 0;
	std::optional<std::size_t> table; /* index into the plan while a pull runs */
	std::uint64_t rows = 0;			  /* rows its COPY took so far (never less than last seen) */
};

/*
 * How far each running pull got: the rows its COPY took (pg_stat_progress_copy), and once COPY is done, the
 * index being built from the loaded rows (pg_stat_progress_create_index): "public.big: building index 2 of
 * 3, 40%", one for each pull in that phase.
 */
void
ReadPullProgress(const pg::Connection &target, const std::string &pids, std::vector<Worker> &workers,
				 const std::vector<PlannedTable> &plan, std::vector<std::string> &phases)
{
	pg::Result now = target.Exec(
		"SELECT a.pid, c.tuples_processed, i.phase, "
		"(SELECT count(*) FROM pg_catalog.pg_index x WHERE x.indrelid = i.relid AND x.indexrelid <= i.index_relid), "
		"(SELECT count(*) FROM pg_catalog.pg_index x WHERE x.indrelid = i.relid), "
		"CASE WHEN i.tuples_total > 0 THEN 100 * i.tuples_done / i.tuples_total "
		"WHEN i.blocks_total > 0 THEN 100 * i.blocks_done / i.blocks_total END "
		"FROM unnest($1::int[]) AS a(pid) "
		"LEFT JOIN pg_catalog.pg_stat_progress_copy c ON c.pid = a.pid "
		"LEFT JOIN pg_catalog.pg_stat_progress_create_index i ON i.pid = a.pid",
		{pids});
	for (int row = 0; row < now.Rows(); row++)
		for (auto &worker : workers) {
			if (worker.pid != now.Int(row, 0) || !worker.table)
				continue;
			worker.rows = std::max(worker.rows, static_cast<std::uint64_t>(now.Int(row, 1)));
			if (!now.IsNull(row, 2))
				phases.push_back(plan[*worker.table].name + ": index " + now.Text(row, 3) + " of " + now.Text(row, 4) +
								 ", " + now.Text(row, 2) +
								 (now.IsNull(row, 5) ? "" : " " + std::to_string(now.Int(row, 5) / 10 * 10) + "%"));
		}
}

/*
 * A failed pull rolled back with its transaction, the state row's `loading` included: the table's state is
 * set to failed, with the error, in a transaction of its own, so that `cutover status` and migrate_status()
 * say what happened. A target that went away (a crashed backend restarts every session) cannot take it.
 */
void
RecordPullFailure(pg::Connection &target, const std::string &table, const std::string &error)
{
	try {
		target.Exec("SELECT migrate_import_failed($1::regclass, $2)", {table, error});
	} catch (const std::exception &problem) {
		Out().Warn("the failure of " + table + " could not be written to its state: " + problem.what());
	}
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
	pg::Result plan = target.Exec("SELECT * FROM migrate_plan($1::text[])", {SchemasLiteral(settings.schemas)});
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

int
RunPull(const Settings &settings, int jobs, bool use_snapshot)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	std::vector<PlannedTable> plan = ReadPlan(target, settings);
	for (const auto &table : plan)
		if (!table.problem.empty())
			throw pg::Error("55000", "table " + table.name + " cannot be pulled: " + table.problem, "",
							"`cutover plan` shows every problem; fix them first.");
	/* the snapshot's source must be the one the extension pulls from */
	std::optional<pg::Connection> holder;
	if (use_snapshot || !settings.source.empty())
		holder.emplace(ConnectStoredSource(target, settings.source));
	if (settings.dry_run) {
		json planned = json::array();
		std::string text;
		for (const auto &table : plan) {
			std::uint64_t rows = static_cast<std::uint64_t>(std::max(0LL, table.estimate));
			planned.push_back({{"table", table.name}, {"status", "would pull"}, {"rows", rows}, {"seconds", nullptr}});
			text += "dry run: would pull " + table.name + " (level " + std::to_string(table.level) + ", about " +
					Thousands(rows) + " rows)\n";
		}
		Out().Result({{"tables", planned}, {"sequences", json::array()}, {"foreign_key_violations", json::array()}},
					 text);
		return kExitOk;
	}

	/*
	 * One snapshot of the source for every table: a source connection holds it open while the pulls run. The
	 * source is frozen during the window, so this only guards against a write that slipped through.
	 */
	std::optional<std::string> snapshot;
	if (use_snapshot) {
		holder->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		snapshot = holder->Exec("SELECT pg_catalog.pg_export_snapshot()").Text(0, 0);
	}

	jobs = std::max(1, jobs);
	std::vector<Worker> workers;
	std::vector<std::string> pids;
	for (int i = 0; i < jobs; i++) {
		pg::Connection conn = ConnectTarget(settings);
		int pid = PQbackendPID(conn.raw());
		pids.push_back(std::to_string(pid));
		workers.push_back(Worker{std::move(conn), pid, std::nullopt});
	}
	std::string pid_list = pg::ArrayLiteral(std::vector<std::optional<std::string>>(pids.begin(), pids.end()));

	std::uint64_t total_rows = 0;
	for (const auto &table : plan)
		total_rows += static_cast<std::uint64_t>(std::max(0LL, table.estimate));
	Progress progress("pull", total_rows, "rows");
	std::uint64_t rows_done = 0;
	std::size_t next = 0, finished = 0;
	std::vector<json> results;
	std::vector<std::string> rolled_back; /* cancelled by Ctrl-C: "public.big (300,000 rows streamed)" */
	/* the first pull that failed: what is shown, and the SQLSTATE and error written to the table's state */
	struct PullFailure {
		std::string table, sqlstate, error, message;
	};
	std::optional<PullFailure> failure;
	auto stop = [&](Worker &worker) {
		rolled_back.push_back(plan[*worker.table].name + " (" + Thousands(worker.rows) + " rows streamed)");
		worker.table.reset();
		worker.rows = 0;
	};

	while (finished < plan.size() && !failure && !Interrupted()) {
		/* tables of one level have no keys between them: they load side by side; a level waits for the last */
		for (auto &worker : workers) {
			if (worker.table || next >= plan.size() || Interrupted())
				continue;
			bool other_level = std::any_of(workers.begin(), workers.end(), [&](const Worker &w) {
				return w.table && plan[*w.table].level != plan[next].level;
			});
			if (other_level)
				break;
			try {
				worker.conn.Send("SELECT table_name AS \"table\", status, rows, round(seconds::numeric, 3) AS "
								 "seconds FROM migrate_pull($1::regclass, $2)",
								 {plan[next].name, snapshot});
			} catch (const InterruptedError &) {
				break;
			}
			worker.table = next++;
			Out().Event("pull started", {{"table", plan[*worker.table].name}});
		}
		/* wait for any worker to answer (or a signal), then read how far each got */
		std::vector<pollfd> fds;
		for (const auto &worker : workers)
			if (worker.table)
				fds.push_back({PQsocket(worker.conn.raw()), POLLIN, 0});
		poll(fds.data(), fds.size(), 250);
		if (Interrupted())
			break;
		std::vector<std::string> phases;
		try {
			ReadPullProgress(target, pid_list, workers, plan, phases);
		} catch (const InterruptedError &) {
			break;
		} catch (const pg::Error &error) {
			if (Interrupted())
				break;
			/* the target ended every session (a crashed backend restarts them all): say which tables were on */
			std::string tables;
			for (const auto &worker : workers)
				if (worker.table)
					tables += (tables.empty() ? "" : ", ") + plan[*worker.table].name;
			failure = PullFailure{tables.substr(0, tables.find(',')), error.sqlstate(), error.what(),
								  "pulling " + tables + " failed: " + error.what()};
			break;
		}
		std::uint64_t in_progress = 0;
		for (auto &worker : workers) {
			if (!worker.table)
				continue;
			const PlannedTable &table = plan[*worker.table];
			/* a session the target ended fails here, in Busy as in Finish: that table's pull failed */
			std::optional<pg::Result> done;
			try {
				if (worker.conn.Busy()) {
					in_progress += worker.rows;
					continue;
				}
				done = worker.conn.Finish();
			} catch (const pg::Error &error) {
				if (Interrupted()) {
					stop(worker);
					continue;
				}
				if (!failure)
					failure = PullFailure{table.name, error.sqlstate(), error.what(),
										  "pulling " + table.name + " failed: " + error.what() +
											  (error.detail().empty() ? "" : " (" + error.detail() + ")") +
											  (error.hint().empty() ? "" : "\nhint: " + error.hint())};
			}
			worker.table.reset();
			worker.rows = 0;
			finished++;
			if (!done)
				continue;
			rows_done += static_cast<std::uint64_t>(done->Int(0, 2));
			results.push_back(RowsJson(*done).at(0));
			Out().Event("pull finished", results.back());
		}
		if (total_rows < rows_done + in_progress)
			progress.SetTotal(rows_done + in_progress);
		progress.Note(Join(phases, "; "));
		progress.Set(rows_done + in_progress);
	}
	/* after a failure or a signal, the pulls still running are cancelled: each rolls back alone */
	for (auto &worker : workers)
		if (worker.table) {
			worker.conn.Cancel();
			try {
				/* a pull that committed before the cancel came is kept, and said so */
				pg::Result done = worker.conn.Finish();
				results.push_back(RowsJson(done).at(0));
				Out().Event("pull finished", results.back());
				worker.table.reset();
			} catch (const pg::Error &) {
				stop(worker);
			}
		}
	progress.Note("");
	progress.Finish(Interrupted() ? "interrupted" : "");
	if (Interrupted()) {
		std::string kept;
		for (const auto &result : results)
			kept += (kept.empty() ? "" : ", ") + result.at("table").get<std::string>();
		throw InterruptedError(
			"pulled and kept: " + (kept.empty() ? std::string("none") : kept) +
			"; cancelled and rolled back: " + (rolled_back.empty() ? std::string("none") : Join(rolled_back, ", ")));
	}
	if (failure) {
		Out().Error(failure->message, {{"sqlstate", failure->sqlstate}});
		/* a table another session pulls (55P03) is that session's to record */
		if (failure->sqlstate != "55P03")
			RecordPullFailure(target, failure->table, failure->sqlstate + ": " + failure->error);
		return kExitProblem;
	}

	pg::Result sequences =
		target.Exec("SELECT * FROM migrate_fix_sequences($1::text[])", {SchemasLiteral(settings.schemas)});
	Out().Info("sequences moved past the loaded rows: " + std::to_string(sequences.Rows()));
	pg::Result fks =
		target.Exec("SELECT * FROM migrate_check_fks($1::text[]) WHERE NOT ok", {SchemasLiteral(settings.schemas)});
	json out = {{"tables", results}, {"sequences", RowsJson(sequences)}, {"foreign_key_violations", RowsJson(fks)}};
	std::ostringstream table;
	for (const auto &result : results)
		table << result.at("table").get<std::string>() << ": " << result.at("status").get<std::string>() << ", "
			  << result.at("rows").dump() << " rows in " << result.at("seconds").dump() << " s\n";
	if (fks.Rows() > 0)
		table << "\nforeign keys violated after the load:\n" << RowsTable(fks);
	Out().Result(out, table.str());
	if (fks.Rows() > 0) {
		Out().Error(std::to_string(fks.Rows()) + " foreign keys are violated after the load");
		return kExitProblem;
	}
	return kExitOk;
}

namespace {

/* The extension reads the source the target stores; a source named here must be that one. */
void
CheckNamedSource(const pg::Connection &target, const Settings &settings)
{
	if (!settings.source.empty())
		ConnectStoredSource(target, settings.source);
}

} // namespace

int
RunVerify(const Settings &settings)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	CheckNamedSource(target, settings);
	std::vector<PlannedTable> plan = ReadPlan(target, settings);
	/* by rows: a big table weighs what it holds; each table's result is said as soon as it is known */
	std::uint64_t rows_left = 0, rows_done = 0;
	for (const auto &planned : plan)
		rows_left += static_cast<std::uint64_t>(std::max(0LL, planned.estimate));
	Progress progress("verify", rows_left, "rows");
	json rows = json::array();
	std::ostringstream table;
	int bad = 0;
	for (const auto &planned : plan) {
		progress.Note(planned.name + ", about " +
					  Thousands(static_cast<std::uint64_t>(std::max(0LL, planned.estimate))) + " rows");
		std::optional<pg::Result> result;
		try {
			result = target.Exec("SELECT * FROM migrate_verify($1::regclass)", {planned.name});
		} catch (const std::exception &) {
			if (!Interrupted())
				throw;
			progress.Finish("interrupted");
			throw InterruptedError("verified " + std::to_string(rows.size()) + " of " + std::to_string(plan.size()) +
								   " tables; the verification of " + planned.name +
								   " was cancelled (verify changes no data)");
		}
		json row = RowsJson(*result).at(0);
		bool ok = result->Bool(0, 5);
		bad += ok ? 0 : 1;
		rows.push_back(row);
		rows_left -= std::min(rows_left, static_cast<std::uint64_t>(std::max(0LL, planned.estimate)));
		rows_done += static_cast<std::uint64_t>(std::max(result->Int(0, 1), result->Int(0, 2)));
		progress.SetTotal(rows_done + rows_left);
		progress.Set(rows_done);
		std::string line = planned.name + ": " + (ok ? "ok" : "DIFFERENT") + " (source " + result->Text(0, 1) +
						   " rows, target " + result->Text(0, 2) + " rows)";
		table << line << "\n";
		if (ok)
			Out().Info("verify: " + line, {{"table", planned.name}});
		else
			Out().Warn("verify: " + line, {{"table", planned.name}});
	}
	progress.Note("");
	progress.Finish();
	/* whatever the checksums say: no Supabase user ID may be left where nobody decided to keep it */
	Leftovers left = AuditUserIds(target, settings);
	Out().Result({{"tables", rows}, {"user_ids_left", left.rows}}, table.str() + left.text);
	if (bad > 0)
		Out().Error(std::to_string(bad) + " tables differ between source and target");
	if (left.problems > 0)
		Out().Error(std::to_string(left.problems) +
					(left.problems == 1 ? " place in the target still holds" : " places in the target still hold") +
					" Supabase user IDs: " + left.problem_places +
					". Rewrite them (an ID inside longer text: migrate_remap_column(table, column, 'embedded'), "
					"then migrate_reset and pull the table again), or keep them on purpose with "
					"migrate_remap_column(table, column, false)");
	return bad > 0 || left.problems > 0 ? kExitProblem : kExitOk;
}

namespace {

/* cutover diff's work; RunDiff says what a failure of it means */
int
Diff(const Settings &settings, const std::string &table, long long max_rows)
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
		Out().Event("diff started", {{"table", report.table}, {"max_rows", max_rows}});
		pg::Result diff = target.Exec("SELECT key, status, array_to_json(columns)::text FROM "
									  "migrate_diff($1::regclass, $2::integer)",
									  {table, std::to_string(max_rows + 1)});
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
RunDiff(const Settings &settings, const std::string &table, long long max_rows)
{
	/* one more than asked for says whether more rows differ */
	if (max_rows < 1 || max_rows >= 2147483647)
		throw std::invalid_argument("--max-rows must be between 1 and 2147483646");
	/* exit 1 says that rows differ, and only that: a diff that could not run is 2 (the table, its key) or 3 */
	try {
		return Diff(settings, table, max_rows);
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
	pg::Result tables = target.Exec("SELECT table_name, status, rows, round(seconds::numeric, 3) AS seconds, "
									"last_error FROM migrate_status()");
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
	struct Step {
		const char *name;
		std::function<int()> run;
	};
	std::vector<Step> steps = {
		{"init", [&] { return RunInit(settings); }},
		{"users", [&] { return RunUsersCommand(settings, checked_users); }},
		{"plan", [&] { return RunPlan(settings); }},
		{"pull", [&] { return RunPull(settings, jobs, true); }},
		{"verify", [&] { return RunVerify(settings); }},
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
