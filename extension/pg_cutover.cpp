/*
 * pg_cutover.cpp: module magic and _PG_init (the settings, settings.cpp). Each SQL family lives in its own file
 * (checksum.cpp, source.cpp, verify.cpp).
 */
#include "pg/postgres.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);

/* The module's settings, declared once a session loads it. */
void
_PG_init(void)
{
	pgc::DeclareSettings();
}
}
