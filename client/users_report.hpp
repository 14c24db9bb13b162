/*
 * users_report.hpp: what `cutover users` says at the end (users_report.cpp): the counts, the users that need
 * a word (special kinds, notes, skipped, failed) by kind and status, the terminal lines, --json and the
 * --report file.
 */
#pragma once

#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "supabase_user.hpp"
#include "user_sync.hpp"
#include "users.hpp"

namespace cutover {

/* A user's report line with the status it has now; `new` is set by ShowReport. */
nlohmann::json ReportLine(const PlannedUser &user, const std::string &status);

/*
 * The sync's counts in `report`, and with --sync a line each for the mapped users that need a word: OAuth
 * accounts changed, a plan that cannot be sent any more, deleted in Supabase. Such lines carry target_id.
 */
void AddSyncLines(const SyncTriage &triage, const std::map<std::string, MappedUser> &pairs, const UsersOptions &options,
				  UsersReport &report);

/* Each line's status as the journal (source ID -> status) has it after the run; already mapped ones stay so. */
void UpdateStatuses(UsersReport &report, const std::map<std::string, std::string> &journal);

/*
 * The report on the terminal (or --json) and in --report FILE (`file`, open when `path` is set). `journal`
 * and `mapped` are the target's before this run: they say which lines are new.
 */
void ShowReport(UsersReport &report, const std::map<std::string, std::string> &journal,
				const std::map<std::string, MappedUser> &mapped, bool dry_run, const std::string &path,
				std::ofstream &file);

} // namespace cutover
