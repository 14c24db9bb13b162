/*
 * settings.hpp: the extension's settings, declared when the module loads (pg_cutover.cpp's _PG_init), so that
 * a bad value is refused by SET and the prefix pg_cutover. is reserved: a name it does not declare is an error.
 */
#pragma once

namespace pgc {

/* pg_cutover.pull_format: binary (COPY's binary format where every column allows it, the default) or text. */
enum class PullFormat : int { Binary = 0, Text = 1 };

PullFormat PullFormatSetting();

/*
 * pg_cutover.verify_source: how the source side of migrate_verify (and of migrate_diff's buckets) is computed:
 * sql (the source hashes every row itself, one row of figures comes back), stream (the source sends its rows
 * by COPY and this backend hashes them) or auto (stream when the source is near: a Unix socket, a loopback or
 * a private address; sql otherwise, the default).
 */
enum class VerifySource : int { Sql = 0, Stream = 1, Auto = 2 };

VerifySource VerifySourceSetting();

void DeclareSettings();

} // namespace pgc
