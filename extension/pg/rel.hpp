/*
 * rel.hpp: what the extension needs to know about a table, read from the catalogs through pg::Call.
 */
#pragma once

#include <string>
#include <vector>

#include "core/sql.hpp"
#include "guard.hpp"

namespace pgc::pg {

struct TableInfo {
	Oid relid = InvalidOid;
	std::string schema;				   /* unquoted */
	std::string name;				   /* unquoted */
	char relkind = '\0';			   /* RELKIND_RELATION or RELKIND_PARTITIONED_TABLE */
	std::string qualified;			   /* "schema"."name", quoted where needed */
	std::string scan;				   /* what FROM, TRUNCATE and DELETE name: ONLY for an ordinary table, so
										* that inheritance children are not read or emptied with their parent */
	std::vector<core::Column> columns; /* live columns in canonical (name) order */
	std::string filter;				   /* a condition on the rows a checksum reads (one key range); "": all */
};

/*
 * Describes a table the current user may read. Throws 42P01 if it does not exist, 42809 if it is not a
 * table, and 42501 (naming the table) without SELECT privilege.
 */
TableInfo DescribeTable(Oid relid);

/* quote_identifier() as a std::string. */
std::string QuoteIdentifier(const std::string &name);

/*
 * While alive, runs as the owner of the extension (the owner of the SQL function being called), like a
 * SECURITY DEFINER function: used to write the extension's own bookkeeping for a caller granted EXECUTE.
 */
class AsExtensionOwner
{
  public:
	explicit AsExtensionOwner(FunctionCallInfo fcinfo);
	~AsExtensionOwner();
	AsExtensionOwner(const AsExtensionOwner &) = delete;
	AsExtensionOwner &operator=(const AsExtensionOwner &) = delete;

  private:
	Oid saved_user_;
	int saved_context_;
};

} // namespace pgc::pg
