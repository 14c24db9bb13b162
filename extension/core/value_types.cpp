/*
 * value_types.cpp: what a column's type can hold of user IDs, from its name as format_type prints it.
 */
#include "core/user_ids.hpp"

#include <map>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

std::string_view
Trim(std::string_view text)
{
	while (!text.empty() && text.front() == ' ')
		text.remove_prefix(1);
	while (!text.empty() && text.back() == ' ')
		text.remove_suffix(1);
	return text;
}

/* A type name without schema, quotes or typmod: "extensions.citext" -> "citext". */
std::string
BareTypeName(std::string_view name)
{
	name = Trim(name);
	/* the last dotted part outside quotes, and the typmod "(...)" outside quotes taken out */
	std::string part;
	bool quoted = false, in_typmod = false, was_quoted = false;
	for (std::size_t i = 0; i < name.size(); i++) {
		char ch = name[i];
		if (quoted) {
			if (ch == '"' && i + 1 < name.size() && name[i + 1] == '"') {
				part.push_back('"');
				i++;
			} else if (ch == '"') {
				quoted = false;
			} else {
				part.push_back(ch);
			}
		} else if (in_typmod) {
			in_typmod = ch != ')';
		} else if (ch == '"') {
			quoted = was_quoted = true;
		} else if (ch == '(') {
			in_typmod = true;
		} else if (ch == '.') {
			part.clear();
			was_quoted = false;
		} else {
			part.push_back(ch);
		}
	}
	/* "timestamp(3) with time zone" leaves a double blank where the typmod was */
	std::string bare;
	for (char ch : Trim(part))
		if (!(ch == ' ' && !bare.empty() && bare.back() == ' ') || was_quoted)
			bare.push_back(ch);
	return bare;
}

/* Whether `text` is `word` or starts with it and a blank ("time" in "time with time zone", not "timeline"). */
bool
IsWordOf(std::string_view text, std::string_view word)
{
	return text == word ||
		   (text.size() > word.size() && text.substr(0, word.size()) == word && text[word.size()] == ' ');
}

/* Types known by their bare name, by what they can hold. */
constexpr const char *kStringTypes[] = {"text", "character varying", "varchar", "character", "bpchar", "citext",
										"name"};
constexpr const char *kNoIdTypes[] = {"smallint",
									  "integer",
									  "bigint",
									  "int2",
									  "int4",
									  "int8",
									  "real",
									  "double precision",
									  "float4",
									  "float8",
									  "money",
									  "boolean",
									  "bool",
									  "date",
									  "bytea",
									  "inet",
									  "cidr",
									  "macaddr",
									  "macaddr8",
									  "point",
									  "line",
									  "lseg",
									  "box",
									  "path",
									  "polygon",
									  "circle",
									  "oid",
									  "xid",
									  "xid8",
									  "cid",
									  "tid",
									  "pg_lsn",
									  "int4range",
									  "int8range",
									  "numrange",
									  "tsrange",
									  "tstzrange",
									  "daterange",
									  "\"char\"",
									  "char",
									  "txid_snapshot",
									  "pg_snapshot",
									  "int4multirange",
									  "int8multirange",
									  "nummultirange",
									  "tsmultirange",
									  "tstzmultirange",
									  "datemultirange",
									  "regproc",
									  "regprocedure",
									  "regoper",
									  "regoperator",
									  "regclass",
									  "regtype",
									  "regrole",
									  "regnamespace",
									  "regconfig",
									  "regdictionary",
									  "regcollation"};
/* Types with words or a typmod after their first word ("time with time zone", "bit varying"): no ID either. */
constexpr std::string_view kNoIdTypeWords[] = {"time",	  "timestamp", "interval",		  "numeric",
											   "decimal", "bit",	   "double precision"};

/* The class of a type by its bare name: uuid, the string types, json, jsonb, the types of no ID, else Other. */
ValueClass
ClassOfTypeName(const std::string &name)
{
	static const std::map<std::string, ValueClass> by_name = [] {
		std::map<std::string, ValueClass> classes = {{"uuid", ValueClass::Uuid}};
		for (const char *type : kStringTypes)
			classes.emplace(type, ValueClass::String);
		classes.emplace("json", ValueClass::Json);
		classes.emplace("jsonb", ValueClass::Jsonb);
		for (const char *type : kNoIdTypes)
			classes.emplace(type, ValueClass::None);
		return classes;
	}();
	auto found = by_name.find(name);
	if (found != by_name.end())
		return found->second;
	for (std::string_view word : kNoIdTypeWords)
		if (IsWordOf(name, word))
			return ValueClass::None;
	return ValueClass::Other;
}

} // namespace

ValueType
ValueTypeOf(std::string_view base_type)
{
	ValueType type;
	std::string name(Trim(base_type));
	while (name.size() >= 2 && name.compare(name.size() - 2, 2, "[]") == 0) {
		type.array = true;
		name.resize(name.size() - 2);
	}
	type.element = ClassOfTypeName(BareTypeName(name));
	return type;
}

bool
HoldsWholeIds(ValueType type)
{
	return type.element == ValueClass::Uuid || type.element == ValueClass::String;
}

bool
MayHoldId(std::string_view text, ValueType type, bool embedded)
{
	if (text.size() < 32 || type.element == ValueClass::None)
		return false;
	if (type.array || type.element == ValueClass::Json || type.element == ValueClass::Jsonb)
		return true;
	if (type.element == ValueClass::Other || (embedded && text.size() > 32))
		return embedded;
	std::size_t size = text.size();
	while (size > 0 && text[size - 1] == ' ')
		size--;
	return size >= 32 && size <= 41;
}

} // namespace pgc::core
