/*
 * pull_command.cpp: `cutover pull`: every planned table pulled by migrate_pull on --jobs connections to the
 * target, the tables of a level side by side, a level after the last of the one before; the rows each COPY
 * took and the index each load builds shown as progress. After a failure or Ctrl-C, the pulls still running
 * are cancelled and each rolls back alone. Then the sequences are moved past the loaded rows and the foreign
 * keys checked.
 */
#include "commands.hpp"
#include "pull_steps.hpp"

#include <poll.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "interrupt.hpp"
#include "output.hpp"
#include "result_rows.hpp"
#include "source.hpp"
#include "target_plan.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

/*
 * One call of a pull: a whole table (migrate_pull), one key range of a big table (migrate_pull_range), or the
 * end of a table pulled in ranges, its indexes built (migrate_pull_finish).
 */
struct PullJob {
	enum Kind { Whole, Range, Finish } kind = Whole;
	std::size_t table = 0; /* index into the plan */
	int range_no = 0;
};

/* A pull worker: its own connection to the target, one call at a time. */
struct Worker {
	pg::Connection conn;
	int pid = 0;
	std::optional<PullJob> job; /* what it runs, if anything */
	std::uint64_t rows = 0;		/* rows its COPY took so far (never less than last seen) */
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
			if (worker.pid != now.Int(row, 0) || !worker.job)
				continue;
			worker.rows = std::max(worker.rows, static_cast<std::uint64_t>(now.Int(row, 1)));
			if (!now.IsNull(row, 2))
				phases.push_back(plan[worker.job->table].name + ": index " + now.Text(row, 3) + " of " +
								 now.Text(row, 4) + ", " + now.Text(row, 2) +
								 (now.IsNull(row, 5) ? "" : " " + std::to_string(now.Int(row, 5) / 10 * 10) + "%"));
		}
}

/* The workers, each with its own connection to the target. */
std::vector<Worker>
OpenWorkers(const Settings &settings, int jobs)
{
	std::vector<Worker> workers;
	for (int i = 0; i < jobs; i++) {
		pg::Connection conn = ConnectTarget(settings);
		int pid = PQbackendPID(conn.raw());
		workers.push_back(Worker{std::move(conn), pid, std::nullopt, 0});
	}
	return workers;
}

/* The workers' backend PIDs as an int[] literal, for ReadPullProgress. */
std::string
PidList(const std::vector<Worker> &workers)
{
	std::vector<std::string> pids;
	for (const auto &worker : workers)
		pids.push_back(std::to_string(worker.pid));
	return pg::ArrayLiteral(pids);
}

/* The pulls of every planned table, on the workers, until all are done, one fails, or a signal comes. */
class PullRun
{
  public:
	PullRun(pg::Connection &target, const std::vector<PlannedTable> &plan, std::optional<std::string> snapshot,
			std::vector<Worker> workers, const Settings &settings)
		: target_(target), plan_(plan), snapshot_(std::move(snapshot)), workers_(std::move(workers)),
		  pid_list_(PidList(workers_)), total_rows_(TotalRows(plan)), progress_("pull", total_rows_, "rows"),
		  split_rows_(settings.split_rows > 0 ? settings.split_rows : INT64_MAX),
		  split_bytes_(settings.split_bytes > 0 ? settings.split_bytes : INT64_MAX)
	{
		for (std::size_t i = 0; i < plan_.size(); i++)
			jobs_.push_back({PullJob::Whole, i, 0});
		/* the tables whose pull in key ranges stopped before its end: theirs goes on, whatever -j says */
		pg::Result resumed = target_.Exec("SELECT table_name FROM migrate_status() WHERE ranges IS NOT NULL "
										  "AND status IN ('loading', 'failed')");
		for (int row = 0; row < resumed.Rows(); row++)
			resumed_.insert(resumed.Text(row, 0));
	}

	/* False after a failure (reported, and written to the table's state); InterruptedError after a signal. */
	bool Run();
	const std::vector<json> &
	results() const
	{
		return results_;
	}

  private:
	void StartPulls();
	bool MayStart(const PullJob &job) const;
	bool MaySplit(std::size_t table) const;
	void SplitTable(Worker &worker);
	std::string JobName(const PullJob &job) const;
	void WaitForAnswer();
	bool ReadProgress(std::vector<std::string> &phases);
	std::uint64_t CollectFinished();
	void CancelRunning();
	void Kept(const PullJob &job, const pg::Result &done);
	void Stop(Worker &worker);
	[[noreturn]] void ThrowInterrupted() const;
	void ReportFailure();

	/* the first pull that failed: what is shown, and the SQLSTATE and error written to the table's state */
	struct PullFailure {
		std::string table, sqlstate, error, message;
	};

	pg::Connection &target_;
	const std::vector<PlannedTable> &plan_;
	const std::optional<std::string> snapshot_;
	std::vector<Worker> workers_;
	const std::string pid_list_;
	const std::uint64_t total_rows_;
	Progress progress_;
	std::uint64_t rows_done_ = 0;
	std::size_t next_ = 0, running_ = 0;
	std::vector<PullJob> jobs_; /* a whole-table job becomes its ranges' when migrate_pull_split splits it */
	std::vector<bool> split_asked_;
	std::set<std::string> resumed_;
	const std::int64_t split_rows_, split_bytes_;
	std::vector<json> results_;
	std::vector<std::string> rolled_back_; /* cancelled by Ctrl-C: "public.big (300,000 rows streamed)" */
	std::vector<std::string> kept_ranges_; /* "public.big range 2": committed, its table not finished */
	std::optional<PullFailure> failure_;
};

/* A pull cancelled: its rows rolled back, said in the interruption's message. */
void
PullRun::Stop(Worker &worker)
{
	rolled_back_.push_back(JobName(*worker.job) + " (" + Thousands(worker.rows) + " rows streamed)");
	worker.job.reset();
	worker.rows = 0;
}

/* "public.big" or "public.big range 3" */
std::string
PullRun::JobName(const PullJob &job) const
{
	return plan_[job.table].name + (job.kind == PullJob::Range ? " range " + std::to_string(job.range_no) : "");
}

/* A pull that finished and committed: a table's, or one range's (said, not a table's result). */
void
PullRun::Kept(const PullJob &job, const pg::Result &done)
{
	json row = RowsJson(done).at(0);
	if (job.kind == PullJob::Range) {
		row["range"] = job.range_no;
		Out().Event("pull range finished", row);
		kept_ranges_.push_back(JobName(job));
		return;
	}
	if (job.kind == PullJob::Finish) {
		const std::string prefix = plan_[job.table].name + " range ";
		kept_ranges_.erase(std::remove_if(kept_ranges_.begin(), kept_ranges_.end(),
										  [&](const std::string &name) { return name.rfind(prefix, 0) == 0; }),
						   kept_ranges_.end());
	}
	results_.push_back(std::move(row));
	Out().Event("pull finished", results_.back());
}

/*
 * A table's pull in key ranges, asked of migrate_pull_split once, when the table's turn comes: its whole-table
 * job becomes one job per range still to load and a finishing one; no ranges, and it stays whole.
 */
void
PullRun::SplitTable(Worker &worker)
{
	PullJob &job = jobs_[next_];
	split_asked_[job.table] = true;
	pg::Result ranges = worker.conn.Exec("SELECT range_no, status FROM migrate_pull_split($1::regclass, $2, $3, $4)",
										 {plan_[job.table].name, std::to_string(workers_.size()),
										  std::to_string(split_rows_), std::to_string(split_bytes_)});
	if (ranges.Rows() == 0)
		return;
	std::vector<PullJob> split;
	for (int row = 0; row < ranges.Rows(); row++)
		if (ranges.Text(row, 1) != "loaded")
			split.push_back({PullJob::Range, job.table, static_cast<int>(ranges.Int(row, 0))});
	split.push_back({PullJob::Finish, job.table, 0});
	Out().Event("pull split",
				{{"table", plan_[job.table].name}, {"ranges", ranges.Rows()}, {"to_load", split.size() - 1}});
	jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(next_));
	jobs_.insert(jobs_.begin() + static_cast<std::ptrdiff_t>(next_), split.begin(), split.end());
}

/*
 * Whether migrate_pull_split is asked about the table (it decides, from the source's figures): a table whose
 * pull in ranges goes on, or with -j above 1 one that may reach a threshold by the plan's row estimate (none:
 * asked). The heap holds rows of at most about 2 kB (longer values are TOASTed), so fewer rows than the byte
 * threshold over 2 kB cannot reach it; asking costs a connection to the source.
 */
bool
PullRun::MaySplit(std::size_t table) const
{
	constexpr std::uint64_t kMaxHeapRowBytes = 2048;
	if (resumed_.count(plan_[table].name) > 0)
		return true;
	std::uint64_t rows = EstimatedRows(plan_[table]);
	return workers_.size() > 1 && (rows == 0 || rows >= static_cast<std::uint64_t>(split_rows_) ||
								   rows >= static_cast<std::uint64_t>(split_bytes_) / kMaxHeapRowBytes);
}

/*
 * Tables of one level have no keys between them: they load side by side, a level waits for the last of the
 * one before. A table's finishing job waits for its last range.
 */
bool
PullRun::MayStart(const PullJob &job) const
{
	return std::none_of(workers_.begin(), workers_.end(), [&](const Worker &w) {
		return w.job && (plan_[w.job->table].level != plan_[job.table].level ||
						 (job.kind == PullJob::Finish && w.job->table == job.table));
	});
}

void
PullRun::StartPulls()
{
	const char *const calls[] = {"SELECT table_name AS \"table\", status, rows, round(seconds::numeric, 3) AS seconds "
								 "FROM migrate_pull($1::regclass, $2)",
								 "SELECT table_name AS \"table\", status, rows, round(seconds::numeric, 3) AS seconds "
								 "FROM migrate_pull_range($1::regclass, $3::integer, $2)",
								 "SELECT table_name AS \"table\", status, rows, round(seconds::numeric, 3) AS seconds "
								 "FROM migrate_pull_finish($1::regclass)"};
	for (auto &worker : workers_) {
		if (worker.job || next_ >= jobs_.size() || Interrupted())
			continue;
		if (!MayStart(jobs_[next_]))
			break;
		try {
			if (jobs_[next_].kind == PullJob::Whole && !split_asked_[jobs_[next_].table] &&
				MaySplit(jobs_[next_].table))
				SplitTable(worker);
		} catch (const InterruptedError &) {
			break;
		} catch (const pg::Error &error) {
			const std::string &name = plan_[jobs_[next_].table].name;
			failure_ = PullFailure{name, error.sqlstate(), error.what(),
								   "splitting " + name + " in key ranges failed: " + error.what() +
									   (error.hint().empty() ? "" : "\nhint: " + error.hint())};
			break;
		}
		try {
			const PullJob &job = jobs_[next_];
			std::vector<std::optional<std::string>> params = {plan_[job.table].name, snapshot_};
			if (job.kind == PullJob::Range)
				params.push_back(std::to_string(job.range_no));
			if (job.kind == PullJob::Finish)
				params.resize(1);
			worker.conn.Send(calls[job.kind], params);
		} catch (const InterruptedError &) {
			break;
		}
		worker.job = jobs_[next_++];
		running_++;
		if (worker.job->kind == PullJob::Range)
			Out().Event("pull range started",
						{{"table", plan_[worker.job->table].name}, {"range", worker.job->range_no}});
		else
			Out().Event("pull started", {{"table", plan_[worker.job->table].name}});
	}
}

/* wait for any worker to answer (or a signal) */
void
PullRun::WaitForAnswer()
{
	std::vector<pollfd> fds;
	for (const auto &worker : workers_)
		if (worker.job)
			fds.push_back({PQsocket(worker.conn.raw()), POLLIN, 0});
	poll(fds.data(), fds.size(), 250);
}

/* How far each pull got; false when the pulls must stop: a signal, or a target that ended every session. */
bool
PullRun::ReadProgress(std::vector<std::string> &phases)
{
	try {
		ReadPullProgress(target_, pid_list_, workers_, plan_, phases);
	} catch (const InterruptedError &) {
		return false;
	} catch (const pg::Error &error) {
		if (Interrupted())
			return false;
		/* the target ended every session (a crashed backend restarts them all): say which tables were on */
		std::string tables;
		for (const auto &worker : workers_)
			if (worker.job)
				tables += (tables.empty() ? "" : ", ") + plan_[worker.job->table].name;
		failure_ = PullFailure{tables.substr(0, tables.find(',')), error.sqlstate(), error.what(),
							   "pulling " + tables + " failed: " + error.what()};
		return false;
	}
	return true;
}

/* The pulls that ended, kept or failed; returns the rows the ones still running took so far. */
std::uint64_t
PullRun::CollectFinished()
{
	std::uint64_t in_progress = 0;
	for (auto &worker : workers_) {
		if (!worker.job)
			continue;
		const PlannedTable &table = plan_[worker.job->table];
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
				Stop(worker);
				continue;
			}
			if (!failure_)
				failure_ = PullFailure{table.name, error.sqlstate(), error.what(),
									   "pulling " + JobName(*worker.job) + " failed: " + error.what() +
										   (error.detail().empty() ? "" : " (" + error.detail() + ")") +
										   (error.hint().empty() ? "" : "\nhint: " + error.hint())};
		}
		PullJob job = *worker.job;
		worker.job.reset();
		worker.rows = 0;
		running_--;
		if (!done)
			continue;
		if (job.kind != PullJob::Finish)
			rows_done_ += static_cast<std::uint64_t>(done->Int(0, 2));
		Kept(job, *done);
	}
	return in_progress;
}

/* after a failure or a signal, the pulls still running are cancelled: each rolls back alone */
void
PullRun::CancelRunning()
{
	for (auto &worker : workers_)
		if (worker.job) {
			worker.conn.Cancel();
			try {
				/* a pull that committed before the cancel came is kept, and said so */
				pg::Result done = worker.conn.Finish();
				Kept(*worker.job, done);
				worker.job.reset();
			} catch (const pg::Error &) {
				Stop(worker);
			}
		}
}

void
PullRun::ThrowInterrupted() const
{
	std::string kept;
	for (const auto &result : results_)
		kept += (kept.empty() ? "" : ", ") + result.at("table").get<std::string>();
	/* the ranges of a table not finished: the next pull loads only the others */
	for (const auto &range : kept_ranges_)
		kept += (kept.empty() ? "" : ", ") + range;
	throw InterruptedError(
		"pulled and kept: " + (kept.empty() ? std::string("none") : kept) +
		"; cancelled and rolled back: " + (rolled_back_.empty() ? std::string("none") : Join(rolled_back_, ", ")));
}

void
PullRun::ReportFailure()
{
	Out().Error(failure_->message, {{"sqlstate", failure_->sqlstate}});
	/* a table another session pulls (55P03) is that session's to record */
	if (failure_->sqlstate != "55P03")
		RecordPullFailure(target_, failure_->table, failure_->sqlstate + ": " + failure_->error);
}

bool
PullRun::Run()
{
	split_asked_.assign(plan_.size(), false);
	while ((next_ < jobs_.size() || running_ > 0) && !failure_ && !Interrupted()) {
		StartPulls();
		WaitForAnswer();
		if (Interrupted())
			break;
		std::vector<std::string> phases;
		if (!ReadProgress(phases))
			break;
		std::uint64_t in_progress = CollectFinished();
		if (total_rows_ < rows_done_ + in_progress)
			progress_.SetTotal(rows_done_ + in_progress);
		progress_.Note(Join(phases, "; "));
		progress_.Set(rows_done_ + in_progress);
	}
	CancelRunning();
	progress_.Note("");
	progress_.Finish(Interrupted() ? "interrupted" : "");
	if (Interrupted())
		ThrowInterrupted();
	if (failure_) {
		ReportFailure();
		return false;
	}
	return true;
}

} // namespace

int
RunPull(const Settings &settings, int jobs, bool use_snapshot)
{
	pg::Connection target = ConnectTarget(settings);
	CheckExtension(target);
	std::vector<PlannedTable> plan = ReadPlan(target, settings);
	CheckPullable(plan);
	/* the snapshot's source must be the one the extension pulls from */
	std::optional<pg::Connection> holder;
	if (use_snapshot || !settings.source.empty())
		holder.emplace(ConnectStoredSource(target, settings.source));
	if (settings.dry_run) {
		ShowDryRun(plan);
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
	PullRun pulls(target, plan, snapshot, OpenWorkers(settings, std::max(1, jobs)), settings);
	if (!pulls.Run())
		return kExitProblem;
	return FixSequencesAndCheckKeys(target, settings, pulls.results());
}

} // namespace cutover
