/*
 * diff_report.hpp: what `cutover diff TABLE` prints from migrate_diff's rows: an aligned table and a summary
 * line, or JSON. Pure: no database, unit-tested.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover {

/* One row of migrate_diff: the key (NULL for a source row with a NULL key), its status and, for a changed
 * row, the columns that differ. */
struct DiffRow {
	std::optional<std::string> key;
	std::string status; /* missing, extra or changed */
	std::vector<std::string> columns;
};

struct DiffReport {
	std::string table; /* schema-qualified */
	std::vector<DiffRow> rows;
	bool stopped = false;	 /* more rows differ than were asked for */
	std::string only_ranges; /* the extension's notice when it compared only the key ranges that differed */
};

/*
 * "public.sites: 3 rows differ (1 missing, 1 extra, 1 changed)", "public.sites: no rows differ", or for a
 * report cut short "public.sites: stopped after 100 differing rows (...); more rows differ: raise --max-rows".
 */
std::string DiffSummary(const DiffReport &report);

/* The rows as an aligned table (key | status | columns), then the summary line (and the notice of ranges). */
std::string DiffTable(const DiffReport &report);

/* {"table": ..., "differences": [{"key", "status", "columns"}], "summary": {"rows", "missing", "extra",
 * "changed", "stopped", "only_ranges"}}. */
nlohmann::json DiffJson(const DiffReport &report);

} // namespace cutover
