/*
 * users.cpp: `cutover users`, every Supabase Auth user created in Stack Auth exactly once.
 *
 * The users and their identities are read from the source and planned (supabase_user.hpp: one request body
 * per user, the special kinds noted). Users the ID map already holds are done. The rest go out with up to
 * --concurrency requests in flight, under the crash-safety protocol of the extension's user journal:
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
#include "users.hpp"

#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <thread>

#include "retry.hpp"
#include "http.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "stack_auth.hpp"
#include "stack_json.hpp"
#include "supabase_user.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using retry::RetryAction;

json
ParseJsonColumn(const std::optional<std::string> &text)
{
	if (!text)
		return json();
	return json::parse(*text, nullptr, false);
}

/* The columns of auth.users this client reads; older Supabase schemas lack some, which read as NULL. */
std::string
UsersQuery(const pg::Connection &source)
{
	pg::Result columns = source.Exec("SELECT column_name::text FROM information_schema.columns "
									 "WHERE table_schema = 'auth' AND table_name = 'users'");
	std::set<std::string> present;
	for (int row = 0; row < columns.Rows(); row++)
		present.insert(columns.Text(row, 0));
	if (present.empty())
		throw pg::Error("42P01", "on the source: table auth.users does not exist or cannot be read", "",
						"Connect to the Supabase database as a role that can read the auth schema (postgres).");
	auto column = [&](const std::string &name, const std::string &fallback) {
		return present.count(name) != 0 ? "u." + name + (fallback == "NULL" ? "::text" : "") : fallback;
	};
	return "SELECT u.id::text, u.email::text, u.encrypted_password::text, " + column("email_confirmed_at", "NULL") +
		   ", u.phone::text, " + column("phone_confirmed_at", "NULL") +
		   ", u.raw_user_meta_data::text, u.raw_app_meta_data::text, u.created_at::text, u.last_sign_in_at::text, " +
		   column("banned_until", "NULL") + ", " + column("deleted_at", "NULL") + ", " +
		   column("is_sso_user", "false") + ", " + column("is_anonymous", "false") +
		   " FROM auth.users AS u ORDER BY u.id";
}

struct SourceUsers {
	std::vector<SupabaseUser> users;
	std::map<std::string, std::vector<SupabaseIdentity>> identities; /* by user ID */
};

SourceUsers
ReadSourceUsers(const pg::Connection &source)
{
	SourceUsers out;
	/* one snapshot for both tables */
	source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	/* auth.users has row-level security: a role it applies to must get an error, not zero users */
	source.Exec("SET LOCAL row_security = off");
	std::optional<pg::Result> read;
	try {
		read.emplace(source.Exec(UsersQuery(source)));
	} catch (const pg::Error &error) {
		if (error.sqlstate() != "42501")
			throw;
		throw pg::Error(error.sqlstate(), error.what(), error.detail(),
						"Connect to the source (CUTOVER_SOURCE_URL) as a role that may read auth.users whole: "
						"Supabase's postgres, or a role with BYPASSRLS and SELECT on the auth schema.");
	}
	const pg::Result &users = *read;
	for (int row = 0; row < users.Rows(); row++) {
		SupabaseUser user;
		user.id = users.Text(row, 0);
		user.email = users.Optional(row, 1);
		user.encrypted_password = users.Optional(row, 2);
		user.email_confirmed_at = users.Optional(row, 3);
		user.phone = users.Optional(row, 4);
		user.phone_confirmed_at = users.Optional(row, 5);
		user.raw_user_meta_data = ParseJsonColumn(users.Optional(row, 6));
		user.raw_app_meta_data = ParseJsonColumn(users.Optional(row, 7));
		user.created_at = users.Optional(row, 8);
		user.last_sign_in_at = users.Optional(row, 9);
		user.banned_until = users.Optional(row, 10);
		user.deleted_at = users.Optional(row, 11);
		user.is_sso_user = users.Bool(row, 12);
		user.is_anonymous = users.Bool(row, 13);
		out.users.push_back(std::move(user));
	}
	/* before 2023 the provider's subject was the text column id, now provider_id */
	bool has_provider_id = source
							   .Exec("SELECT 1 FROM information_schema.columns WHERE table_schema = 'auth' "
									 "AND table_name = 'identities' AND column_name = 'provider_id'")
							   .Rows() > 0;
	pg::Result identities = source.Exec(
		std::string("SELECT i.user_id::text, i.provider, ") + (has_provider_id ? "i.provider_id" : "i.id::text") +
		", i.identity_data::text, i.identity_data->>'email' FROM auth.identities AS i "
		"ORDER BY i.user_id, i.last_sign_in_at DESC NULLS LAST, i.created_at DESC NULLS LAST");
	for (int row = 0; row < identities.Rows(); row++) {
		SupabaseIdentity identity;
		identity.provider = identities.Text(row, 1);
		identity.provider_id = identities.Text(row, 2);
		identity.identity_data = ParseJsonColumn(identities.Optional(row, 3));
		identity.email = identities.Optional(row, 4);
		out.identities[identities.Text(row, 0)].push_back(std::move(identity));
	}
	source.Exec("COMMIT");
	return out;
}

/* One user on its way to Stack Auth. */
struct Job {
	PlannedUser *user = nullptr;
	int attempt = 0;			/* requests sent so far */
	bool email_refused = false; /* the last answer was 409 USER_EMAIL_ALREADY_EXISTS */
	bool has_token = false;		/* parked by the rate limiter with a token already taken */
	/* when its outcome became unknown, and how long Stack Auth may still take to act on that request */
	Clock::time_point unsure_since{};
	Clock::duration settle{};
	std::string last_problem; /* what the last attempt met, for errors */
};

/* Every user of the Stack Auth project, indexed for adoption. */
struct StackDirectory {
	std::map<std::string, StackUser> by_supabase_id;
	std::map<std::string, std::string> duplicates; /* Supabase user ID -> a second Stack Auth user ID */
	std::multimap<std::string, StackUser> by_email;
	std::size_t users = 0;
};

class UserMigration
{
  public:
	UserMigration(const pg::Connection &target, const StackAuthSettings &stack, const UsersOptions &options,
				  std::set<std::string> taken)
		: target_(target), stack_(stack), options_(options), taken_(std::move(taken)), pool_(options.concurrency),
		  limiter_(options.rate, std::max(1.0, options.rate)), random_(retry::DefaultUnitRandom())
	{
	}

	/* Sends every job; returns false after a failure (already reported). */
	bool Run(std::vector<Job> jobs, std::vector<Job> unsure, UsersReport &report);

  private:
	void Reconcile(std::vector<Job> &unsure, std::deque<Job> &queue, UsersReport &report);
	StackDirectory ListEveryUser();
	void Record(Job &job, const StackUser &created, bool adopted, UsersReport &report, const std::string &how);
	void Fail(Job &job, const std::string &problem, UsersReport &report);
	void SendBatch(std::deque<Job> &ready);
	/* The job of a finished request, taken out of in_flight_; nothing for a tag that is not ours. */
	std::optional<Job> TakeJob(std::uint64_t tag);
	enum class Created { No, Recorded, Unreadable };
	/* A 201 recorded at once; a 201 whose body cannot be read is Unreadable, with job.last_problem saying why. */
	Created RecordCreated(Job &job, const HttpResponse &response, UsersReport &report);

	const pg::Connection &target_;
	const StackAuthSettings &stack_;
	const UsersOptions &options_;
	std::set<std::string> taken_; /* Stack Auth user IDs the ID map holds: never adopted for another user */
	HttpPool pool_;
	retry::RateLimiter limiter_;
	retry::UnitRandom random_;
	std::map<std::uint64_t, Job> in_flight_;
	std::uint64_t next_tag_ = 1;
	bool failed_ = false;
	std::unique_ptr<Progress> progress_;
};

void
UserMigration::Record(Job &job, const StackUser &created, bool adopted, UsersReport &report, const std::string &how)
{
	const PlannedUser &user = *job.user;
	std::string notes = Join(user.notes, "; ");
	if (!how.empty())
		notes = how + (notes.empty() ? "" : "; " + notes);
	try {
		target_.Exec("SELECT migrate_user_created($1::uuid, $2::uuid, $3, $4::boolean, $5)",
					 {user.source_id, created.id, user.email, adopted ? "true" : "false",
					  notes.empty() ? std::nullopt : std::optional<std::string>(notes)});
	} catch (const pg::Error &error) {
		Fail(job, std::string("recording Stack Auth user ") + created.id + " failed: " + error.what(), report);
		return;
	}
	taken_.insert(created.id);
	(adopted ? report.adopted : report.created)++;
	Out().Event(adopted ? "user adopted" : "user created",
				{{"source_id", user.source_id}, {"target_id", created.id}, {"attempts", job.attempt}});
	if (progress_)
		progress_->Add();
}

void
UserMigration::Fail(Job &job, const std::string &problem, UsersReport &report)
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

StackDirectory
UserMigration::ListEveryUser()
{
	StackDirectory directory;
	std::optional<std::string> cursor;
	HttpPool pool(1);
	for (;;) {
		if (Interrupted())
			throw InterruptedError("no new request was sent (Stack Auth's users were being listed)");
		UserPage page;
		for (int attempt = 1;; attempt++) {
			HttpResponse response = pool.Perform(ListUsersRequest(stack_, cursor, options_.page_size));
			retry::AttemptOutcome outcome{response.kind, response.status};
			std::string unreadable;
			if (response.kind == retry::OutcomeKind::Response && response.status == 200) {
				try {
					page = ParseUserPage(ParseBody(response.body));
					break;
				} catch (const ResponseError &error) {
					/* a garbled page, as from a proxy: a listing changes nothing, so it is asked for again */
					unreadable = error.what();
					outcome.status = 502;
				}
			}
			retry::Attempt tried{attempt, outcome, response.retry_after, true};
			auto decision = retry::DecideRetry(options_.policy, tried, std::chrono::system_clock::now(), random_);
			if (decision.action == RetryAction::Retry) {
				SleepUnlessInterrupted(std::chrono::duration_cast<std::chrono::milliseconds>(decision.delay));
				if (Interrupted())
					throw InterruptedError("no new request was sent (Stack Auth's users were being listed)");
				continue;
			}
			std::string problem = !unreadable.empty() ? unreadable
								  : response.kind == retry::OutcomeKind::Response
									  ? Describe(ParseError(response.status, response.content_type, response.body))
									  : response.network_error;
			throw std::runtime_error("listing the users of Stack Auth failed after " + std::to_string(attempt) +
									 " attempts: " + problem);
		}
		for (auto &user : page.items) {
			directory.users++;
			if (user.supabase_user_id && !directory.by_supabase_id.emplace(*user.supabase_user_id, user).second)
				directory.duplicates.emplace(*user.supabase_user_id, user.id);
			if (user.primary_email)
				directory.by_email.emplace(*user.primary_email, user);
		}
		if (!page.next_cursor || page.items.empty())
			break;
		cursor = page.next_cursor;
	}
	return directory;
}

void
UserMigration::Reconcile(std::vector<Job> &unsure, std::deque<Job> &queue, UsersReport &report)
{
	Out().Info("looking up " + Thousands(unsure.size()) +
			   " users whose create may have happened without an answer, before sending them again");
	StackDirectory directory = ListEveryUser();
	Out().Event("stack auth listed", {{"users", directory.users}, {"unsure", unsure.size()}});
	for (auto &job : unsure) {
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
		queue.push_back(job); /* not there: safe to send again */
	}
	unsure.clear();
}

std::optional<Job>
UserMigration::TakeJob(std::uint64_t tag)
{
	auto found = in_flight_.find(tag);
	if (found == in_flight_.end())
		return std::nullopt;
	Job job = found->second;
	in_flight_.erase(found);
	return job;
}

UserMigration::Created
UserMigration::RecordCreated(Job &job, const HttpResponse &response, UsersReport &report)
{
	if (response.kind != retry::OutcomeKind::Response || response.status != 201)
		return Created::No;
	try {
		Record(job, ParseUser(ParseBody(response.body)), false, report, "");
		return Created::Recorded;
	} catch (const ResponseError &error) {
		job.last_problem = error.what();
		return Created::Unreadable;
	}
}

void
UserMigration::SendBatch(std::deque<Job> &ready)
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
UserMigration::Run(std::vector<Job> jobs, std::vector<Job> unsure, UsersReport &report)
{
	std::deque<Job> queue;
	progress_ = std::make_unique<Progress>("users", jobs.size() + unsure.size(), "users");
	if (!unsure.empty())
		Reconcile(unsure, queue, report);
	for (auto &job : jobs)
		queue.push_back(job);

	using Timed = std::pair<Clock::time_point, std::uint64_t>;
	std::priority_queue<Timed, std::vector<Timed>, std::greater<Timed>> waiting; /* retries and rate limit */
	std::map<std::uint64_t, Job> parked;
	std::uint64_t next_park = 1;
	std::size_t rate_parked = 0; /* parked jobs holding a token: they count against the concurrency */
	int rounds = 0;

	while (!failed_ && !Interrupted()) {
		auto now = Clock::now();
		while (!waiting.empty() && waiting.top().first <= now) {
			Job job = parked.at(waiting.top().second);
			parked.erase(waiting.top().second);
			waiting.pop();
			if (job.has_token) {
				rate_parked--;
				queue.push_front(job); /* its token is taken: it goes first */
			} else {
				queue.push_back(job);
			}
		}
		/* keep the pool busy, journalling each batch first; at most `concurrency` tokens taken ahead */
		std::deque<Job> ready;
		while (!queue.empty() &&
			   in_flight_.size() + ready.size() + rate_parked < static_cast<std::size_t>(options_.concurrency)) {
			Job job = queue.front();
			queue.pop_front();
			auto wait = job.has_token ? Clock::duration::zero() : limiter_.Acquire(now);
			job.has_token = false;
			if (wait > Clock::duration::zero()) {
				job.has_token = true;
				rate_parked++;
				std::uint64_t key = next_park++;
				parked.emplace(key, job);
				waiting.emplace(now + wait, key);
			} else {
				ready.push_back(job);
			}
		}
		SendBatch(ready);

		if (in_flight_.empty() && queue.empty() && waiting.empty()) {
			if (unsure.empty())
				break;
			/* a request whose answer was lost may still be at work in Stack Auth: the lookup waits for it */
			Clock::time_point settled{};
			for (const auto &job : unsure)
				settled = std::max(settled, job.unsure_since + job.settle);
			if (Clock::now() < settled) {
				std::this_thread::sleep_until(std::min(settled, Clock::now() + std::chrono::milliseconds(200)));
				continue;
			}
			if (++rounds > options_.policy.max_attempts) {
				for (auto &job : unsure)
					Fail(job, "still unsure after " + std::to_string(rounds) + " lookups", report);
				break;
			}
			Reconcile(unsure, queue, report);
			continue;
		}
		auto max_wait = std::chrono::milliseconds(200);
		if (in_flight_.empty() && !waiting.empty()) {
			std::this_thread::sleep_until(std::min(waiting.top().first, Clock::now() + max_wait));
			continue;
		}
		for (auto &[tag, response] : pool_.Collect(max_wait)) {
			std::optional<Job> taken = TakeJob(tag);
			if (!taken)
				continue;
			Job &job = *taken;
			const PlannedUser &user = *job.user;
			Created created = RecordCreated(job, response, report);
			if (created == Created::Unreadable)
				unsure.push_back(job); /* created, but the answer cannot be read: found like a lost answer */
			if (created != Created::No)
				continue;
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
				unsure.push_back(job);
				continue;
			}
			retry::Attempt tried{job.attempt, {response.kind, response.status}, response.retry_after, false};
			auto decision = retry::DecideRetry(options_.policy, tried, std::chrono::system_clock::now(), random_);
			switch (decision.action) {
			case RetryAction::Retry: {
				report.retries++;
				std::uint64_t key = next_park++;
				parked.emplace(key, job);
				waiting.emplace(Clock::now() + decision.delay, key);
				break;
			}
			case RetryAction::Reconcile:
				report.retries++;
				unsure.push_back(job);
				break;
			case RetryAction::Done:
			case RetryAction::Fail:
				Fail(job, job.last_problem, report);
				break;
			}
		}
	}
	/* a failure or a signal stops new requests; the ones in flight still finish and are recorded */
	while (!in_flight_.empty()) {
		/* an unreadable 201 stays 'sending' in the journal: the next run looks it up */
		for (auto &[tag, response] : pool_.Collect(std::chrono::milliseconds(200)))
			if (std::optional<Job> job = TakeJob(tag))
				RecordCreated(*job, response, report);
	}
	progress_->Finish();
	return !failed_;
}

/*
 * The counts; the users that need a word counted by kind, with a line each only for those new in this run
 * (or every one with -v); all of them go to --report FILE and --json.
 */
std::string
ReportTable(const UsersReport &report, const std::string &report_file)
{
	std::ostringstream out;
	out << "users in Supabase:  " << Thousands(report.total) << "\n"
		<< "  already mapped:   " << Thousands(report.already_mapped) << "\n"
		<< "  created:          " << Thousands(report.created) << "\n"
		<< "  adopted:          " << Thousands(report.adopted) << "\n"
		<< "  skipped:          " << Thousands(report.skipped) << "\n"
		<< "  failed:           " << Thousands(report.failed) << "\n"
		<< "  retried requests: " << Thousands(report.retries) << "\n";
	if (!report.lines.empty()) {
		std::map<std::string, std::uint64_t> kinds;
		std::uint64_t fresh = 0;
		for (const auto &line : report.lines) {
			kinds[line.at("kind").get<std::string>() + ", " + line.at("status").get<std::string>()]++;
			fresh += line.at("new").get<bool>() ? 1 : 0;
		}
		out << "\nusers that need a word: " << Thousands(report.lines.size()) << "\n";
		for (const auto &[kind, count] : kinds)
			out << "  " << kind << ": " << Thousands(count) << "\n";
		bool every = Out().verbose();
		if (every || fresh > 0)
			out << (every ? "each of them:\n" : "new in this run:\n");
		for (const auto &line : report.lines)
			if (every || line.at("new").get<bool>())
				out << "  " << line.at("source_id").get<std::string>() << "  " << line.at("kind").get<std::string>()
					<< "  " << line.at("status").get<std::string>() << ": " << line.at("notes").get<std::string>()
					<< "\n";
		out << (report_file.empty() ? "(each user's line: --report FILE, -v or --json)\n"
									: "(each user's line is in " + report_file + ")\n");
	}
	for (const auto &error : report.errors)
		out << "\nerror: " << error << "\n";
	return out.str();
}

/*
 * A line is new when its user was neither mapped nor journalled as it is now before this run (in a dry run,
 * a user "to create" that the journal holds already was reported by the run that journalled it).
 */
void
MarkNew(UsersReport &report, const std::map<std::string, std::string> &journal, const std::set<std::string> &mapped,
		bool dry_run)
{
	for (auto &line : report.lines) {
		std::string id = line.at("source_id").get<std::string>();
		auto before = journal.find(id);
		bool journalled = before != journal.end() && (before->second == line.at("status") || dry_run);
		line["new"] = mapped.count(id) == 0 && !journalled;
	}
}

/* --report FILE: one JSON object a line, every user that needs a word. A write that fails is a warning: the
 * users are created and mapped, and the terminal has the counts. */
void
WriteReport(std::ofstream &file, const std::string &path, const UsersReport &report)
{
	if (!file.is_open())
		return;
	for (const auto &line : report.lines)
		file << Out().Redact(line.dump()) << "\n";
	file.flush();
	if (!file)
		Out().Warn("could not write every line of the report file " + path + " (a full disk?): --json has them too");
}

json
ReportJson(const UsersReport &report)
{
	return {{"total", report.total},
			{"already_mapped", report.already_mapped},
			{"created", report.created},
			{"adopted", report.adopted},
			{"skipped", report.skipped},
			{"failed", report.failed},
			{"retried_requests", report.retries},
			{"users", report.lines},
			{"errors", report.errors}};
}

} // namespace

int
RunUsers(const pg::Connection &source, pg::Connection &target, const UsersOptions &options)
{
	UsersReport report;
	target.KeepOnInterrupt(); /* the journal's writes land; the loop stops at a signal by itself */
	SourceUsers source_users = ReadSourceUsers(source);
	report.total = source_users.users.size();

	std::set<std::string> mapped, taken;
	pg::Result map = target.Exec("SELECT source_id::text, target_id::text FROM cutover.id_map");
	for (int row = 0; row < map.Rows(); row++) {
		mapped.insert(map.Text(row, 0));
		taken.insert(map.Text(row, 1));
	}
	std::map<std::string, std::string> journal;
	pg::Result rows = target.Exec("SELECT source_id::text, status FROM migrate_users()");
	for (int row = 0; row < rows.Rows(); row++)
		journal.emplace(rows.Text(row, 0), rows.Text(row, 1));

	/*
	 * A bad Stack Auth setting stops the run before anything is written, a dry run too (exit 2, or 3 when Stack
	 * Auth cannot be reached): the rehearsal proves the settings the window will use.
	 */
	std::optional<StackAuthSettings> stack = StackAuthSettings::FromEnvironment();
	if (!options.stack_auth_checked)
		CheckStackAuth(*stack);
	/* then the report file: a path that cannot be written stops the run before anything is sent */
	std::ofstream report_file;
	if (!options.report_file.empty()) {
		report_file.open(options.report_file, std::ios::trunc);
		if (!report_file)
			throw std::invalid_argument("cutover users: cannot write the report file " + options.report_file);
	}

	/* every user planned, so that the email collisions are settled the same way on every run */
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

	std::vector<Job> jobs, unsure;
	for (auto &user : planned) {
		std::string status;
		if (mapped.count(user.source_id) != 0) {
			report.already_mapped++;
			status = "already mapped";
		} else if (user.error) {
			report.skipped++;
			status = "skipped";
			if (!options.dry_run)
				target.Exec("SELECT migrate_user_not_created($1::uuid, 'skipped', $2, $3, $4)",
							{user.source_id, *user.error, user.email, std::string(UserKindName(user.kind))});
		} else {
			auto entry = journal.find(user.source_id);
			/* journalled but not in the map (sending, failed, or a pair removed since): maybe in Stack Auth */
			bool maybe_sent = entry != journal.end() && entry->second != "skipped";
			Job job;
			job.user = &user;
			if (maybe_sent) {
				job.attempt = 1;
				job.last_problem = "sent by an earlier run, answer unknown";
			}
			(maybe_sent ? unsure : jobs).push_back(job);
			status = "to create";
		}
		if (!user.notes.empty() || user.error || user.kind != UserKind::Regular)
			report.lines.push_back({{"source_id", user.source_id},
									{"kind", UserKindName(user.kind)},
									{"status", status},
									{"notes", user.error ? *user.error : Join(user.notes, "; ")},
									{"new", false}});
	}

	if (options.dry_run) {
		Out().Info("dry run: " + Thousands(jobs.size() + unsure.size()) + " users would be sent to Stack Auth");
		MarkNew(report, journal, mapped, true);
		Out().Result(ReportJson(report), ReportTable(report, options.report_file));
		WriteReport(report_file, options.report_file, report);
		return 0;
	}
	Out().Info(Thousands(report.total) + " Supabase users: " + Thousands(report.already_mapped) + " already mapped, " +
			   Thousands(jobs.size() + unsure.size()) + " to create in Stack Auth at " + stack->api_url);
	UserMigration migration(target, *stack, options, std::move(taken));
	bool ok = migration.Run(std::move(jobs), std::move(unsure), report);
	/* each report line with what became of its user, as the journal has it now */
	std::map<std::string, std::string> outcome;
	pg::Result outcomes = target.Exec("SELECT source_id::text, status FROM migrate_users()");
	for (int row = 0; row < outcomes.Rows(); row++)
		outcome.emplace(outcomes.Text(row, 0), outcomes.Text(row, 1));
	for (auto &line : report.lines) {
		auto found = outcome.find(line.at("source_id").get<std::string>());
		if (found != outcome.end() && line.at("status") != "already mapped")
			line["status"] = found->second;
	}
	MarkNew(report, journal, mapped, false);
	Out().Result(ReportJson(report), ReportTable(report, options.report_file));
	WriteReport(report_file, options.report_file, report);
	if (Interrupted())
		throw InterruptedError("no new request was sent; " + Thousands(report.created + report.adopted) +
							   " users created or adopted in this run are mapped, the requests in flight were "
							   "journalled");
	return ok ? 0 : 1;
}

} // namespace cutover
