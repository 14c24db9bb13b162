/*
 * documents.cpp: the fields of each command's --json document, and the check of a document against them.
 */
#include "documents.hpp"

#include <set>

namespace cutover {

namespace {

using nlohmann::json;

constexpr unsigned kText = kString;
constexpr unsigned kCount = kNumber;
constexpr bool kSometimes = false;

const std::vector<DocumentField> kPullTables = {
	{"tables", kArray, true, "one element per table pulled, in the order they finished"},
	{"tables[].table", kText, true, "the table, schema-qualified"},
	{"tables[].status", kText, true, "loaded, skipped (loaded before), or `would pull` with --dry-run"},
	{"tables[].rows", kCount, true, "rows loaded (with --dry-run: the planner's estimate)"},
	{"tables[].seconds", kNumber | kNull, true, "how long the pull took (null with --dry-run)"},
};

std::vector<DocumentField>
Concat(std::vector<DocumentField> first, const std::vector<DocumentField> &second)
{
	first.insert(first.end(), second.begin(), second.end());
	return first;
}

const std::vector<CommandDocument> kDocuments = {
	{"init",
	 {
		 {"extension_version", kText, true, "the pg_cutover extension's version in the target"},
		 {"source_server_version", kText, true, "the source's server_version"},
		 {"source", kText, true, "what migrate_source configured (with --dry-run: `not configured (dry run)`)"},
	 }},
	{"plan",
	 {
		 {"[].table_name", kText, true, "the table, schema-qualified; the document is an array of tables"},
		 {"[].level", kCount, true,
		  "its foreign-key level: tables of one level load side by side, after the level "
		  "before"},
		 {"[].row_estimate", kCount | kNull, true, "the source planner's row count (null: never analyzed)"},
		 {"[].user_id_columns", kArray, true, "`column -> why` for each column rewritten as user IDs (a key, a mark)"},
		 {"[].user_id_values", kArray, true,
		  "where a sample of the rows holds user IDs, by column and JSON path, with "
		  "the evidence"},
		 {"[].cycle", kArray, true, "the tables of a foreign-key cycle it is part of (empty: none)"},
		 {"[].load", kText, true, "when it loads (after the tables it references, or how a cycle is broken)"},
		 {"[].problem", kText | kNull, true, "why it cannot be pulled as it is (null: nothing); exit 1 when any"},
	 }},
	{"users",
	 {
		 {"total", kCount, true, "users in Supabase's auth.users"},
		 {"already_mapped", kCount, true, "in the ID map before this run"},
		 {"created", kCount, true, "created in Stack Auth by this run"},
		 {"adopted", kCount, true, "found in Stack Auth already (an earlier run's answer lost) and mapped"},
		 {"skipped", kCount, true, "not sent: Stack Auth could not take them (see users)"},
		 {"failed", kCount, true, "refused by Stack Auth or out of attempts; exit 1 when any"},
		 {"retried_requests", kCount, true, "requests sent again after a 429, a 5xx or a network error"},
		 {"to_update", kCount, true,
		  "mapped users whose data changed in Supabase since it was sent (and adopted ones, whose digest is unknown)"},
		 {"updated", kCount, true, "of those, updated in Stack Auth by this run (`--sync`)"},
		 {"removed", kCount, true, "mapped users deleted in Supabase whose Stack Auth user is still there"},
		 {"deleted", kCount, true, "deleted from Stack Auth by this run (`--sync --delete-removed`)"},
		 {"identities_changed", kCount, true,
		  "mapped users whose OAuth accounts changed in Supabase since they were created (reported only)"},
		 {"users", kArray, true, "every user that needs a word (also in --report FILE, one per line)"},
		 {"users[].source_id", kText, true, "the Supabase user ID"},
		 {"users[].kind", kText, true, "regular, phone_only, anonymous, banned, soft_deleted or sso"},
		 {"users[].status", kText, true, "what became of the user: already mapped, created, skipped, failed, ..."},
		 {"users[].notes", kText, true, "what to know: a password not carried over, an identity left out, ..."},
		 {"users[].new", kBoolean, true, "not reported so before this run (the terminal shows only these)"},
		 {"users[].target_id", kText, false,
		  "with `--sync`, on the lines of mapped users (OAuth accounts changed, deleted in Supabase): their Stack Auth "
		  "user"},
		 {"errors", kArray, true, "what stopped the run, as sentences"},
	 }},
	{"pull", Concat(kPullTables,
					{
						{"sequences", kArray, true, "sequences moved past the loaded rows (migrate_fix_sequences)"},
						{"sequences[].sequence_name", kText, true, "the sequence"},
						{"sequences[].table_name", kText, true, "the table that owns it"},
						{"sequences[].column_name", kText, true, "the column it feeds"},
						{"sequences[].next_value", kCount, true, "the value it gives next"},
						{"foreign_key_violations", kArray, true,
						 "foreign keys the loaded rows violate (migrate_check_fks); exit 1 when any"},
						{"foreign_key_violations[].table_name", kText, true, "the referencing table"},
						{"foreign_key_violations[].constraint_name", kText, true, "the foreign key"},
						{"foreign_key_violations[].ok", kBoolean, true, "false"},
						{"foreign_key_violations[].violations", kCount, true, "rows without their referenced row"},
						{"foreign_key_violations[].sample_key", kText | kNull, true, "one such row's key"},
					})},
	{"verify",
	 {
		 {"tables", kArray, true, "one element per planned table"},
		 {"tables[].table_name", kText, true, "the table, schema-qualified"},
		 {"tables[].source_rows", kCount, true, "rows on the source"},
		 {"tables[].target_rows", kCount, true, "rows on the target"},
		 {"tables[].source_checksum", kText, true, "the source's checksum"},
		 {"tables[].target_checksum", kText, true, "the target's, user IDs mapped back"},
		 {"tables[].ok", kBoolean, true, "counts and checksums agree; exit 1 when any is false"},
		 {"tables[].seconds", kNumber, true, "how long the verification took"},
		 {"user_ids_left", kArray, true, "places of the target that still hold Supabase user IDs (migrate_audit_ids)"},
		 {"user_ids_left[].table_name", kText, true, "the table"},
		 {"user_ids_left[].column_name", kText, true, "the column"},
		 {"user_ids_left[].json_path", kText | kNull, true, "where in a json value (null: the whole value)"},
		 {"user_ids_left[].kind", kText, true, "value, key (a JSON object's key) or embedded (inside longer text)"},
		 {"user_ids_left[].ids", kCount, true, "how many"},
		 {"user_ids_left[].example_key", kText | kNull, true, "the key of one row that holds one"},
		 {"user_ids_left[].example_id", kText, true, "one of them"},
		 {"user_ids_left[].remap", kText | kNull, true, "the column's mark: off (kept out on purpose), embedded, ..."},
	 }},
	{"diff",
	 {
		 {"table", kText, true, "the table, schema-qualified"},
		 {"differences", kArray, true, "one element per differing row, at most --max-rows"},
		 {"differences[].key", kText | kNull, true, "the row's primary key as text"},
		 {"differences[].status", kText, true, "missing (on the target), extra (only on the target) or changed"},
		 {"differences[].columns", kArray | kNull, true, "the columns that differ (changed rows; null otherwise)"},
		 {"summary", kObject, true, "the counts"},
		 {"summary.rows", kCount, true, "differing rows reported"},
		 {"summary.missing", kCount, true, "of them missing"},
		 {"summary.extra", kCount, true, "of them extra"},
		 {"summary.changed", kCount, true, "of them changed"},
		 {"summary.stopped", kBoolean, true, "more rows differ than --max-rows"},
		 {"summary.only_ranges", kText | kNull, true,
		  "the extension's notice when only the key ranges that differed at the table's last verification were "
		  "compared (null: every row; --whole-table)"},
	 }},
	{"status",
	 {
		 {"tables", kArray, true, "every table the cutover knows (migrate_status)"},
		 {"tables[].table_name", kText, true, "the table, schema-qualified"},
		 {"tables[].status", kText, true, "pending, loading (a pull runs now), loaded, verified or failed"},
		 {"tables[].ranges", kText | kNull, true,
		  "a table pulled in key ranges: those loaded of all (\"2/3\"); null for a table pulled whole"},
		 {"tables[].rows", kCount | kNull, true, "rows loaded (null until loaded)"},
		 {"tables[].seconds", kNumber | kNull, true, "how long its last pull took"},
		 {"tables[].last_error", kText | kNull, true, "why its last pull or verification failed"},
		 {"users", kArray, true, "the users' journal by status"},
		 {"users[].status", kText, true, "sending, created, skipped or failed"},
		 {"users[].users", kCount, true, "how many"},
		 {"mapped_users", kCount, true, "pairs in the ID map"},
	 }},
	{"reset",
	 {
		 {"reset", kArray, true, "the tables set back to pending (each named, and those whose keys lead to them)"},
		 {"dry_run", kBoolean, true, "true: nothing was changed"},
	 }},
	{"run",
	 {
		 {"done", kBoolean, true, "every step finished"},
		 {"stopped_at", kText | kNull, true, "the step that stopped the run (null when done)"},
		 {"steps", kObject, true, "each step's document under its name: init, users, plan, pull, verify"},
	 }},
	{"export",
	 {
		 {"dir", kText, true, "the archive's directory"},
		 {"tables", kArray, true, "one element per table written"},
		 {"tables[].table", kText, true, "the table, schema-qualified"},
		 {"tables[].rows", kCount, true, "rows written"},
		 {"tables[].checksum", kText, true, "the table's checksum, as the manifest holds it"},
		 {"tables[].file", kText, true, "its file in the directory"},
		 {"rows", kCount, true, "rows written in all"},
		 {"id_map", kBoolean, true, "id_map.json was written (the target was reachable)"},
	 }},
	{"import",
	 {
		 {"tables", kArray, true, "one element per table of the archive"},
		 {"tables[].table", kText, true, "the table, schema-qualified"},
		 {"tables[].status", kText, true, "verified, skipped (loaded before), refused (damaged) or failed"},
		 {"tables[].rows", kCount, kSometimes, "rows loaded (not when refused or failed)"},
		 {"tables[].error", kText, kSometimes, "why it was refused or failed"},
		 {"foreign_key_violations", kCount, true, "foreign keys the loaded rows violate; exit 1 when any"},
	 }},
};

const CommandDocument *
Find(const std::string &command)
{
	for (const auto &document : kDocuments)
		if (document.command == command)
			return &document;
	return nullptr;
}

unsigned
TypeOf(const json &value)
{
	if (value.is_string())
		return kString;
	if (value.is_number())
		return kNumber;
	if (value.is_boolean())
		return kBoolean;
	if (value.is_array())
		return kArray;
	if (value.is_object())
		return kObject;
	return kNull;
}

std::vector<std::string>
Segments(const std::string &path)
{
	std::vector<std::string> out;
	std::string current;
	for (std::size_t i = 0; i < path.size(); i++) {
		if (path.compare(i, 2, "[]") == 0) {
			if (!current.empty())
				out.push_back(current);
			out.push_back("[]");
			current.clear();
			i++;
		} else if (path[i] == '.') {
			if (!current.empty())
				out.push_back(current);
			current.clear();
		} else {
			current += path[i];
		}
	}
	if (!current.empty())
		out.push_back(current);
	return out;
}

/* Each value at `segments[at...]` below `node` is of the field's types; a key missing where it must be is said. */
void
CheckField(const json &node, const std::vector<std::string> &segments, std::size_t at, const std::string &where,
		   const DocumentField &field, std::vector<std::string> &problems)
{
	if (at == segments.size()) {
		if ((TypeOf(node) & field.types) == 0)
			problems.push_back(where + " is " + TypesName(TypeOf(node)) + ", documented as " + TypesName(field.types));
		return;
	}
	if (segments[at] == "[]") {
		if (!node.is_array())
			return; /* the array's own field says what is wrong */
		for (std::size_t i = 0; i < node.size(); i++)
			CheckField(node[i], segments, at + 1, where + "[" + std::to_string(i) + "]", field, problems);
		return;
	}
	if (!node.is_object())
		return;
	std::string name = (where.empty() ? "" : where + ".") + segments[at];
	auto found = node.find(segments[at]);
	if (found == node.end()) {
		if (field.always || at + 1 < segments.size())
			problems.push_back(name + " is missing");
		return;
	}
	CheckField(*found, segments, at + 1, name, field, problems);
}

/* Every key of `node` has a documented path (the elements of arrays under "[]"). */
void
CheckKnown(const json &node, const std::string &path, const std::string &where, const std::set<std::string> &known,
		   bool skip_steps, std::vector<std::string> &problems)
{
	if (node.is_array()) {
		for (std::size_t i = 0; i < node.size(); i++)
			CheckKnown(node[i], path + "[]", where + "[" + std::to_string(i) + "]", known, skip_steps, problems);
		return;
	}
	if (!node.is_object())
		return;
	for (const auto &[key, value] : node.items()) {
		std::string child = path.empty() ? key : path + "." + key;
		std::string name = (where.empty() ? "" : where + ".") + key;
		if (known.count(child) == 0) {
			problems.push_back(name + " is not documented");
			continue;
		}
		if (skip_steps && child == "steps")
			continue;
		CheckKnown(value, child, name, known, skip_steps, problems);
	}
}

} // namespace

const std::vector<CommandDocument> &
CommandDocuments()
{
	return kDocuments;
}

std::string
TypesName(unsigned types)
{
	static const std::pair<unsigned, const char *> kNames[] = {{kString, "string"},	  {kNumber, "number"},
															   {kBoolean, "boolean"}, {kArray, "array"},
															   {kObject, "object"},	  {kNull, "null"}};
	std::string out;
	for (const auto &[type, name] : kNames)
		if ((types & type) != 0)
			out += (out.empty() ? "" : " or ") + std::string(name);
	return out;
}

std::vector<std::string>
CheckDocument(const std::string &command, const json &document)
{
	const CommandDocument *spec = Find(command);
	if (spec == nullptr)
		return {"no command " + command + " prints a document"};
	std::vector<std::string> problems;
	bool array_root = !spec->fields.empty() && spec->fields.front().path.rfind("[]", 0) == 0;
	if (array_root != document.is_array())
		return {std::string("the document is ") + TypesName(TypeOf(document)) + ", documented as " +
				(array_root ? "array" : "object")};
	std::set<std::string> known;
	for (const auto &field : spec->fields) {
		known.insert(field.path);
		CheckField(document, Segments(field.path), 0, "", field, problems);
	}
	CheckKnown(document, "", "", known, command == "run", problems);
	if (command == "run" && document.is_object() && document.contains("steps") && document["steps"].is_object())
		for (const auto &[step, value] : document["steps"].items()) {
			if (Find(step) == nullptr) {
				problems.push_back("steps." + step + " is not a step");
				continue;
			}
			for (const auto &problem : CheckDocument(step, value))
				problems.push_back("steps." + step + ": " + problem);
		}
	return problems;
}

} // namespace cutover
