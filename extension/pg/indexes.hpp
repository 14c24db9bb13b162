/*
 * indexes.hpp: a table's indexes set aside while rows are loaded, and built again afterwards.
 */
#pragma once

#include "guard.hpp"

namespace pgc::pg {

/*
 * Marks every index of the table not ready (and so not valid) in this transaction, so that an insert fills
 * the heap alone; RebuildIndexes builds them afterwards by sorting, as pg_restore does by loading data before
 * creating indexes. The change is an ordinary catalog update: a rollback or a crash restores the indexes as
 * they were, and other sessions never see it while the caller holds the table locked until it commits.
 */
void DeferIndexes(Oid relid);

/*
 * Builds every index of the table from its rows, checking unique and exclusion constraints (a duplicate key
 * is 23505), and marks them ready and valid again.
 */
void RebuildIndexes(Oid relid);

/*
 * Whether a trigger of the table fires with session_replication_role = replica (ENABLE ALWAYS or ENABLE
 * REPLICA).
 */
bool HasReplicaTriggers(Oid relid);

} // namespace pgc::pg
