/*
 * auth_users.hpp: the Supabase Auth users and their identities, read from the source's auth.users and
 * auth.identities in one snapshot (auth_users.cpp), for `cutover users` to plan.
 *
 * Every user first as its ID and a digest the source computes of what a plan is made from: the columns read
 * here, whether a ban is still on, its identities, and the same of every user sharing its email (lowercased
 * and trimmed: the email collisions settle a user's plan with the others'). A sync reads in full only the users
 * whose digest is not the one their plan was last sent from: time in proportion to what changed.
 */
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pg.hpp"
#include "supabase_user.hpp"

namespace cutover {

struct SourceUsers {
	std::map<std::string, std::string> digests; /* every user's ID -> its digest ("" before PostgreSQL 14) */
	std::vector<SupabaseUser> users;			/* the users read in full, by ID */
	std::map<std::string, std::vector<SupabaseIdentity>> identities; /* theirs, by user ID */
};

/*
 * Which users to read in full, given every user's digest: std::nullopt for every one of them, else their IDs
 * (called inside the snapshot, between the two reads).
 */
using UserSelection = std::function<std::optional<std::set<std::string>>(const std::map<std::string, std::string> &)>;

/*
 * Every user's digest, then the rows of auth.users `select` names and of every user sharing an email with one of
 * them, by ID, each with its identities most recently used first.
 */
SourceUsers ReadSourceUsers(const pg::Connection &source, const UserSelection &select);

} // namespace cutover
