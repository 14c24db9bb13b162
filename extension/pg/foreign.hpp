/*
 * foreign.hpp: foreign servers and user mappings, read and written with their options as (key, value) pairs.
 *
 * The writes build the nodes CREATE/ALTER SERVER and USER MAPPING parse into and hand them to the same
 * functions those statements run (privileges checked as theirs), so no option value is ever part of SQL text.
 */
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "guard.hpp"

namespace pgc::pg {

using OptionList = std::vector<std::pair<std::string, std::string>>;

/* Every option of a catalog options list (a server's or a user mapping's), in its order. */
OptionList OptionPairs(List *options);

/* Whether `user_id` (InvalidOid: PUBLIC) has a user mapping of its own for the server. */
bool HasUserMapping(Oid user_id, Oid server_id);

/* CREATE SERVER `name` FOREIGN DATA WRAPPER `wrapper` OPTIONS (`options`). */
void CreateServer(const char *name, const char *wrapper, const OptionList &options);

/* ALTER SERVER: every option of `server` replaced by `options` (DROP each old one, then ADD each new one). */
void ReplaceServerOptions(const ForeignServer *server, const OptionList &options);

/* CREATE USER MAPPING FOR CURRENT_USER SERVER `server` OPTIONS (`options`). */
void CreateCurrentUserMapping(const char *server, const OptionList &options);

/* ALTER USER MAPPING FOR CURRENT_USER SERVER `server`: every option of `mapping` replaced by `options`. */
void ReplaceCurrentUserMappingOptions(const char *server, const UserMapping *mapping, const OptionList &options);

} // namespace pgc::pg
