/*
 * settings.hpp: the extension's settings, declared when the module loads (pg_cutover.cpp's _PG_init), so that
 * a bad value is refused by SET and the prefix pg_cutover. is reserved: a name it does not declare is an error.
 */
#pragma once

namespace pgc {

/* pg_cutover.pull_format: binary (COPY's binary format where every column allows it, the default) or text. */
enum class PullFormat : int { Binary = 0, Text = 1 };

PullFormat PullFormatSetting();

void DeclareSettings();

} // namespace pgc
