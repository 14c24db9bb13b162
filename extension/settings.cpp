/*
 * settings.cpp: the extension's settings (settings.hpp).
 */
#include "settings.hpp"

#include "pg/postgres.hpp"

namespace pgc {

namespace {

int pull_format = static_cast<int>(PullFormat::Binary);

const struct config_enum_entry kPullFormats[] = {
	{"binary", static_cast<int>(PullFormat::Binary), false},
	{"text", static_cast<int>(PullFormat::Text), false},
	{nullptr, 0, false},
};

} // namespace

PullFormat
PullFormatSetting()
{
	return static_cast<PullFormat>(pull_format);
}

/* Called once, from _PG_init, where a PostgreSQL error needs no guard: nothing of C++ is alive yet. */
void
DeclareSettings()
{
	DefineCustomEnumVariable("pg_cutover.pull_format",
							 "How migrate_pull moves rows: binary (COPY's binary format where every column allows it) "
							 "or text.",
							 "Binary spares both sides printing and parsing values; a table whose columns differ in "
							 "type, use a type of the database, or arrive in another encoding travels as text anyway.",
							 &pull_format, static_cast<int>(PullFormat::Binary), kPullFormats, PGC_USERSET, 0, nullptr,
							 nullptr, nullptr);
	MarkGUCPrefixReserved("pg_cutover");
}

} // namespace pgc
