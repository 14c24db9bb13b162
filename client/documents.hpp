/*
 * documents.hpp: what each command's --json document holds, field by field, with each field's JSON types
 * (documents.cpp). client/README.md documents the same fields; a unit test holds the two together and checks
 * each command's example there against this description.
 */
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover {

/* The JSON types a field may have: a sum of these. */
enum JsonTypes : unsigned {
	kString = 1,
	kNumber = 2,
	kBoolean = 4,
	kArray = 8,
	kObject = 16,
	kNull = 32,
};

struct DocumentField {
	/* "tables[].ok": a key of each element of the array "tables"; "[].level": of each element of the root */
	std::string path;
	unsigned types = 0;
	bool always = true; /* false: present only in some elements (an error where there is one) */
	std::string meaning;
};

struct CommandDocument {
	std::string command;
	std::vector<DocumentField> fields;
};

/* Every command's document, in the order of `cutover --help`. */
const std::vector<CommandDocument> &CommandDocuments();

/* "string", "number or null", ... */
std::string TypesName(unsigned types);

/*
 * What is wrong with `document` as the document of `command`: a documented field missing or of another type,
 * a field that is not documented. Empty when it is right. `run` checks each step's document under "steps".
 */
std::vector<std::string> CheckDocument(const std::string &command, const nlohmann::json &document);

} // namespace cutover
