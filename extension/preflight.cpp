/*
 * preflight.cpp: migrate_preflight() compares the source's and the target's tables before any write. Each
 * mismatch is one row naming the table, the column and both types; an error stops the pull.
 */
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/preflight.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "source.hpp"

using namespace pgc;

/*
 * migrate_preflight(schemas text[] default '{public}') -> setof (table_name, column_name, source_type,
 * target_type, problem, severity)
 */
PGC_FUNCTION(migrate_preflight)
{
	std::vector<std::string> schemas = SchemasArgument(fcinfo, 0);
	SourceConnection source = SourceConnection::Open();
	core::Catalog source_catalog = ReadSourceCatalog(source, schemas);
	core::Catalog target_catalog;
	{
		pg::Spi spi;
		target_catalog = ReadTargetCatalog(spi, schemas);
	}
	std::vector<core::Mismatch> mismatches =
		core::ComparePreflight(source_catalog, target_catalog, &pg::QuoteIdentifier);

	pg::ResultSet result(fcinfo);
	for (const auto &mismatch : mismatches) {
		Datum values[6] = {pg::TextDatum(mismatch.table),
						   mismatch.column.empty() ? Datum(0) : pg::TextDatum(mismatch.column),
						   mismatch.source_type.empty() ? Datum(0) : pg::TextDatum(mismatch.source_type),
						   mismatch.target_type.empty() ? Datum(0) : pg::TextDatum(mismatch.target_type),
						   pg::TextDatum(mismatch.problem),
						   pg::TextDatum(mismatch.error ? "error" : "warning")};
		bool nulls[6] = {
			false, mismatch.column.empty(), mismatch.source_type.empty(), mismatch.target_type.empty(), false, false};
		result.Add(values, nulls);
	}
	return Datum(0);
}
