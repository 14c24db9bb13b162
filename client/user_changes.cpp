/*
 * user_changes.cpp: the PATCHes and DELETEs of `cutover users --sync` (user_changes.hpp).
 */
#include "user_changes.hpp"

#include <chrono>
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
#include "stack_json.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using Clock = std::chrono::steady_clock;
using Kind = UserChange::Kind;

/* How long to wait for more answers once one came: the target is written to once for all of them. */
constexpr std::chrono::milliseconds kLinger(4);

/* The records of a round of answers: Supabase user IDs, digests of what was sent, of what it was made from. */
constexpr const char *kRecordUpdated =
	"SELECT migrate_user_updated(u.s, u.d, u.r) FROM ROWS FROM (pg_catalog.unnest($1::uuid[]), "
	"pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) AS u(s, d, r)";
constexpr const char *kRecordDeleted =
	"SELECT migrate_user_removed(u.s, true) FROM ROWS FROM (pg_catalog.unnest($1::uuid[]), "
	"pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) AS u(s, d, r)";

class ChangeRun
{
  public:
	ChangeRun(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options)
		: target_(target), stack_(stack), options_(options), pool_(options.concurrency),
		  sends_(options.concurrency, options.rate), random_(retry::DefaultUnitRandom())
	{
	}

	bool Run(std::vector<UserChange> changes, UsersReport &report);

  private:
	void Send(std::deque<UserChange> &ready);
	/* The answers that came within `wait`: with `go_on`, the others retried (stopping, they stay as the journal
	 * has them: the next sync sends them again) and the next requests sent; then the changes carried out
	 * recorded together. */
	void Collect(std::chrono::milliseconds wait, UsersReport &report, bool go_on);
	/* Whether the answer says the change is carried out; if not, change.last_problem says what came instead
	 * and `outcome` is what the retry policy judges (an unreadable 200 counts as a 502: sending again is safe). */
	bool CarriedOut(UserChange &change, const HttpResponse &response, retry::AttemptOutcome &outcome) const;
	void Retry(UserChange &change, const HttpResponse &response, retry::AttemptOutcome outcome, UsersReport &report);
	/* The changes one round carried out, recorded in one statement (one by one if that fails, to name the user). */
	void Record(std::vector<UserChange> &done, UsersReport &report);
	void Counted(const UserChange &change, UsersReport &report);
	void Fail(const UserChange &change, const std::string &problem, UsersReport &report);

	const pg::Connection &target_;
	const StackAuthSettings &stack_;
	const UsersOptions &options_;
	HttpPool pool_;
	SendQueue<UserChange> sends_;
	retry::UnitRandom random_;
	std::map<std::uint64_t, UserChange> in_flight_;
	std::vector<UserChange> deferred_; /* refused for an email another change may free: sent after the rest */
	std::uint64_t next_tag_ = 1;
	bool failed_ = false;
	std::unique_ptr<Progress> progress_;
};

void
ChangeRun::Send(std::deque<UserChange> &ready)
{
	for (auto &change : ready) {
		change.attempt++;
		std::uint64_t tag = next_tag_++;
		pool_.Submit(tag, change.kind == Kind::Update ? UpdateUserRequest(stack_, change.target_id, change.body)
													  : DeleteUserRequest(stack_, change.target_id));
		in_flight_.emplace(tag, std::move(change));
	}
	ready.clear();
}

bool
ChangeRun::CarriedOut(UserChange &change, const HttpResponse &response, retry::AttemptOutcome &outcome) const
{
	outcome = {response.kind, response.status};
	if (response.kind != retry::OutcomeKind::Response) {
		change.last_problem = response.network_error;
		return false;
	}
	/* a DELETE that finds no user: deleted by an earlier attempt whose answer was lost, or by hand */
	if (change.kind == Kind::Delete && (response.status == 200 || response.status == 404))
		return true;
	if (change.kind == Kind::Update && response.status == 200) {
		try {
			if (ParseUser(ParseBody(response.body)).id == change.target_id)
				return true;
			change.last_problem = "Stack Auth answered the PATCH with another user";
		} catch (const ResponseError &error) {
			change.last_problem = std::string("an unreadable answer: ") + error.what();
		}
		outcome.status = 502;
		return false;
	}
	StackError error = ParseError(response.status, response.content_type, response.body);
	change.last_problem = Describe(error);
	change.email_refused = error.code == "USER_EMAIL_ALREADY_EXISTS";
	if (change.email_refused && change.deferred)
		change.last_problem += " (a user deleted in Supabase may still hold that email in Stack Auth: "
							   "--delete-removed deletes such users first)";
	if (error.code == "USER_NOT_FOUND")
		change.last_problem += " (the Stack Auth user of the ID map was deleted there: `cutover users --sync "
							   "--delete-removed` does not bring it back; delete the pair or create the user by hand)";
	return false;
}

void
ChangeRun::Retry(UserChange &change, const HttpResponse &response, retry::AttemptOutcome outcome, UsersReport &report)
{
	Out().Event("user change failed",
				{{"source_id", change.source_id}, {"attempt", change.attempt}, {"problem", change.last_problem}});
	if (change.email_refused && !change.deferred) {
		/* another user of this sync may be giving the email up (two users swapping emails): once more at the end */
		change.deferred = true;
		deferred_.push_back(std::move(change));
		return;
	}
	retry::Attempt tried{change.attempt, outcome, response.retry_after, true};
	auto decision = retry::DecideRetry(options_.policy, tried, std::chrono::system_clock::now(), random_);
	if (decision.action == retry::RetryAction::Retry) {
		report.retries++;
		sends_.Park(std::move(change), Clock::now() + decision.delay);
		return;
	}
	std::string problem = change.last_problem;
	if (decision.action == retry::RetryAction::Fail)
		problem = "gave up after " + std::to_string(change.attempt) + " attempts: " + problem;
	Fail(change, problem, report);
}

void
ChangeRun::Counted(const UserChange &change, UsersReport &report)
{
	bool update = change.kind == Kind::Update;
	(update ? report.updated : report.deleted)++;
	Out().Event(update ? "user updated" : "user deleted",
				{{"source_id", change.source_id}, {"target_id", change.target_id}, {"attempts", change.attempt}});
	progress_->Add();
}

void
ChangeRun::Record(std::vector<UserChange> &done, UsersReport &report)
{
	for (Kind kind : {Kind::Update, Kind::Delete}) {
		std::vector<const UserChange *> these;
		for (const auto &change : done)
			if (change.kind == kind)
				these.push_back(&change);
		if (these.empty())
			continue;
		const char *sql = kind == Kind::Update ? kRecordUpdated : kRecordDeleted;
		auto record = [&](const std::vector<const UserChange *> &changes) {
			std::vector<std::optional<std::string>> sources, digests, rows;
			for (const UserChange *change : changes) {
				sources.emplace_back(change->source_id);
				digests.emplace_back(change->digest);
				rows.emplace_back(pg::NullIfEmpty(change->source_digest));
			}
			target_.Exec(sql, {pg::ArrayLiteral(sources), pg::ArrayLiteral(digests), pg::ArrayLiteral(rows)});
			for (const UserChange *change : changes)
				Counted(*change, report);
		};
		try {
			record(these);
		} catch (const pg::Error &error) {
			/* one of them cannot be recorded: one by one, so that the failure names it */
			Out().Event("user changes recorded one by one", {{"users", these.size()}, {"error", error.what()}});
			for (const UserChange *change : these) {
				try {
					record({change});
				} catch (const pg::Error &one) {
					Fail(*change, std::string("recording it failed: ") + one.what(), report);
				}
			}
		}
	}
	done.clear();
}

void
ChangeRun::Fail(const UserChange &change, const std::string &problem, UsersReport &report)
{
	std::string message = "user " + change.who + " could not be " +
						  (change.kind == Kind::Update ? "updated" : "deleted") + " in Stack Auth (user " +
						  change.target_id + "): " + problem;
	report.failed++;
	report.errors.push_back(message);
	if (!failed_)
		Out().Error(message, {{"source_id", change.source_id}});
	failed_ = true;
}

void
ChangeRun::Collect(std::chrono::milliseconds wait, UsersReport &report, bool go_on)
{
	std::vector<UserChange> done;
	for (auto &[tag, response] : pool_.Collect(wait, kLinger)) {
		auto found = in_flight_.find(tag);
		if (found == in_flight_.end())
			continue;
		UserChange change = std::move(found->second);
		in_flight_.erase(found);
		retry::AttemptOutcome outcome;
		if (CarriedOut(change, response, outcome))
			done.push_back(std::move(change));
		else if (go_on)
			Retry(change, response, outcome, report);
	}
	if (go_on && !failed_ && !Interrupted()) {
		/* the next requests go out before the records are written: a PATCH or DELETE waits for no journal */
		std::deque<UserChange> ready = sends_.TakeReady(Clock::now(), in_flight_.size());
		Send(ready);
	}
	Record(done, report);
}

bool
ChangeRun::Run(std::vector<UserChange> changes, UsersReport &report)
{
	progress_ = std::make_unique<Progress>("user changes", changes.size(), "users");
	for (auto &change : changes)
		sends_.Push(std::move(change));
	const auto max_wait = std::chrono::milliseconds(200);
	while (!failed_ && !Interrupted()) {
		std::deque<UserChange> ready = sends_.TakeReady(Clock::now(), in_flight_.size());
		Send(ready);
		if (in_flight_.empty() && sends_.Empty()) {
			if (deferred_.empty())
				break;
			for (auto &change : deferred_)
				sends_.Push(std::move(change));
			deferred_.clear();
			continue;
		}
		if (in_flight_.empty()) {
			std::this_thread::sleep_until(std::min(sends_.NextWake().value_or(Clock::now()), Clock::now() + max_wait));
			continue;
		}
		Collect(max_wait, report, true);
	}
	/* a failure or a signal stops new requests; the ones in flight still finish and are recorded */
	while (!in_flight_.empty())
		Collect(max_wait, report, false);
	progress_->Finish();
	return !failed_;
}

} // namespace

bool
ApplyUserChanges(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
				 std::vector<UserChange> changes, UsersReport &report)
{
	if (changes.empty())
		return true;
	ChangeRun run(target, stack, options);
	return run.Run(std::move(changes), report);
}

bool
SyncMappedUsers(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
				const SyncTriage &triage, const std::map<std::string, MappedUser> &pairs, UsersReport &report)
{
	if (!triage.newly_removed.empty()) {
		std::vector<std::optional<std::string>> ids(triage.newly_removed.begin(), triage.newly_removed.end());
		target.Exec("SELECT migrate_user_removed(u.s) FROM pg_catalog.unnest($1::uuid[]) AS u(s)",
					{pg::ArrayLiteral(ids)});
	}
	if (!triage.refreshed.empty()) {
		/* what their plans are made from now, so that the next sync does not plan them again */
		std::vector<std::optional<std::string>> ids, sent, rows;
		for (const PlannedUser *user : triage.refreshed) {
			ids.emplace_back(user->source_id);
			sent.emplace_back(pairs.at(user->source_id).sent_digest);
			rows.emplace_back(user->source_digest);
		}
		target.Exec(kRecordUpdated, {pg::ArrayLiteral(ids), pg::ArrayLiteral(sent), pg::ArrayLiteral(rows)});
	}
	std::vector<UserChange> changes;
	if (options.delete_removed) {
		for (const auto &source_id : triage.removed) {
			UserChange change;
			change.kind = UserChange::Kind::Delete;
			change.source_id = source_id;
			change.target_id = pairs.at(source_id).target_id;
			change.who = source_id + " (deleted in Supabase)";
			changes.push_back(std::move(change));
		}
	}
	for (const PlannedUser *user : triage.to_update) {
		UserChange change;
		change.source_id = user->source_id;
		change.target_id = pairs.at(user->source_id).target_id;
		change.body = PatchBody(user->body);
		change.digest = PatchableDigest(user->body);
		change.source_digest = user->source_digest;
		change.who = user->source_id + (user->email ? " <" + *user->email + ">" : "");
		changes.push_back(std::move(change));
	}
	if (!changes.empty())
		Out().Info(Thousands(triage.to_update.size()) + " users to update and " +
				   Thousands(changes.size() - triage.to_update.size()) + " to delete in Stack Auth at " +
				   stack.api_url);
	return ApplyUserChanges(target, stack, options, std::move(changes), report);
}

} // namespace cutover
