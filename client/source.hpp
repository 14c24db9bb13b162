/*
 * source.hpp: the source database's settings, one truth for every command (source.cpp).
 *
 * The client reads the source itself (auth.users, the pull's snapshot) with CUTOVER_SOURCE_URL or --source;
 * the extension reads it (the pull's rows, verify, diff) with the settings `cutover init` stored in the target
 * (a foreign server and a user mapping). The two must be the same source: a command that has both compares
 * them and stops (exit 2, naming `cutover init`) when host, port, database, user or password differ.
 *
 * The source's string names its host, dbname and user itself: the PG* variables are the target's, and none
 * of those that name a server, a database or a role is read for the source. Its password may come from the
 * string, PGPASSWORD, PGPASSFILE or ~/.pgpass, or a service file, as libpq finds it.
 */
#pragma once

#include <string>

#include "pg.hpp"

namespace cutover {

/* Connects to the source `conninfo` names (std::invalid_argument when it leaves out host, dbname or user). */
pg::Connection ConnectSource(const std::string &conninfo);

/* The settings libpq used for `source`, password included, as a string for migrate_source. */
std::string StoredSourceSettings(const pg::Connection &source);

/*
 * Connects to the source `conninfo` names after proving that it is the one the target stores: throws
 * std::invalid_argument naming the settings that differ and `cutover init`, or saying that none is stored.
 * A password in the string or PGPASSWORD is compared before connecting, so that a wrong one says so.
 */
pg::Connection ConnectStoredSource(const pg::Connection &target, const std::string &conninfo);

} // namespace cutover
