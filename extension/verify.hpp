/*
 * verify.hpp: what migrate_verify and migrate_diff share about a table on both sides.
 */
#pragma once

#include <string>
#include <vector>

#include "pg/rel.hpp"
#include "source.hpp"

namespace pgc {

/* Fails (42P01, 42703) unless the source has the same table with the same set of column names. */
void CheckSourceColumns(SourceConnection &source, const pg::TableInfo &table);

/* The table's user-ID columns, as migrate_plan finds them: foreign keys on the source, marks on the target. */
std::vector<std::string> UserIdColumns(FunctionCallInfo fcinfo, SourceConnection &source, const pg::TableInfo &table);

} // namespace pgc
