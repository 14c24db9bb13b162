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

int verify_source = static_cast<int>(VerifySource::Auto);

const struct config_enum_entry kVerifySources[] = {
	{"sql", static_cast<int>(VerifySource::Sql), false},
	{"stream", static_cast<int>(VerifySource::Stream), false},
	{"auto", static_cast<int>(VerifySource::Auto), false},
	{nullptr, 0, false},
};

} // namespace

VerifySource
VerifySourceSetting()
{
	return static_cast<VerifySource>(verify_source);
}

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
	DefineCustomEnumVariable("pg_cutover.verify_source",
							 "How migrate_verify and migrate_diff compute the source's side: sql (the source hashes "
							 "its rows), stream (the source sends its rows by COPY and the target hashes them) or "
							 "auto.",
							 "stream moves every row over the network and spares the source's CPU; sql moves a few "
							 "bytes and costs the source about 2 microseconds a row. auto streams from a source on a "
							 "Unix socket, a loopback or a private address.",
							 &verify_source, static_cast<int>(VerifySource::Auto), kVerifySources, PGC_USERSET, 0,
							 nullptr, nullptr, nullptr);
	MarkGUCPrefixReserved("pg_cutover");
}

} // namespace pgc
