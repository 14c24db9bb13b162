/*
 * documents_test.cpp: each command's --json document, field by field (client/documents.hpp), and the section
 * of client/README.md that documents them: the same fields with the same types, in the same order, and an
 * example per command that passes the check. Bad documents next to them: psql's text forms, a missing field,
 * a field nobody documented. Run from the repository's root (as `make test` does).
 */
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "documents.hpp"

using cutover::CheckDocument;
using cutover::CommandDocuments;
using cutover::TypesName;
using nlohmann::json;

namespace {

struct ReadmeSection {
	std::vector<std::pair<std::string, std::string>> fields; /* path, type as written */
	std::string example;
};

/* The "### `cutover X --json`" sections of client/README.md, by command. */
std::map<std::string, ReadmeSection>
ReadmeSections()
{
	std::ifstream file("client/README.md");
	EXPECT_TRUE(file) << "client/README.md not found: run the unit tests from the repository's root";
	std::map<std::string, ReadmeSection> sections;
	static const std::regex heading("^### `cutover ([a-z]+) --json`$");
	static const std::regex row("^\\| `([^`]+)` \\| ([a-z ,]+?) \\| .+ \\|$");
	std::string line, command;
	bool in_example = false;
	while (std::getline(file, line)) {
		std::smatch match;
		if (std::regex_match(line, match, heading)) {
			command = match[1];
			sections[command];
			continue;
		}
		if (line.rfind("## ", 0) == 0)
			command.clear();
		if (command.empty())
			continue;
		if (line == "```json") {
			in_example = true;
			continue;
		}
		if (in_example) {
			if (line == "```")
				in_example = false;
			else
				sections[command].example += line + "\n";
			continue;
		}
		if (std::regex_match(line, match, row))
			sections[command].fields.emplace_back(match[1], match[2]);
	}
	return sections;
}

} // namespace

TEST(CommandDocuments, EveryCommandIsDocumentedInTheReadme)
{
	std::map<std::string, ReadmeSection> sections = ReadmeSections();
	for (const auto &document : CommandDocuments()) {
		SCOPED_TRACE(document.command);
		auto found = sections.find(document.command);
		ASSERT_NE(found, sections.end()) << "no section ### `cutover " << document.command << " --json`";
		const ReadmeSection &section = found->second;
		ASSERT_EQ(section.fields.size(), document.fields.size());
		for (std::size_t i = 0; i < document.fields.size(); i++) {
			const auto &field = document.fields[i];
			EXPECT_EQ(section.fields[i].first, field.path);
			EXPECT_EQ(section.fields[i].second, TypesName(field.types) + (field.always ? "" : ", when there is one"))
				<< field.path;
			EXPECT_FALSE(field.meaning.empty()) << field.path;
		}
	}
	EXPECT_EQ(sections.size(), CommandDocuments().size()) << "a section for a command that prints no document";
}

TEST(CommandDocuments, EachReadmeExamplePassesTheCheck)
{
	for (const auto &[command, section] : ReadmeSections()) {
		SCOPED_TRACE(command);
		ASSERT_FALSE(section.example.empty()) << "no example";
		json example = json::parse(section.example);
		std::vector<std::string> problems = CheckDocument(command, example);
		EXPECT_TRUE(problems.empty()) << problems.front();
	}
}

TEST(CommandDocuments, PsqlTextFormsAreRefused)
{
	json verify = {{"tables",
					{{{"table_name", "public.sites"},
					  {"source_rows", "40"},
					  {"target_rows", 40},
					  {"source_checksum", "a"},
					  {"target_checksum", "a"},
					  {"ok", "t"},
					  {"seconds", 0.01}}}},
				   {"user_ids_left", json::array()}};
	std::vector<std::string> problems = CheckDocument("verify", verify);
	ASSERT_EQ(problems.size(), 2u);
	EXPECT_EQ(problems[0], "tables[0].source_rows is string, documented as number");
	EXPECT_EQ(problems[1], "tables[0].ok is string, documented as boolean");
	verify["tables"][0]["source_rows"] = 40;
	verify["tables"][0]["ok"] = true;
	EXPECT_TRUE(CheckDocument("verify", verify).empty());
	/* an array as psql prints it */
	json diff = {
		{"table", "public.sites"},
		{"differences", {{{"key", "1"}, {"status", "changed"}, {"columns", "{name}"}}}},
		{"summary",
		 {{"rows", 1}, {"missing", 0}, {"extra", 0}, {"changed", 1}, {"stopped", false}, {"only_ranges", nullptr}}}};
	problems = CheckDocument("diff", diff);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0], "differences[0].columns is string, documented as array or null");
}

TEST(CommandDocuments, MissingAndUndocumentedFields)
{
	json reset = {{"reset", {"public.sites"}}};
	std::vector<std::string> problems = CheckDocument("reset", reset);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0], "dry_run is missing");
	reset["dry_run"] = false;
	reset["extra"] = 1;
	problems = CheckDocument("reset", reset);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0], "extra is not documented");
	/* a field present only in some elements */
	json import = {{"tables",
					{{{"table", "public.a"}, {"status", "verified"}, {"rows", 3}},
					 {{"table", "public.b"}, {"status", "refused"}, {"error", "damaged"}}}},
				   {"foreign_key_violations", 0}};
	EXPECT_TRUE(CheckDocument("import", import).empty());
	import["tables"][1]["error"] = nullptr;
	problems = CheckDocument("import", import);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0], "tables[1].error is null, documented as string");
}

TEST(CommandDocuments, ShapesAndRunSteps)
{
	EXPECT_EQ(CheckDocument("plan", json::object()).at(0), "the document is object, documented as array");
	EXPECT_EQ(CheckDocument("status", json::array()).at(0), "the document is array, documented as object");
	EXPECT_EQ(CheckDocument("nothing", json::object()).at(0), "no command nothing prints a document");
	json run = {{"done", false},
				{"stopped_at", "pull"},
				{"steps",
				 {{"init", {{"extension_version", "0.1.0"}, {"source_server_version", "15"}, {"source", "s"}}},
				  {"reset", {{"reset", json::array()}, {"dry_run", 1}}}}}};
	std::vector<std::string> problems = CheckDocument("run", run);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0], "steps.reset: dry_run is number, documented as boolean");
	run["steps"]["bogus"] = json::object();
	problems = CheckDocument("run", run);
	ASSERT_EQ(problems.size(), 2u);
	EXPECT_EQ(problems[0], "steps.bogus is not a step");
}
