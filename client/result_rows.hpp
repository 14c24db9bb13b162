/*
 * result_rows.hpp: a query's result as the commands show it (result_rows.cpp): rows of JSON for --json, an
 * aligned text table for the terminal.
 */
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pg.hpp"

namespace cutover {

/* Each row as an object: column name -> the value in JSON of its type. */
nlohmann::json RowsJson(const pg::Result &result);

/* The columns aligned under their names, then "(N rows)". */
std::string RowsTable(const pg::Result &result);

} // namespace cutover
