/*
 * indexes.cpp: deferring and rebuilding a table's indexes through pg::Call.
 */
#include "pg/indexes.hpp"

#include "pg/compat.hpp"
#include "pg/spi.hpp"

namespace pgc::pg {

void
DeferIndexes(Oid relid)
{
	Call([&] {
		Relation rel = table_open(relid, ShareRowExclusiveLock);
		List *indexes = RelationGetIndexList(rel);
		Relation pg_index = table_open(IndexRelationId, RowExclusiveLock);
		ListCell *cell;
		foreach (cell, indexes) {
			HeapTuple tuple = SearchSysCacheCopy1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(cell)));
			if (!HeapTupleIsValid(tuple))
				elog(ERROR, "cache lookup failed for index %u", lfirst_oid(cell));
			Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);
			form->indisvalid = false;
			form->indisready = false;
			CatalogTupleUpdate(pg_index, &tuple->t_self, tuple);
			heap_freetuple(tuple);
		}
		table_close(pg_index, RowExclusiveLock);
		CacheInvalidateRelcache(rel);
		table_close(rel, NoLock);
		CommandCounterIncrement();
	});
}

void
RebuildIndexes(Oid relid)
{
	Call([&] {
		ReindexTable(relid);
		CommandCounterIncrement();
	});
}

bool
HasReplicaTriggers(Oid relid)
{
	Spi spi;
	spi.Execute("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgenabled IN ('A', 'R')", true,
				{{OIDOID, std::to_string(relid)}});
	return spi.Rows() > 0;
}

} // namespace pgc::pg
