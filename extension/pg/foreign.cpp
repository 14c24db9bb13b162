/*
 * foreign.cpp: foreign servers and user mappings, read and written through pg::Call.
 */
#include "pg/foreign.hpp"

namespace pgc::pg {

namespace {

DefElem *
MakeOption(const std::string &key, const std::string &value, DefElemAction action)
{
	return Call([&] {
		DefElem *def = makeDefElem(
			pstrdup(key.c_str()),
			value.empty() && action == DEFELEM_DROP ? nullptr : (Node *) makeString(pstrdup(value.c_str())), -1);
		def->defaction = action;
		return def;
	});
}

List *
Append(List *list, DefElem *def)
{
	return Call([&] { return lappend(list, def); });
}

/* Replaces every option of an existing server or user mapping: DROP each old one, then ADD each new one. */
List *
ReplaceOptions(List *current, const OptionList &wanted)
{
	List *options = NIL;
	ListCell *cell;
	foreach (cell, current)
		options = Append(options, MakeOption(lfirst_node(DefElem, cell)->defname, "", DEFELEM_DROP));
	for (const auto &[key, value] : wanted)
		options = Append(options, MakeOption(key, value, DEFELEM_ADD));
	return options;
}

List *
NewOptions(const OptionList &wanted)
{
	List *options = NIL;
	for (const auto &[key, value] : wanted)
		options = Append(options, MakeOption(key, value, DEFELEM_UNSPEC));
	return options;
}

RoleSpec *
CurrentUserSpec()
{
	return Call([] {
		RoleSpec *role = makeNode(RoleSpec);
		role->roletype = ROLESPEC_CURRENT_USER;
		role->location = -1;
		return role;
	});
}

} // namespace

OptionList
OptionPairs(List *options)
{
	OptionList pairs;
	ListCell *cell;
	foreach (cell, options) {
		DefElem *def = lfirst_node(DefElem, cell);
		const char *value = Call([&] { return defGetString(def); });
		pairs.emplace_back(def->defname, value);
	}
	return pairs;
}

bool
HasUserMapping(Oid user_id, Oid server_id)
{
	return Call([&] {
		return SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(user_id), ObjectIdGetDatum(server_id));
	});
}

void
CreateServer(const char *name, const char *wrapper, const OptionList &options)
{
	CreateForeignServerStmt *stmt = Call([] { return makeNode(CreateForeignServerStmt); });
	stmt->servername = const_cast<char *>(name);
	stmt->fdwname = const_cast<char *>(wrapper);
	stmt->options = NewOptions(options);
	Call([&] { CreateForeignServer(stmt); });
}

void
ReplaceServerOptions(const ForeignServer *server, const OptionList &options)
{
	AlterForeignServerStmt *stmt = Call([] { return makeNode(AlterForeignServerStmt); });
	stmt->servername = server->servername;
	stmt->options = ReplaceOptions(server->options, options);
	Call([&] { AlterForeignServer(stmt); });
}

void
CreateCurrentUserMapping(const char *server, const OptionList &options)
{
	CreateUserMappingStmt *stmt = Call([] { return makeNode(CreateUserMappingStmt); });
	stmt->user = CurrentUserSpec();
	stmt->servername = const_cast<char *>(server);
	stmt->options = NewOptions(options);
	Call([&] { CreateUserMapping(stmt); });
}

void
ReplaceCurrentUserMappingOptions(const char *server, const UserMapping *mapping, const OptionList &options)
{
	AlterUserMappingStmt *stmt = Call([] { return makeNode(AlterUserMappingStmt); });
	stmt->user = CurrentUserSpec();
	stmt->servername = const_cast<char *>(server);
	stmt->options = ReplaceOptions(mapping->options, options);
	Call([&] { AlterUserMapping(stmt); });
}

} // namespace pgc::pg
