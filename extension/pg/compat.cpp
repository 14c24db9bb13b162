/*
 * compat.cpp: the version gates of compat.hpp.
 */
#include "pg/compat.hpp"

namespace pgc::pg {

void
CheckInsertPrivilege(ParseState *pstate, ParseNamespaceItem *item, Relation rel, List *columns)
{
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *perms = item->p_perminfo;
#else
	RangeTblEntry *perms = item->p_rte;
#endif
	perms->requiredPerms = ACL_INSERT;
	ListCell *cell;
	foreach (cell, columns) {
		AttrNumber attnum = attnameAttNum(rel, strVal(lfirst(cell)), false);
		perms->insertedCols = bms_add_member(perms->insertedCols, attnum - FirstLowInvalidHeapAttributeNumber);
	}
#if PG_VERSION_NUM >= 160000
	ExecCheckPermissions(pstate->p_rtable, pstate->p_rteperminfos, true);
#else
	ExecCheckRTPerms(pstate->p_rtable, true);
#endif
}

void
ReindexTable(Oid relid)
{
	/* each index's build shows in pg_stat_progress_create_index, as REINDEX's does: the client's bar reads it */
	ReindexParams params = {};
	params.options = REINDEXOPT_REPORT_PROGRESS;
#if PG_VERSION_NUM >= 170000
	reindex_relation(nullptr, relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
#else
	reindex_relation(relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
#endif
}

bool
CollationIsC(Oid collation)
{
#if PG_VERSION_NUM >= 180000
	return pg_newlocale_from_collation(collation)->collate_is_c;
#else
	return lc_collate_is_c(collation);
#endif
}

} // namespace pgc::pg
