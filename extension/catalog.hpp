/*
 * catalog.hpp: the tables, columns and foreign keys of the source (over libpq) and of the target (over
 * SPI), read with the same plain SQL, and the extension's remap marks.
 */
#pragma once

#include <string>
#include <vector>

#include "core/plan.hpp"
#include "guard.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

namespace pgc {

/* The source's catalog; tables of `schemas` are marked planned. */
core::Catalog ReadSourceCatalog(SourceConnection &source, const std::vector<std::string> &schemas);

/* The target's catalog, read the same way. */
core::Catalog ReadTargetCatalog(pg::Spi &spi, const std::vector<std::string> &schemas);

/* The marks of cutover.remap_column. */
std::vector<core::RemapMark> ReadRemapMarks(pg::Spi &spi);

/* A text[] literal of `values` for a query parameter, each element quoted. */
std::string TextArrayLiteral(const std::vector<std::string> &values);

/* A text[] argument of schema names (no NULLs). */
std::vector<std::string> SchemasArgument(FunctionCallInfo fcinfo, int argument);
/* A text[] argument of names (no NULLs); `what` names them in the error ("column names"). */
std::vector<std::string> NamesArgument(FunctionCallInfo fcinfo, int argument, const std::string &what);

} // namespace pgc
