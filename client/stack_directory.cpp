/*
 * stack_directory.cpp: every user of the Stack Auth project, indexed (stack_directory.hpp).
 */
#include "stack_directory.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>

#include "http.hpp"
#include "interrupt.hpp"

namespace cutover {

namespace {

using retry::RetryAction;

/* What a signal while Stack Auth's users are listed says. */
constexpr const char *kListingInterrupted = "no new request was sent (Stack Auth's users were being listed)";

} // namespace

StackDirectory
ListEveryUser(const StackAuthSettings &stack, int page_size, const retry::RetryPolicy &policy,
			  retry::UnitRandom &random)
{
	StackDirectory directory;
	std::optional<std::string> cursor;
	HttpPool pool(1);
	for (;;) {
		if (Interrupted())
			throw InterruptedError(kListingInterrupted);
		UserPage page;
		for (int attempt = 1;; attempt++) {
			HttpResponse response = pool.Perform(ListUsersRequest(stack, cursor, page_size));
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
			auto decision = retry::DecideRetry(policy, tried, std::chrono::system_clock::now(), random);
			if (decision.action == RetryAction::Retry) {
				SleepUnlessInterrupted(std::chrono::duration_cast<std::chrono::milliseconds>(decision.delay));
				if (Interrupted())
					throw InterruptedError(kListingInterrupted);
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

} // namespace cutover
