/*
 * users.hpp: `cutover users`, the Supabase Auth users created in Stack Auth exactly once, and with --sync the
 * ones created earlier brought up to date (users.cpp).
 */
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "retry.hpp"
#include "pg.hpp"

namespace cutover {

struct UsersOptions {
	int concurrency = 48;		 /* requests in flight */
	double rate = 0;			 /* requests per second at most; 0 = no limit */
	int page_size = 500;		 /* users per page when listing Stack Auth */
	bool dry_run = false;		 /* plan and report, send nothing, write nothing */
	bool sync = false;			 /* --sync: mapped users changed since sent are PATCHed, removed ones reported */
	bool delete_removed = false; /* --delete-removed: with --sync, users deleted in Supabase deleted in Stack Auth */
	bool password_sign_in = true;
	bool stack_auth_checked = false; /* the caller proved the Stack Auth settings already (cutover run) */
	std::string report_file;		 /* --report: every user that needs a word, one JSON object a line */
	std::set<std::string> oauth_providers = {"google", "github", "microsoft"};
	retry::RetryPolicy policy;
};

struct UsersReport {
	std::uint64_t total = 0;
	std::uint64_t already_mapped = 0;
	std::uint64_t created = 0;
	std::uint64_t adopted = 0;
	std::uint64_t skipped = 0;
	std::uint64_t failed = 0;
	std::uint64_t retries = 0;
	/* --sync (counted without it too, for the hint) */
	bool sync = false;
	std::uint64_t to_update = 0;		  /* mapped users changed in Supabase since they were sent */
	std::uint64_t updated = 0;			  /* PATCHed in this run */
	std::uint64_t removed = 0;			  /* mapped users deleted in Supabase, still in Stack Auth */
	std::uint64_t deleted = 0;			  /* deleted from Stack Auth in this run */
	std::uint64_t identities_changed = 0; /* OAuth accounts added or removed since created: reported */
	/* one per user of a special kind, with a note, skipped or failed: source_id, kind, status, notes, and new
	 * (not mapped nor journalled so before this run) */
	std::vector<nlohmann::json> lines;
	std::vector<std::string> errors;
};

/*
 * Returns the exit code: 0 when every user is mapped or reported skipped, 1 after a failure. On Ctrl-C or
 * SIGTERM no new request is sent, the ones in flight finish and are journalled, and InterruptedError says
 * how far it got. `target` keeps its journal writes through a signal (pg::Connection::KeepOnInterrupt).
 */
int RunUsers(const pg::Connection &source, pg::Connection &target, const UsersOptions &options);

} // namespace cutover
