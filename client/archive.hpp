/*
 * archive.hpp: cutover export (the source's tables into a directory of JSON files) and cutover import (those
 * files into the target, checked and verified table by table). See archive.cpp and client/README.md.
 */
#pragma once

#include <string>

#include "commands.hpp"

namespace cutover {

/* Writes every planned table of the source to `dir` (created if missing; refused if it holds an archive). */
int RunExport(const Settings &settings, const std::string &dir);
/* Loads the archive in `dir` into the target, table by table, each verified against the manifest. */
int RunImport(const Settings &settings, const std::string &dir);

} // namespace cutover
