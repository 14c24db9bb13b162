/*
 * users.cpp: `cutover users`, every Supabase Auth user created in Stack Auth exactly once.
 *
 * The users and their identities are read from the source (auth_users.hpp) and planned (supabase_user.hpp:
 * one request body per user, the special kinds noted). Users the ID map already holds are done. The rest go
 * out under the crash-safety protocol of the extension's user journal (user_migration.hpp); users the
 * journal holds from an earlier run are looked up in Stack Auth before anything is sent for them again. The
 * report (users_report.hpp) says what became of each user that needs a word.
 */
#include "users.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "auth_users.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "stack_auth.hpp"
#include "supabase_user.hpp"
#include "text.hpp"
#include "user_migration.hpp"
#include "users_report.hpp"

namespace cutover {

namespace {

/* What the target knew before this run: the ID map's pairs and the journal of the users. */
struct TargetUsers {
	std::set<std::string> mapped;				/* Supabase user IDs in the ID map */
	std::set<std::string> taken;				/* Stack Auth user IDs in the ID map */
	std::map<std::string, std::string> journal; /* Supabase user ID -> status */
};

/* Each user of the journal (migrate_users) with its status. */
std::map<std::string, std::string>
ReadJournal(const pg::Connection &target)
{
	std::map<std::string, std::string> journal;
	pg::Result rows = target.Exec("SELECT source_id::text, status FROM migrate_users()");
	for (int row = 0; row < rows.Rows(); row++)
		journal.emplace(rows.Text(row, 0), rows.Text(row, 1));
	return journal;
}

TargetUsers
ReadTargetUsers(const pg::Connection &target)
{
	TargetUsers known;
	pg::Result map = target.Exec("SELECT source_id::text, target_id::text FROM cutover.id_map");
	for (int row = 0; row < map.Rows(); row++) {
		known.mapped.insert(map.Text(row, 0));
		known.taken.insert(map.Text(row, 1));
	}
	known.journal = ReadJournal(target);
	return known;
}

/* A path that cannot be written stops the run before anything is sent. */
std::ofstream
OpenReportFile(const std::string &path)
{
	std::ofstream file;
	if (!path.empty()) {
		file.open(path, std::ios::trunc);
		if (!file)
			throw std::invalid_argument("cutover users: cannot write the report file " + path);
	}
	return file;
}

/* Every user planned, so that the email collisions are settled the same way on every run. */
std::vector<PlannedUser>
PlanEveryUser(const SourceUsers &source_users, const UsersOptions &options)
{
	UserPlanOptions plan_options;
	plan_options.oauth_providers = options.oauth_providers;
	plan_options.now = std::chrono::system_clock::now();
	plan_options.password_sign_in = options.password_sign_in;
	std::vector<PlannedUser> planned;
	planned.reserve(source_users.users.size());
	for (const auto &user : source_users.users) {
		static const std::vector<SupabaseIdentity> none;
		auto identities = source_users.identities.find(user.id);
		planned.push_back(
			PlanUser(user, identities != source_users.identities.end() ? identities->second : none, plan_options));
	}
	ResolveEmailCollisions(planned);
	return planned;
}

/* The users to send: new ones, and those an earlier run may have sent (looked up in Stack Auth first). */
struct UserJobs {
	std::vector<UserJob> jobs, unsure;
	std::size_t
	size() const
	{
		return jobs.size() + unsure.size();
	}
};

/* A user neither mapped nor skipped: a job, or an unsure one when the journal holds it from an earlier run. */
void
AddJob(PlannedUser &user, const TargetUsers &known, UserJobs &out)
{
	auto entry = known.journal.find(user.source_id);
	/* journalled but not in the map (sending, failed, or a pair removed since): maybe in Stack Auth */
	bool maybe_sent = entry != known.journal.end() && entry->second != "skipped";
	UserJob job;
	job.user = &user;
	if (maybe_sent) {
		job.attempt = 1;
		job.last_problem = "sent by an earlier run, answer unknown";
	}
	(maybe_sent ? out.unsure : out.jobs).push_back(job);
}

/*
 * Each planned user counted as already mapped, skipped (journalled so, unless a dry run) or to create, and
 * given a report line when it needs a word.
 */
UserJobs
TriageUsers(std::vector<PlannedUser> &planned, const TargetUsers &known, const pg::Connection &target,
			const UsersOptions &options, UsersReport &report)
{
	UserJobs out;
	for (auto &user : planned) {
		std::string status;
		if (known.mapped.count(user.source_id) != 0) {
			report.already_mapped++;
			status = "already mapped";
		} else if (user.error) {
			report.skipped++;
			status = "skipped";
			if (!options.dry_run)
				target.Exec("SELECT migrate_user_not_created($1::uuid, 'skipped', $2, $3, $4)",
							{user.source_id, *user.error, user.email, std::string(UserKindName(user.kind))});
		} else {
			AddJob(user, known, out);
			status = "to create";
		}
		if (!user.notes.empty() || user.error || user.kind != UserKind::Regular)
			report.lines.push_back(ReportLine(user, status));
	}
	return out;
}

} // namespace

int
RunUsers(const pg::Connection &source, pg::Connection &target, const UsersOptions &options)
{
	UsersReport report;
	target.KeepOnInterrupt(); /* the journal's writes land; the loop stops at a signal by itself */
	SourceUsers source_users = ReadSourceUsers(source);
	report.total = source_users.users.size();
	TargetUsers known = ReadTargetUsers(target);

	/*
	 * A bad Stack Auth setting stops the run before anything is written, a dry run too (exit 2, or 3 when Stack
	 * Auth cannot be reached): the rehearsal proves the settings the window will use.
	 */
	std::optional<StackAuthSettings> stack = StackAuthSettings::FromEnvironment();
	if (!options.stack_auth_checked)
		CheckStackAuth(*stack);
	/* then the report file: a path that cannot be written stops the run before anything is sent */
	std::ofstream report_file = OpenReportFile(options.report_file);

	std::vector<PlannedUser> planned = PlanEveryUser(source_users, options);
	UserJobs jobs = TriageUsers(planned, known, target, options, report);

	if (options.dry_run) {
		Out().Info("dry run: " + Thousands(jobs.size()) + " users would be sent to Stack Auth");
		ShowReport(report, known.journal, known.mapped, true, options.report_file, report_file);
		return 0;
	}
	Out().Info(Thousands(report.total) + " Supabase users: " + Thousands(report.already_mapped) + " already mapped, " +
			   Thousands(jobs.size()) + " to create in Stack Auth at " + stack->api_url);
	bool ok = MigrateUsers(target, *stack, options, std::move(known.taken), std::move(jobs.jobs),
						   std::move(jobs.unsure), report);
	/* each report line with what became of its user, as the journal has it now */
	UpdateStatuses(report, ReadJournal(target));
	ShowReport(report, known.journal, known.mapped, false, options.report_file, report_file);
	if (Interrupted())
		throw InterruptedError("no new request was sent; " + Thousands(report.created + report.adopted) +
							   " users created or adopted in this run are mapped, the requests in flight were "
							   "journalled");
	return ok ? 0 : 1;
}

} // namespace cutover
