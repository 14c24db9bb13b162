/*
 * stack_directory.hpp: every user of the Stack Auth project, listed page by page and indexed by Supabase user ID
 * (server_metadata.supabase_user_id) and by email: what `cutover users` looks an unsure user up in before it
 * sends anything for it again (user_migration.cpp).
 */
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "retry.hpp"
#include "stack_auth.hpp"
#include "stack_json.hpp"

namespace cutover {

/* Every user of the Stack Auth project, indexed for adoption. */
struct StackDirectory {
	std::map<std::string, StackUser> by_supabase_id;
	std::map<std::string, std::string> duplicates; /* Supabase user ID -> a second Stack Auth user ID */
	std::multimap<std::string, StackUser> by_email;
	std::size_t users = 0;
};

/*
 * Lists every user (include_anonymous: restricted and anonymous ones too), `page_size` at a time, each page
 * retried as `policy` says (a garbled page is asked for again: a listing changes nothing). Throws
 * InterruptedError at a signal, std::runtime_error when a page cannot be had.
 */
StackDirectory ListEveryUser(const StackAuthSettings &stack, int page_size, const retry::RetryPolicy &policy,
							 retry::UnitRandom &random);

} // namespace cutover
