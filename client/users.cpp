/*
 * users.cpp: `cutover users`, every Supabase Auth user created in Stack Auth exactly once.
 *
 * The users and their identities are read from the source (auth_users.hpp) and planned (supabase_user.hpp:
 * one request body per user, the special kinds noted). Users the ID map already holds are done. The rest go
 * out under the crash-safety protocol of the extension's user journal (user_migration.hpp); users the
 * journal holds from an earlier run are looked up in Stack Auth before anything is sent for them again. With
 * --sync, only the users whose source digest differs from the journal's are read in full and planned, the
 * mapped ones among them sorted by the journal's digests (user_sync.hpp) and the changed and removed ones sent
 * first (user_changes.hpp). The report (users_report.hpp) says what became of each user that needs a
 * word.
 */
#include "users.hpp"

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "auth_users.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "parallel.hpp"
#include "stack_auth.hpp"
#include "supabase_user.hpp"
#include "text.hpp"
#include "user_changes.hpp"
#include "user_migration.hpp"
#include "user_sync.hpp"
#include "users_report.hpp"

namespace cutover {

namespace {

/* What the target knew before this run: the ID map's pairs and the journal of the users. */
struct TargetUsers {
	std::set<std::string> taken;				/* Stack Auth user IDs in the ID map */
	std::map<std::string, std::string> journal; /* Supabase user ID -> status */
	std::map<std::string, MappedUser> pairs;	/* Supabase user ID -> what the target holds of it */
};

/*
 * The ID map's pairs and the user journal's rows, in one query sent without waiting (SendTargetRead) so that
 * the target answers while the source's users are read; TakeTargetUsers takes the answer.
 */
void
SendTargetRead(const pg::Connection &target)
{
	target.Send("SELECT coalesce(m.source_id, j.source_id)::text, m.target_id::text, j.status, "
				"coalesce(j.status IN ('created', 'adopted'), false), j.sent_digest, j.identities_digest, "
				"j.source_digest, m.removed_at IS NOT NULL, j.deleted_at IS NOT NULL "
				"FROM cutover.id_map AS m FULL JOIN cutover.user_journal AS j ON j.source_id = m.source_id");
}

TargetUsers
TakeTargetUsers(const pg::Connection &target)
{
	TargetUsers known;
	pg::Result rows = target.Finish();
	for (int row = 0; row < rows.Rows(); row++) {
		std::string source_id = rows.Text(row, 0);
		if (!rows.IsNull(row, 2))
			known.journal.emplace(source_id, rows.Text(row, 2));
		if (rows.IsNull(row, 1))
			continue;
		known.taken.insert(rows.Text(row, 1));
		known.pairs.emplace(source_id, MappedUser{rows.Text(row, 1), rows.Bool(row, 3), rows.Optional(row, 4),
												  rows.Optional(row, 5), rows.Optional(row, 6), rows.Bool(row, 7),
												  rows.Bool(row, 8)});
	}
	return known;
}

/* The journal's status of each user whose report line says "to create", after the run. */
std::map<std::string, std::string>
ReadStatuses(const pg::Connection &target, const UsersReport &report)
{
	std::vector<std::optional<std::string>> ids;
	for (const auto &line : report.lines)
		if (line.at("status") == "to create")
			ids.emplace_back(line.at("source_id").get<std::string>());
	std::map<std::string, std::string> journal;
	if (ids.empty())
		return journal;
	pg::Result rows = target.Exec("SELECT source_id::text, status FROM cutover.user_journal "
								  "WHERE source_id = ANY ($1::uuid[])",
								  {pg::ArrayLiteral(ids)});
	for (int row = 0; row < rows.Rows(); row++)
		journal.emplace(rows.Text(row, 0), rows.Text(row, 1));
	return journal;
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

/* The options a plan depends on, as part of each user's source digest. */
std::string
PlanSettings(const UsersOptions &options)
{
	return SettingsDigest(
		"oauth=" + Join(std::vector<std::string>(options.oauth_providers.begin(), options.oauth_providers.end()), ",") +
		";passwords=" + (options.password_sign_in ? "1" : "0"));
}

/*
 * The users to read in full: every one, but with --sync only those whose plan the journal does not hold as made
 * from the same rows (new, changed, adopted, skipped or failed ones); the ID map and journal taken meanwhile.
 */
UserSelection
UsersToPlan(const pg::Connection &target, const UsersOptions &options, TargetUsers &known)
{
	return [&target, &options, &known](const std::map<std::string, std::string> &digests) {
		known = TakeTargetUsers(target);
		std::optional<std::set<std::string>> wanted;
		if (!options.sync)
			return wanted;
		std::string settings = PlanSettings(options);
		wanted.emplace();
		for (const auto &[id, digest] : digests) {
			auto pair = known.pairs.find(id);
			if (digest.empty() || pair == known.pairs.end() || !pair->second.journalled ||
				pair->second.source_digest != SourceDigest(digest, settings))
				wanted->insert(wanted->end(), id);
		}
		return wanted;
	};
}

/* The users read planned, together, so that the email collisions are settled the same way on every run. */
std::vector<PlannedUser>
PlanEveryUser(const SourceUsers &source_users, const UsersOptions &options)
{
	UserPlanOptions plan_options;
	plan_options.oauth_providers = options.oauth_providers;
	plan_options.now = std::chrono::system_clock::now();
	plan_options.password_sign_in = options.password_sign_in;
	const auto &users = source_users.users;
	const std::string settings = PlanSettings(options);
	std::vector<PlannedUser> planned(users.size());
	/* each user's plan is its own: on every core */
	ParallelFor(users.size(), [&](std::size_t begin, std::size_t end) {
		static const std::vector<SupabaseIdentity> none;
		for (std::size_t i = begin; i < end; i++) {
			auto identities = source_users.identities.find(users[i].id);
			planned[i] = PlanUser(users[i], identities != source_users.identities.end() ? identities->second : none,
								  plan_options);
			const std::string &digest = source_users.digests.at(users[i].id);
			planned[i].source_digest = digest.empty() ? "" : SourceDigest(digest, settings);
		}
	});
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
		if (known.pairs.count(user.source_id) != 0) {
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
	report.sync = options.sync;
	target.KeepOnInterrupt(); /* the journal's writes land; the loop stops at a signal by itself */
	/*
	 * A bad Stack Auth setting stops the run before anything is written, a dry run too (exit 2, or 3 when Stack
	 * Auth cannot be reached): the rehearsal proves the settings the window will use. The check's round trip
	 * runs while the users are read.
	 */
	const StackAuthSettings stack = StackAuthSettings::FromEnvironment();
	std::future<void> stack_checked;
	if (!options.stack_auth_checked)
		stack_checked = std::async(std::launch::async, [&stack] { CheckStackAuth(stack); });
	SendTargetRead(target);
	TargetUsers known;
	SourceUsers source_users = ReadSourceUsers(source, UsersToPlan(target, options, known));
	report.total = source_users.digests.size();
	Out().Event("supabase users read", {{"users", report.total}, {"planned", source_users.users.size()}});

	if (stack_checked.valid())
		stack_checked.get();
	/* then the report file: a path that cannot be written stops the run before anything is sent */
	std::ofstream report_file = OpenReportFile(options.report_file);

	std::vector<PlannedUser> planned = PlanEveryUser(source_users, options);
	UserJobs jobs = TriageUsers(planned, known, target, options, report);
	report.already_mapped += report.total - planned.size(); /* not planned: mapped, rows unchanged */
	SyncTriage sync = TriageMapped(planned, known.pairs, source_users.digests);
	AddSyncLines(sync, known.pairs, options, report);

	if (options.dry_run) {
		Out().Info("dry run: " + Thousands(jobs.size()) + " users would be created in Stack Auth" +
				   (options.sync ? ", " + Thousands(sync.to_update.size()) + " updated, " +
									   Thousands(options.delete_removed ? sync.removed.size() : 0) + " deleted"
								 : ""));
		ShowReport(report, known.journal, known.pairs, true, options.report_file, report_file);
		return 0;
	}
	Out().Info(Thousands(report.total) + " Supabase users: " + Thousands(report.already_mapped) + " already mapped, " +
			   Thousands(jobs.size()) + " to create in Stack Auth at " + stack.api_url);
	if (!options.sync && (!sync.to_update.empty() || !sync.removed.empty()))
		Out().Info(Thousands(sync.to_update.size()) + " users changed and " + Thousands(sync.removed.size()) +
				   " deleted in Supabase since they were created: `cutover users --sync` brings Stack Auth up to "
				   "date");
	/* deletes and updates first: an email a changed or deleted user gave up is free for a new one */
	bool ok = !options.sync || SyncMappedUsers(target, stack, options, sync, known.pairs, report);
	if (ok && !Interrupted())
		ok = MigrateUsers(target, stack, options, std::move(known.taken), std::move(jobs.jobs), std::move(jobs.unsure),
						  report);
	/* each report line with what became of its user, as the journal has it now */
	UpdateStatuses(report, ReadStatuses(target, report));
	ShowReport(report, known.journal, known.pairs, false, options.report_file, report_file);
	if (Interrupted())
		throw InterruptedError("no new request was sent; " + Thousands(report.created + report.adopted) +
							   " users created or adopted in this run are mapped, " +
							   (options.sync ? Thousands(report.updated) + " updated, " : "") +
							   "the requests in flight were journalled");
	return ok ? 0 : 1;
}

} // namespace cutover
