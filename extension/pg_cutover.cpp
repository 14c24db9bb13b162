/*
 * pg_cutover.cpp: module magic. Each SQL family lives in its own file (checksum.cpp, source.cpp, verify.cpp).
 */
#include "pg/postgres.hpp"

extern "C" {
PG_MODULE_MAGIC;
}
