/*
 * email_collisions.cpp: emails Supabase holds apart and Stack Auth would take for one (equal after lowercasing
 * and trimming): one user keeps email sign-in, the others keep the email without it (ResolveEmailCollisions
 * of supabase_user.hpp).
 */
#include "supabase_user.hpp"

#include <algorithm>
#include <map>

#include "text.hpp"

namespace cutover {

namespace {

/* Sort key of ResolveEmailCollisions: the winner sorts first. */
bool
KeepsSignInBefore(const PlannedUser &a, const PlannedUser &b)
{
	if (a.last_sign_in_at_us != b.last_sign_in_at_us) {
		if (!a.last_sign_in_at_us || !b.last_sign_in_at_us)
			return a.last_sign_in_at_us.has_value();
		return *a.last_sign_in_at_us > *b.last_sign_in_at_us;
	}
	if (a.created_at_us != b.created_at_us) {
		if (!a.created_at_us || !b.created_at_us)
			return a.created_at_us.has_value();
		return *a.created_at_us < *b.created_at_us;
	}
	return AsciiLower(a.source_id) < AsciiLower(b.source_id);
}

} // namespace

void
ResolveEmailCollisions(std::vector<PlannedUser> &users)
{
	std::map<std::string, std::vector<PlannedUser *>> by_email;
	for (auto &user : users) {
		if (user.error || !user.email || !user.body.is_object() ||
			!user.body.value("primary_email_auth_enabled", false))
			continue;
		by_email[NormalizeEmail(*user.email)].push_back(&user);
	}
	for (auto &[email, group] : by_email) {
		if (group.size() < 2)
			continue;
		std::sort(group.begin(), group.end(),
				  [](const PlannedUser *a, const PlannedUser *b) { return KeepsSignInBefore(*a, *b); });
		const std::string &winner = group.front()->source_id;
		for (std::size_t i = 1; i < group.size(); i++) {
			PlannedUser &loser = *group[i];
			loser.body["primary_email_auth_enabled"] = false;
			loser.body["server_metadata"]["supabase_email_shared_with"] = winner;
			loser.notes.push_back("email " + email + " is shared (after lowercasing) with Supabase user " + winner +
								  ", which keeps email sign-in: this user keeps the email without sign-in");
		}
	}
}

} // namespace cutover
