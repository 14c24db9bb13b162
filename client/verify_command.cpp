/*
 * verify_command.cpp: `cutover verify`: migrate_verify of every planned table on --jobs connections to the
 * target, the biggest tables first so that the last to finish is a small one; each table's outcome said as soon
 * as it is known, the table of outcomes in plan order at the end. After an error or Ctrl-C the verifications
 * still running are cancelled (a verification changes no data). Then migrate_audit_ids looks for Supabase user
 * IDs left anywhere in the target.
 */
#include <poll.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "result_rows.hpp"
#include "target_plan.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

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
								   {pg::ArrayLiteral(settings.schemas)});
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

/* One call of a verification: a whole table, one key range of a big table, or the ranges added up. */
struct VerifyJob {
	enum Kind { Whole, Range, Conclude } kind = Whole;
	std::size_t table = 0; /* index into the plan */
	int range_no = 0;
};

/* A connection to the target and the verification it runs, if any. */
struct Verifier {
	pg::Connection conn;
	std::optional<VerifyJob> job;
};

/*
 * The verifications to run, the biggest tables first so that the last to finish is a small one: a table
 * whose estimated rows reach `split_rows` in key ranges (migrate_split, `ranges` of them) whose sums are added
 * up at the end, each other table whole.
 */
std::vector<VerifyJob>
PlanVerifications(const pg::Connection &target, const std::vector<PlannedTable> &plan, int ranges,
				  std::int64_t split_rows)
{
	std::vector<std::size_t> order(plan.size());
	std::iota(order.begin(), order.end(), 0);
	std::stable_sort(order.begin(), order.end(),
					 [&](std::size_t a, std::size_t b) { return EstimatedRows(plan[a]) > EstimatedRows(plan[b]); });
	std::vector<VerifyJob> jobs, conclusions;
	for (std::size_t index : order) {
		if (ranges < 2 || split_rows <= 0 || EstimatedRows(plan[index]) < static_cast<std::uint64_t>(split_rows)) {
			jobs.push_back({VerifyJob::Whole, index, 0});
			continue;
		}
		pg::Result split = target.Exec("SELECT range_no FROM migrate_split($1::regclass, $2)",
									   {plan[index].name, std::to_string(ranges)});
		for (int row = 0; row < split.Rows(); row++)
			jobs.push_back({VerifyJob::Range, index, static_cast<int>(split.Int(row, 0))});
		conclusions.push_back({VerifyJob::Conclude, index, 0});
	}
	jobs.insert(jobs.end(), conclusions.begin(), conclusions.end());
	return jobs;
}

/* The verifications of every planned table, `jobs` at a time, until all are done, one fails, or a signal. */
class VerifyRun
{
  public:
	VerifyRun(const std::vector<PlannedTable> &plan, std::vector<Verifier> verifiers, std::vector<VerifyJob> jobs)
		: plan_(plan), verifiers_(std::move(verifiers)), jobs_(std::move(jobs)), results_(plan.size())
	{
		for (const auto &planned : plan_)
			rows_left_ += EstimatedRows(planned);
	}

	/* Each table's result row, in plan order; throws the first error, or InterruptedError after a signal. */
	std::vector<std::optional<pg::Result>> Run();

  private:
	void Start();
	void Collect();
	void Said(std::size_t index, const pg::Result &result);
	/* The verifications still running cancelled; their tables' names. */
	std::vector<std::string> CancelRunning();

	const std::vector<PlannedTable> &plan_;
	std::vector<Verifier> verifiers_;
	std::vector<VerifyJob> jobs_;
	std::vector<std::optional<pg::Result>> results_;
	std::size_t next_ = 0, done_ = 0;
	std::uint64_t rows_left_ = 0, rows_done_ = 0;
	std::optional<Progress> progress_;
};

void
VerifyRun::Start()
{
	const char *const calls[] = {"SELECT * FROM migrate_verify($1::regclass)",
								 "SELECT * FROM migrate_verify_range($1::regclass, $2::integer)",
								 "SELECT * FROM migrate_verify_ranges($1::regclass)"};
	for (auto &verifier : verifiers_) {
		if (verifier.job || next_ >= jobs_.size() || Interrupted())
			continue;
		const VerifyJob &job = jobs_[next_];
		/* the ranges' sums are added up once the last range is in */
		if (job.kind == VerifyJob::Conclude &&
			std::any_of(verifiers_.begin(), verifiers_.end(),
						[&](const Verifier &other) { return other.job && other.job->table == job.table; }))
			return;
		std::vector<std::optional<std::string>> params = {plan_[job.table].name};
		if (job.kind == VerifyJob::Range)
			params.push_back(std::to_string(job.range_no));
		try {
			verifier.conn.Send(calls[job.kind], params);
		} catch (const InterruptedError &) {
			return;
		}
		verifier.job = job;
		next_++;
	}
}

/* One table's outcome, said at once. */
void
VerifyRun::Said(std::size_t index, const pg::Result &result)
{
	const PlannedTable &planned = plan_[index];
	bool ok = result.Bool(0, 5);
	rows_left_ -= std::min(rows_left_, EstimatedRows(planned));
	rows_done_ += static_cast<std::uint64_t>(std::max(result.Int(0, 1), result.Int(0, 2)));
	progress_->SetTotal(rows_done_ + rows_left_);
	progress_->Set(rows_done_);
	std::string line = planned.name + ": " + (ok ? "ok" : "DIFFERENT") + " (source " + result.Text(0, 1) +
					   " rows, target " + result.Text(0, 2) + " rows)";
	if (ok)
		Out().Info("verify: " + line, {{"table", planned.name}});
	else
		Out().Warn("verify: " + line, {{"table", planned.name}});
}

void
VerifyRun::Collect()
{
	std::vector<pollfd> fds;
	std::vector<std::string> running;
	for (const auto &verifier : verifiers_)
		if (verifier.job) {
			fds.push_back({PQsocket(verifier.conn.raw()), POLLIN, 0});
			running.push_back(plan_[verifier.job->table].name);
		}
	progress_->Note(Join(running, ", "));
	poll(fds.data(), fds.size(), 250);
	for (auto &verifier : verifiers_) {
		if (!verifier.job || Interrupted() || verifier.conn.Busy())
			continue;
		VerifyJob job = *verifier.job;
		std::size_t index = job.table;
		pg::Result result = verifier.conn.Finish(); /* an error stops the run: Run cancels the others */
		verifier.job.reset();
		if (job.kind == VerifyJob::Range) {
			Out().Event("verify range finished", {{"table", plan_[index].name},
												  {"range", job.range_no},
												  {"source_rows", result.Int(0, 0)},
												  {"target_rows", result.Int(0, 1)}});
			continue;
		}
		done_++;
		Said(index, result);
		results_[index] = std::move(result);
	}
}

std::vector<std::string>
VerifyRun::CancelRunning()
{
	std::vector<std::string> cancelled;
	for (auto &verifier : verifiers_)
		if (verifier.job) {
			verifier.conn.Cancel();
			try {
				verifier.conn.Finish();
			} catch (const pg::Error &) {
				/* cancelled, as asked */
			}
			cancelled.push_back(plan_[verifier.job->table].name);
			verifier.job.reset();
		}
	return cancelled;
}

std::vector<std::optional<pg::Result>>
VerifyRun::Run()
{
	progress_.emplace("verify", rows_left_, "rows");
	try {
		while (done_ < plan_.size() && !Interrupted()) {
			Start();
			Collect();
		}
	} catch (const pg::Error &) {
		CancelRunning();
		progress_->Finish("failed");
		throw;
	}
	std::vector<std::string> cancelled = CancelRunning();
	progress_->Note("");
	progress_->Finish(Interrupted() ? "interrupted" : "");
	if (Interrupted())
		throw InterruptedError(
			"verified " + std::to_string(done_) + " of " + std::to_string(plan_.size()) + " tables; cancelled: " +
			(cancelled.empty() ? std::string("none") : Join(cancelled, ", ")) + " (verify changes no data)");
	return std::move(results_);
}

} // namespace

int
RunVerify(const Settings &settings, int jobs_count)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	CheckNamedSource(target, settings);
	std::vector<PlannedTable> plan = ReadPlan(target, settings);
	std::vector<Verifier> verifiers;
	std::vector<VerifyJob> jobs = PlanVerifications(target, plan, std::max(1, jobs_count), settings.split_rows);
	for (int i = 0; i < std::max(1, std::min<int>(jobs_count, static_cast<int>(jobs.size()))); i++)
		verifiers.push_back({ConnectTarget(settings), std::nullopt});
	std::vector<std::optional<pg::Result>> results = VerifyRun(plan, std::move(verifiers), std::move(jobs)).Run();

	json rows = json::array();
	std::ostringstream table;
	int bad = 0;
	for (std::size_t i = 0; i < plan.size(); i++) {
		const pg::Result &result = *results[i];
		bool ok = result.Bool(0, 5);
		bad += ok ? 0 : 1;
		rows.push_back(RowsJson(result).at(0));
		table << plan[i].name << ": " << (ok ? "ok" : "DIFFERENT") << " (source " << result.Text(0, 1)
			  << " rows, target " << result.Text(0, 2) << " rows)\n";
	}
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

} // namespace cutover
