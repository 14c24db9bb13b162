/*
 * user_migration.cpp: the engine of `cutover users`: the planned users created in Stack Auth exactly once,
 * under the crash-safety protocol of the extension's user journal:
 *
 *   1. before a batch of requests, its users are marked 'sending' in the target (migrate_user_sending), in a
 *      committed transaction;
 *   2. each 201 is recorded at once with its pair in the ID map (migrate_user_created);
 *   3. a request whose outcome is unknown (connection lost after sending, a 5xx, a 409 on the email) is not
 *      sent again blindly: the user is looked for in Stack Auth (every user listed once, matched by
 *      server_metadata.supabase_user_id, or by exact email for a user without it) and adopted if found;
 *   4. a rerun after a crash starts with step 3 for every user the journal left 'sending' or 'failed'.
 *
 * 429 waits for Retry-After, 5xx and network errors back off with jitter (retry.hpp); any other error
 * stops the run (fail fast) with the user and Stack Auth's answer in the message.
 */
#include "user_migration.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "http.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "retry.hpp"
#include "send_queue.hpp"
#include "stack_directory.hpp"
#include "stack_json.hpp"
#include "text.hpp"
#include "user_sync.hpp"

namespace cutover {

namespace {

using Clock = std::chrono::steady_clock;
using retry::RetryAction;

/* How long to wait for more answers once one came: the target is written to once for all of them. */
constexpr std::chrono::milliseconds kLinger(4);

class UserMigration
{
  public:
	UserMigration(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
				  std::set<std::string> taken)
		: target_(target), stack_(stack), options_(options), taken_(std::move(taken)), pool_(options.concurrency),
		  sends_(options.concurrency, options.rate), random_(retry::DefaultUnitRandom())
	{
	}

	/* Sends every job; returns false after a failure (already reported). */
	bool Run(std::vector<UserJob> jobs, std::vector<UserJob> unsure, UsersReport &report);

  private:
	/* Looks up every unsure job in Stack Auth: adopted when found, queued again when safe, else failed. */
	void Reconcile(UsersReport &report);
	/* Nothing in flight nor waiting: the unsure jobs looked up; false when there is nothing left to do. */
	bool LookUpUnsure(UsersReport &report);
	/* The notes a user's journal row keeps: how it was found (for an adopted one), then its plan's. */
	static std::optional<std::string> NotesOf(const UserJob &job, const std::string &how);
	/* A user recorded: counted, said, and its Stack Auth ID never adopted for another. */
	void Counted(const UserJob &job, const StackUser &created, bool adopted, UsersReport &report);
	void Record(UserJob &job, const StackUser &created, bool adopted, UsersReport &report, const std::string &how);
	/* The users created by one round of answers, recorded together (one by one if that fails). */
	void RecordCreated(std::vector<std::pair<UserJob, StackUser>> &created, UsersReport &report);
	void Fail(UserJob &job, const std::string &problem, UsersReport &report);
	void SendBatch(std::deque<UserJob> &ready);
	/*
	 * The answers that came within `wait`: the users created recorded, together; with `go_on`, the others
	 * retried or looked up later (stopping, they stay as the journal has them).
	 */
	void CollectAnswers(std::chrono::milliseconds wait, UsersReport &report, bool go_on);
	/* What becomes of a request that ended without a 201: looked up later, retried, or failed. */
	void AttemptFailed(UserJob &job, const HttpResponse &response, UsersReport &report);
	/* The job of a finished request, taken out of in_flight_; nothing for a tag that is not ours. */
	std::optional<UserJob> TakeJob(std::uint64_t tag);
	enum class Created { No, Yes, Unreadable };
	/* A 201 read into `user`; a 201 whose body cannot be read is Unreadable, with job.last_problem saying why. */
	static Created ReadCreated(UserJob &job, const HttpResponse &response, std::optional<StackUser> &user);

	const pg::Connection &target_;
	const StackAuthSettings &stack_;
	const UsersOptions &options_;
	std::set<std::string> taken_; /* Stack Auth user IDs the ID map holds: never adopted for another user */
	HttpPool pool_;
	SendQueue<UserJob> sends_; /* to send, and waiting for a retry or the rate limit */
	retry::UnitRandom random_;
	std::map<std::uint64_t, UserJob> in_flight_;
	std::uint64_t next_tag_ = 1;
	std::vector<UserJob> unsure_; /* to look up in Stack Auth before sending again */
	int lookups_ = 0;
	bool failed_ = false;
	std::unique_ptr<Progress> progress_;
};

std::optional<std::string>
UserMigration::NotesOf(const UserJob &job, const std::string &how)
{
	std::string notes = Join(job.user->notes, "; ");
	if (!how.empty())
		notes = how + (notes.empty() ? "" : "; " + notes);
	return pg::NullIfEmpty(notes);
}

void
UserMigration::Counted(const UserJob &job, const StackUser &created, bool adopted, UsersReport &report)
{
	taken_.insert(created.id);
	(adopted ? report.adopted : report.created)++;
	Out().Event(adopted ? "user adopted" : "user created",
				{{"source_id", job.user->source_id}, {"target_id", created.id}, {"attempts", job.attempt}});
	if (progress_)
		progress_->Add();
}

void
UserMigration::Record(UserJob &job, const StackUser &created, bool adopted, UsersReport &report, const std::string &how)
{
	const PlannedUser &user = *job.user;
	/* what this run sent, known only for a user it created (an adopted one may hold an earlier run's) */
	std::optional<std::string> sent, identities, source;
	if (!adopted) {
		sent = PatchableDigest(user.body);
		identities = IdentitiesDigest(user.body);
		source = pg::NullIfEmpty(user.source_digest);
	}
	try {
		target_.Exec("SELECT migrate_user_created($1::uuid, $2::uuid, $3, $4::boolean, $5, $6, $7, $8)",
					 {user.source_id, created.id, user.email, adopted ? "true" : "false", NotesOf(job, how), sent,
					  identities, source});
	} catch (const pg::Error &error) {
		Fail(job, std::string("recording Stack Auth user ") + created.id + " failed: " + error.what(), report);
		return;
	}
	Counted(job, created, adopted, report);
}

void
UserMigration::RecordCreated(std::vector<std::pair<UserJob, StackUser>> &created, UsersReport &report)
{
	if (created.size() > 1) {
		/* the users one round of answers created, in one transaction: one commit, not one a user */
		std::vector<std::optional<std::string>> sources, targets, emails, notes, sent, identities, rows;
		for (const auto &[job, user] : created) {
			sources.emplace_back(job.user->source_id);
			targets.emplace_back(user.id);
			emails.emplace_back(job.user->email);
			notes.emplace_back(NotesOf(job, ""));
			sent.emplace_back(PatchableDigest(job.user->body));
			identities.emplace_back(IdentitiesDigest(job.user->body));
			rows.emplace_back(pg::NullIfEmpty(job.user->source_digest));
		}
		try {
			target_.Exec("SELECT migrate_user_created(u.s, u.t, u.e, false, u.n, u.d, u.i, u.r) FROM ROWS FROM ("
						 "pg_catalog.unnest($1::uuid[]), pg_catalog.unnest($2::uuid[]), pg_catalog.unnest($3::text[]), "
						 "pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::text[]), "
						 "pg_catalog.unnest($7::text[])) AS u(s, t, e, n, d, i, r)",
						 {pg::ArrayLiteral(sources), pg::ArrayLiteral(targets), pg::ArrayLiteral(emails),
						  pg::ArrayLiteral(notes), pg::ArrayLiteral(sent), pg::ArrayLiteral(identities),
						  pg::ArrayLiteral(rows)});
			for (const auto &[job, user] : created)
				Counted(job, user, false, report);
			created.clear();
			return;
		} catch (const pg::Error &error) {
			/* one of them cannot be recorded: one by one, so that the failure names it */
			Out().Event("users recorded one by one", {{"users", created.size()}, {"error", error.what()}});
		}
	}
	for (auto &[job, user] : created)
		Record(job, user, false, report, "");
	created.clear();
}

void
UserMigration::Fail(UserJob &job, const std::string &problem, UsersReport &report)
{
	const PlannedUser &user = *job.user;
	std::string message = "user " + user.source_id + (user.email ? " <" + *user.email + ">" : "") +
						  " could not be created in Stack Auth: " + problem;
	try {
		target_.Exec("SELECT migrate_user_not_created($1::uuid, 'failed', $2, $3, $4)",
					 {user.source_id, problem, user.email, std::string(UserKindName(user.kind))});
	} catch (const pg::Error &error) {
		Out().Warn("could not record the failure of user " + user.source_id + ": " + error.what());
	}
	report.failed++;
	report.errors.push_back(message);
	if (!failed_)
		Out().Error(message, {{"source_id", user.source_id}});
	failed_ = true;
}

void
UserMigration::Reconcile(UsersReport &report)
{
	Out().Info("looking up " + Thousands(unsure_.size()) +
			   " users whose create may have happened without an answer, before sending them again");
	StackDirectory directory = ListEveryUser(stack_, options_.page_size, options_.policy, random_);
	Out().Event("stack auth listed", {{"users", directory.users}, {"unsure", unsure_.size()}});
	for (auto &job : unsure_) {
		const PlannedUser &user = *job.user;
		auto found = directory.by_supabase_id.find(user.source_id);
		if (auto twin = directory.duplicates.find(user.source_id); twin != directory.duplicates.end()) {
			std::string message = "Supabase user " + user.source_id + " has two Stack Auth users, " + found->second.id +
								  " and " + twin->second + ": delete the one not in the ID map";
			Out().Warn(message);
			report.errors.push_back(message);
		}
		if (found != directory.by_supabase_id.end()) {
			Record(job, found->second, true, report, "adopted: found by its Supabase user ID");
			continue;
		}
		/*
		 * By email: only a Stack Auth user without a Supabase user ID can be this one, created before by
		 * another tool. One that belongs to another Supabase user (the SSO twin, or the user of a case
		 * collision who kept sign-in) is no answer, unless Stack Auth refused this email because of it.
		 */
		std::optional<StackUser> same_email_other;
		bool adopted = false;
		if (user.email) {
			auto [first, last] = directory.by_email.equal_range(*user.email);
			bool signs_in = user.body.value("primary_email_auth_enabled", false);
			for (auto it = first; it != last && !adopted; ++it) {
				if (!it->second.supabase_user_id && signs_in && taken_.count(it->second.id) == 0) {
					Record(job, it->second, true, report,
						   "adopted: an existing Stack Auth user with the same email and no Supabase user ID");
					adopted = true;
				} else if (*it->second.supabase_user_id != user.source_id) {
					same_email_other = it->second;
				}
			}
		}
		if (adopted)
			continue;
		if (job.email_refused) {
			Fail(job,
				 "Stack Auth refuses email " + user.email.value_or("") + " (USER_EMAIL_ALREADY_EXISTS)" +
					 (same_email_other ? ": Stack Auth user " + same_email_other->id + " of Supabase user " +
											 same_email_other->supabase_user_id.value_or("") + " signs in with it"
									   : ""),
				 report);
			continue;
		}
		if (job.attempt >= options_.policy.max_attempts) {
			Fail(job, "gave up after " + std::to_string(job.attempt) + " attempts: " + job.last_problem, report);
			continue;
		}
		sends_.Push(job); /* not there: safe to send again */
	}
	unsure_.clear();
}

std::optional<UserJob>
UserMigration::TakeJob(std::uint64_t tag)
{
	auto found = in_flight_.find(tag);
	if (found == in_flight_.end())
		return std::nullopt;
	UserJob job = found->second;
	in_flight_.erase(found);
	return job;
}

UserMigration::Created
UserMigration::ReadCreated(UserJob &job, const HttpResponse &response, std::optional<StackUser> &user)
{
	if (response.kind != retry::OutcomeKind::Response || response.status != 201)
		return Created::No;
	try {
		user = ParseUser(ParseBody(response.body));
		return Created::Yes;
	} catch (const ResponseError &error) {
		job.last_problem = error.what();
		return Created::Unreadable;
	}
}

void
UserMigration::SendBatch(std::deque<UserJob> &ready)
{
	if (ready.empty())
		return;
	std::vector<std::optional<std::string>> ids, emails, kinds;
	for (const auto &job : ready) {
		ids.emplace_back(job.user->source_id);
		emails.emplace_back(job.user->email);
		kinds.emplace_back(std::string(UserKindName(job.user->kind)));
	}
	/* journalled and committed before the first byte goes out */
	target_.Exec("SELECT migrate_user_sending($1::uuid[], $2::text[], $3::text[])",
				 {pg::ArrayLiteral(ids), pg::ArrayLiteral(emails), pg::ArrayLiteral(kinds)});
	for (auto &job : ready) {
		job.attempt++;
		job.email_refused = false;
		std::uint64_t tag = next_tag_++;
		pool_.Submit(tag, CreateUserRequest(stack_, job.user->body));
		in_flight_.emplace(tag, job);
	}
	ready.clear();
}

bool
UserMigration::LookUpUnsure(UsersReport &report)
{
	if (unsure_.empty())
		return false;
	/* a request whose answer was lost may still be at work in Stack Auth: the lookup waits for it */
	Clock::time_point settled{};
	for (const auto &job : unsure_)
		settled = std::max(settled, job.unsure_since + job.settle);
	if (Clock::now() < settled) {
		std::this_thread::sleep_until(std::min(settled, Clock::now() + std::chrono::milliseconds(200)));
		return true;
	}
	if (++lookups_ > options_.policy.max_attempts) {
		for (auto &job : unsure_)
			Fail(job, "still unsure after " + std::to_string(lookups_) + " lookups", report);
		return false;
	}
	Reconcile(report);
	return true;
}

void
UserMigration::AttemptFailed(UserJob &job, const HttpResponse &response, UsersReport &report)
{
	const PlannedUser &user = *job.user;
	std::optional<StackError> error;
	if (response.kind == retry::OutcomeKind::Response)
		error = ParseError(response.status, response.content_type, response.body);
	job.last_problem = error ? Describe(*error) : response.network_error;
	Out().Event("user attempt failed",
				{{"source_id", user.source_id}, {"attempt", job.attempt}, {"problem", job.last_problem}});
	job.email_refused = error && error->code == "USER_EMAIL_ALREADY_EXISTS";
	job.unsure_since = Clock::now();
	job.settle = response.timed_out ? std::chrono::duration_cast<Clock::duration>(kRequestTimeout)
									: std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1));
	if (job.email_refused) {
		/* an earlier attempt whose answer was lost, or someone else's user: the lookup tells */
		unsure_.push_back(job);
		return;
	}
	retry::Attempt tried{job.attempt, {response.kind, response.status}, response.retry_after, false};
	auto decision = retry::DecideRetry(options_.policy, tried, std::chrono::system_clock::now(), random_);
	switch (decision.action) {
	case RetryAction::Retry:
		report.retries++;
		sends_.Park(job, Clock::now() + decision.delay);
		break;
	case RetryAction::Reconcile:
		report.retries++;
		unsure_.push_back(job);
		break;
	case RetryAction::Done:
	case RetryAction::Fail:
		Fail(job, job.last_problem, report);
		break;
	}
}

void
UserMigration::CollectAnswers(std::chrono::milliseconds wait, UsersReport &report, bool go_on)
{
	std::vector<std::pair<UserJob, StackUser>> created;
	/* answers a few milliseconds apart are taken together: one write to the target for them all */
	for (auto &[tag, response] : pool_.Collect(wait, kLinger)) {
		std::optional<UserJob> taken = TakeJob(tag);
		if (!taken)
			continue;
		std::optional<StackUser> user;
		Created outcome = ReadCreated(*taken, response, user);
		if (outcome == Created::Yes)
			created.emplace_back(*taken, *user);
		/* created, but the answer cannot be read: found like a lost answer (stopping: 'sending' stays, the next
		 * run looks it up) */
		else if (outcome == Created::Unreadable && go_on)
			unsure_.push_back(*taken);
		else if (outcome == Created::No && go_on)
			AttemptFailed(*taken, response, report);
	}
	RecordCreated(created, report);
}

bool
UserMigration::Run(std::vector<UserJob> jobs, std::vector<UserJob> unsure, UsersReport &report)
{
	progress_ = std::make_unique<Progress>("users", jobs.size() + unsure.size(), "users");
	unsure_ = std::move(unsure);
	if (!unsure_.empty())
		Reconcile(report);
	for (auto &job : jobs)
		sends_.Push(job);

	while (!failed_ && !Interrupted()) {
		/* keep the pool busy, journalling each batch first; at most `concurrency` tokens taken ahead */
		std::deque<UserJob> ready = sends_.TakeReady(Clock::now(), in_flight_.size());
		SendBatch(ready);

		if (in_flight_.empty() && sends_.Empty()) {
			if (!LookUpUnsure(report))
				break;
			continue;
		}
		auto max_wait = std::chrono::milliseconds(200);
		if (in_flight_.empty()) {
			std::this_thread::sleep_until(std::min(sends_.NextWake().value_or(Clock::now()), Clock::now() + max_wait));
			continue;
		}
		CollectAnswers(max_wait, report, true);
	}
	/* a failure or a signal stops new requests; the ones in flight still finish and are recorded */
	while (!in_flight_.empty())
		CollectAnswers(std::chrono::milliseconds(200), report, false);
	progress_->Finish();
	return !failed_;
}

} // namespace

bool
MigrateUsers(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
			 std::set<std::string> taken, std::vector<UserJob> jobs, std::vector<UserJob> unsure, UsersReport &report)
{
	UserMigration migration(target, stack, options, std::move(taken));
	return migration.Run(std::move(jobs), std::move(unsure), report);
}

} // namespace cutover
