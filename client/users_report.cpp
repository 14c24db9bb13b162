/*
 * users_report.cpp: the report of `cutover users`: the counts, the users that need a word counted by kind and
 * status, a line each for the new ones (every one with -v), the --json document and the --report file.
 */
#include "users_report.hpp"

#include <cstdint>
#include <sstream>

#include "output.hpp"
#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

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
	if (report.sync || report.to_update > 0 || report.removed > 0)
		out << "  changed in Supabase since sent: " << Thousands(report.to_update)
			<< (report.sync ? ", updated: " + Thousands(report.updated) : " (--sync updates them)") << "\n"
			<< "  deleted in Supabase since sent: " << Thousands(report.removed)
			<< (report.sync ? ", deleted from Stack Auth: " + Thousands(report.deleted) : "") << "\n"
			<< "  OAuth accounts changed:         " << Thousands(report.identities_changed) << "\n";
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
MarkNew(UsersReport &report, const std::map<std::string, std::string> &journal,
		const std::map<std::string, MappedUser> &mapped, bool dry_run)
{
	for (auto &line : report.lines) {
		if (line.contains("target_id"))
			continue; /* a mapped user's sync line: said every time, the situation lasts */
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
			{"to_update", report.to_update},
			{"updated", report.updated},
			{"removed", report.removed},
			{"deleted", report.deleted},
			{"identities_changed", report.identities_changed},
			{"users", report.lines},
			{"errors", report.errors}};
}

} // namespace

json
ReportLine(const PlannedUser &user, const std::string &status)
{
	return {{"source_id", user.source_id},
			{"kind", UserKindName(user.kind)},
			{"status", status},
			{"notes", user.error ? *user.error : Join(user.notes, "; ")},
			{"new", false}};
}

void
AddSyncLines(const SyncTriage &triage, const std::map<std::string, MappedUser> &pairs, const UsersOptions &options,
			 UsersReport &report)
{
	report.to_update = triage.to_update.size();
	report.removed = triage.removed.size();
	report.identities_changed = triage.identities_changed.size();
	if (!options.sync)
		return; /* counted for the hint; named by the sync */
	auto line = [&](const std::string &source_id, const char *kind, const char *status, const std::string &notes) {
		report.lines.push_back({{"source_id", source_id},
								{"kind", kind},
								{"status", status},
								{"notes", notes},
								{"target_id", pairs.at(source_id).target_id},
								{"new", true}});
	};
	for (const PlannedUser *user : triage.identities_changed)
		line(user->source_id, UserKindName(user->kind), "oauth accounts changed",
			 "OAuth accounts were added or removed in Supabase since the user was created; Stack Auth takes them "
			 "only on create: link or unlink them in Stack Auth");
	for (const PlannedUser *user : triage.unplannable)
		line(user->source_id, UserKindName(user->kind), "not updated", user->error.value_or(""));
	for (const auto &source_id : triage.removed)
		line(source_id, "removed", options.delete_removed ? "deleted in Supabase, to delete" : "deleted in Supabase",
			 options.delete_removed ? "its Stack Auth user is deleted; the ID-map pair stays, marked removed"
									: "its Stack Auth user stays (--delete-removed deletes it); the ID-map pair is "
									  "marked removed");
}

void
UpdateStatuses(UsersReport &report, const std::map<std::string, std::string> &journal)
{
	for (auto &line : report.lines) {
		auto found = journal.find(line.at("source_id").get<std::string>());
		if (found != journal.end() && line.at("status") != "already mapped" && !line.contains("target_id"))
			line["status"] = found->second;
	}
}

void
ShowReport(UsersReport &report, const std::map<std::string, std::string> &journal,
		   const std::map<std::string, MappedUser> &mapped, bool dry_run, const std::string &path, std::ofstream &file)
{
	MarkNew(report, journal, mapped, dry_run);
	Out().Result(ReportJson(report), ReportTable(report, path));
	WriteReport(file, path, report);
}

} // namespace cutover
