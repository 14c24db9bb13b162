/*
 * compat.hpp: what differs between the PostgreSQL versions the extension builds against (15, 17 and 18).
 * The one place of `#if PG_VERSION_NUM` (in compat.cpp): the rest of the extension calls these functions the
 * same way on every version. Each must run inside pg::Call, as it may ereport.
 */
#pragma once

#include "pg/postgres.hpp"

namespace pgc::pg {

/*
 * Checks, as the executor does for an INSERT, that the current user may insert into `columns` (a List of
 * String nodes, the column names) of `rel`, which `item` stands for in `pstate`'s range table: 42501
 * naming the table otherwise. PostgreSQL 16 moved these privileges from the range table entry to a list of
 * RTEPermissionInfo of its own.
 */
void CheckInsertPrivilege(ParseState *pstate, ParseNamespaceItem *item, Relation rel, List *columns);

/*
 * Rebuilds every index of the table, checking unique and exclusion constraints (a duplicate key is 23505).
 * PostgreSQL 17 gave reindex_relation the REINDEX statement as a first argument.
 */
void ReindexTable(Oid relid);

/*
 * Whether text of the collation sorts by its bytes (C or POSIX). PostgreSQL 18 replaced lc_collate_is_c with a
 * field of the collation's pg_locale_t.
 */
bool CollationIsC(Oid collation);

/*
 * The composite (row) argument `n` of a SQL function, detoasted, as PG_GETARG_HEAPTUPLEHEADER gives it. Written
 * with PG_DETOAST_DATUM, as that macro was until minor releases of late 2026 (15.20, 17.12) made
 * DatumGetHeapTupleHeader a function of the server: a module built against those headers would not load
 * into an earlier server of the same major version.
 */
inline HeapTupleHeader
RowArgument(FunctionCallInfo fcinfo, int n)
{
	return reinterpret_cast<HeapTupleHeader>(PG_DETOAST_DATUM(PG_GETARG_DATUM(n)));
}

} // namespace pgc::pg
