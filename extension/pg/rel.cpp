/*
 * rel.cpp: table descriptions from the catalogs.
 */
#include "pg/rel.hpp"

namespace pgc::pg {

std::string
QuoteIdentifier(const std::string &name)
{
	const char *quoted = Call([&] { return quote_identifier(name.c_str()); });
	return quoted;
}

namespace {

/* The base type behind domains; an array of a domain counts as an array of the domain's base type. */
Oid
BaseTypeOf(Oid type)
{
	Oid element = get_element_type(type);
	if (OidIsValid(element) && get_typtype(element) == TYPTYPE_DOMAIN) {
		Oid array = get_array_type(getBaseType(element));
		if (OidIsValid(array))
			return array;
	}
	return getBaseType(type);
}

} // namespace

TableInfo
DescribeTable(Oid relid)
{
	TableInfo info;
	info.relid = relid;

	char relkind = Call([&] { return get_rel_relkind(relid); });
	if (relkind == '\0')
		throw Error(ERRCODE_UNDEFINED_TABLE, "table with OID " + std::to_string(relid) + " does not exist");

	Oid nsp = Call([&] { return get_rel_namespace(relid); });
	const char *nspname = Call([&] { return get_namespace_name(nsp); });
	const char *relname = Call([&] { return get_rel_name(relid); });
	if (nspname == nullptr || relname == nullptr)
		throw Error(ERRCODE_UNDEFINED_TABLE, "table with OID " + std::to_string(relid) + " does not exist");
	info.schema = nspname;
	info.name = relname;
	info.qualified = QuoteIdentifier(info.schema) + "." + QuoteIdentifier(info.name);
	info.relkind = relkind;
	info.scan = core::ScanTarget(info.qualified, relkind);

	switch (relkind) {
	case RELKIND_RELATION:
	case RELKIND_PARTITIONED_TABLE:
	case RELKIND_MATVIEW:
	case RELKIND_FOREIGN_TABLE:
	case RELKIND_VIEW:
		break;
	default:
		throw Error(ERRCODE_WRONG_OBJECT_TYPE, info.qualified + " is not a table",
					"Only tables, partitioned tables, views, materialized views and foreign tables have checksums.");
	}

	AclResult acl = Call([&] { return pg_class_aclcheck(relid, GetUserId(), ACL_SELECT); });
	if (acl != ACLCHECK_OK)
		throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied for table " + info.qualified, "",
					"The role running pg_cutover needs SELECT on every table it reads.");

	Relation rel = Call([&] { return relation_open(relid, AccessShareLock); });
	TupleDesc desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped)
			continue;
		std::string name = NameStr(att->attname);
		Oid type = att->atttypid;
		const char *base_type = Call([&] { return format_type_be(BaseTypeOf(type)); });
		info.columns.push_back({name, QuoteIdentifier(name), base_type});
	}
	Call([&] { relation_close(rel, NoLock); });
	core::SortColumnsByName(info.columns);
	return info;
}

AsExtensionOwner::AsExtensionOwner(FunctionCallInfo fcinfo)
{
	Oid owner = Call([&] {
		HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		Oid proowner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
		ReleaseSysCache(tuple);
		return proowner;
	});
	GetUserIdAndSecContext(&saved_user_, &saved_context_);
	SetUserIdAndSecContext(owner, saved_context_ | SECURITY_LOCAL_USERID_CHANGE);
}

AsExtensionOwner::~AsExtensionOwner()
{
	/* On an error, transaction abort restores the user id as well; restoring here is harmless either way. */
	SetUserIdAndSecContext(saved_user_, saved_context_);
}

} // namespace pgc::pg
