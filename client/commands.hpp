/*
 * commands.hpp: the subcommands of cutover that drive the extension (commands.cpp, pull_command.cpp,
 * verify_command.cpp) and the settings they share. Each returns the process's exit code (see ExitCode).
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg.hpp"
#include "users.hpp"

namespace cutover {

/* Exit codes, documented in `cutover --help` and client/README.md. */
enum ExitCode {
	kExitOk = 0,		   /* the step did all it had to */
	kExitProblem = 1,	   /* the step ran and found a problem: a table not ok, a user not created, a bad key */
	kExitUsage = 2,		   /* bad flags or settings: nothing was done */
	kExitUnreachable = 3,  /* a database or Stack Auth could not be reached */
	kExitInterrupted = 130 /* stopped by Ctrl-C: what was done is kept; run the same command again */
};

struct Settings {
	std::string target; /* conninfo or URI of the target; "" = PG* environment variables */
	std::string source; /* conninfo or URI of the source (CUTOVER_SOURCE_URL) */
	std::vector<std::string> schemas = {"public"};
	bool dry_run = false;
	/* with --jobs above 1, a table this large on the source is pulled and verified in key ranges, --jobs of
	 * them at once: its bytes or its estimated rows, whichever comes first (0: never by that measure) */
	std::int64_t split_bytes = 256LL << 20;
	std::int64_t split_rows = 1000000;
};

pg::Connection ConnectTarget(const Settings &settings);
pg::Connection ConnectSource(const Settings &settings);
/* The extension reads the source the target stores; a source named here (--source) must be that one. */
void CheckNamedSource(const pg::Connection &target, const Settings &settings);

int RunInit(const Settings &settings);
int RunPlan(const Settings &settings);
/* `cutover users` (users.hpp) with the target's extension checked and the source proven the stored one. */
int RunUsersCommand(const Settings &settings, const UsersOptions &users);
int RunPull(const Settings &settings, int jobs, bool snapshot);
/* `cutover verify` (verify_command.cpp): every planned table verified, `jobs` at a time. */
int RunVerify(const Settings &settings, int jobs);
/* `cutover diff`: migrate_diff of one table (`whole_table`: every row, not only the key ranges that differed). */
int RunDiff(const Settings &settings, const std::string &table, long long max_rows, bool whole_table);
int RunStatus(const Settings &settings);
/* migrate_reset of each table, in one transaction: the table and every table whose foreign keys lead to it
 * back to pending, to be pulled again. With --dry-run, says which and changes nothing. */
int RunReset(const Settings &settings, const std::vector<std::string> &tables);
/* init (when a source is given), users, plan, pull, verify: stops at the first step that fails. */
int RunAll(const Settings &settings, const UsersOptions &users, int jobs);

} // namespace cutover
