/*
 * auth_users.hpp: the Supabase Auth users and their identities, read from the source's auth.users and
 * auth.identities in one snapshot (auth_users.cpp), for `cutover users` to plan.
 */
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pg.hpp"
#include "supabase_user.hpp"

namespace cutover {

struct SourceUsers {
	std::vector<SupabaseUser> users;
	std::map<std::string, std::vector<SupabaseIdentity>> identities; /* by user ID */
};

/* Every row of auth.users by ID, and each user's identities most recently used first. */
SourceUsers ReadSourceUsers(const pg::Connection &source);

} // namespace cutover
