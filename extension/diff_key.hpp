/*
 * diff_key.hpp: how migrate_diff finds the key it compares rows by: the target's primary key (or its smallest
 * unique key on NOT NULL columns), checked against the source's column types, and whether a key column holds
 * user IDs that must be mapped back.
 */
#pragma once

#include <set>
#include <string>
#include <vector>

#include "pg/rel.hpp"
#include "source.hpp"

namespace pgc {

/* A key column of the target, as the catalogs describe it. */
struct KeyColumnInfo {
	std::string name;
	std::string type;	   /* format_type with typmod */
	std::string base_type; /* format_type of the base type, without typmod */
	bool collatable = false;
	bool byte_ordered = false; /* its collation is C or POSIX */
};

/*
 * The primary key, else the unique index on NOT NULL columns with the fewest columns (then by name). 42809 for
 * a view or a foreign table, 55000 for a table without such a key.
 */
std::vector<KeyColumnInfo> FindKey(const pg::TableInfo &table);

/*
 * Fails (42804) unless each key column has the same type on the source (a domain counting as its base type).
 * Returns the key columns whose collation on the source compares byte by byte (C or POSIX, or the database's
 * default when that is C or POSIX under libc).
 */
std::set<std::string> CheckSourceKeyTypes(SourceConnection &source, const pg::TableInfo &table,
										  const std::vector<KeyColumnInfo> &key);

/*
 * Whether a key column on the target holds Stack Auth IDs, so that its keys must be compared as the Supabase
 * IDs they map back to (a uuid or string key written by value; a user-ID key always does).
 */
bool KeyHoldsUserIds(FunctionCallInfo fcinfo, const pg::TableInfo &table, const KeyColumnInfo &column);

} // namespace pgc
