/*
 * catalog.hpp: the tables, columns and foreign keys of the source (over libpq) and of the target (over
 * SPI), read with the same plain SQL, and the extension's remap marks.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/plan.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

namespace pgc {

/*
 * A pull holds the transaction-level advisory lock (kPullLockKey, the table's OID) from its start to its commit
 * or rollback: another pull of the table is refused at once, migrate_plan leaves its state row alone, and
 * migrate_status() (pg_cutover.sql, the same number) shows it loading. 0x63757430 is "cut0".
 */
constexpr int32_t kPullLockKey = 0x63757430;

/* The source's catalog; tables of `schemas` are marked planned. */
core::Catalog ReadSourceCatalog(SourceConnection &source, const std::vector<std::string> &schemas);

/* The target's catalog, read the same way. */
core::Catalog ReadTargetCatalog(pg::Spi &spi, const std::vector<std::string> &schemas);

/* The marks of cutover.remap_column. */
std::vector<core::RemapMark> ReadRemapMarks(pg::Spi &spi);

/* A text[] literal of `values` for a query parameter, each element quoted: the client's rule too. */
using core::TextArrayLiteral;

/* A text[] argument of schema names (no NULLs). */
std::vector<std::string> SchemasArgument(FunctionCallInfo fcinfo, int argument);
/* A text[] argument of names (no NULLs); `what` names them in the error ("column names"). */
std::vector<std::string> NamesArgument(FunctionCallInfo fcinfo, int argument, const std::string &what);

} // namespace pgc
