/*
 * diff.hpp: the pure parts of migrate_diff (see docs/REFERENCE.md, "migrate_diff").
 *
 * migrate_diff splits the key space into ranges with boundary keys, checksums each range on both sides and
 * looks closer only where the checksums differ. Both sides must put every key in the same range, so the
 * texts that decide it (the bucket expression, the range conditions) are built here once, from the key
 * columns' SQL expressions, and run unchanged by stock PostgreSQL on the source and through SPI on the
 * target. Keys compare in each column type's own order, text-like columns byte by byte (COLLATE "C"), so
 * that two databases with different collations still agree. Boundary values travel as SQL literals of their
 * text form, left untyped so that each side reads them as the type its own column has.
 *
 * Then, for the rows of the differing ranges, CompareRows says which keys differ and how, and
 * DifferingColumns which columns of a changed row. Pure C++: unit-tested without a server.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/checksum.hpp"

namespace pgc::core {

/* A column of the key (the primary key, or a unique index on NOT NULL columns), in index order. */
struct KeyColumn {
	std::string name;		 /* unquoted */
	std::string expression;	 /* its value on this side: t."id", or on the target the source ID a user ID maps back to */
	std::string type = {};	 /* the target's type of the value with its typmod ("integer", "character(4)") */
	bool collatable = false; /* text-like: compared byte by byte (COLLATE "C") */
	/* text-like whose own collation compares byte by byte already (C, POSIX): compared without a COLLATE
	 * clause, so that an index on the column serves the range conditions */
	bool byte_ordered = false;
};

/* A key value as the text of each of its columns (std::nullopt: NULL, which only a source row can have). */
using KeyValue = std::vector<std::optional<std::string>>;

/*
 * A part of the key space: the keys k with lo <= k < hi (no lo: from the first key on; no hi: to the last).
 * With `null_keys`, the source's rows with a NULL in a key column instead (they belong to no range).
 */
struct KeyRange {
	std::optional<KeyValue> lo;
	std::optional<KeyValue> hi;
	bool null_keys = false;
};

/* An SQL string literal, E'...' when it holds a backslash, so it reads the same whatever
 * standard_conforming_strings is; NULL for std::nullopt. */
std::string QuoteLiteral(const std::optional<std::string> &value);

/* The key as one value to compare: (expr), (expr) COLLATE "C", or ROW(...) of them for a composite key. */
std::string KeyComparand(const std::vector<KeyColumn> &key);

/* A key value as an untyped literal ('5') or a ROW of them, to compare with KeyComparand. */
std::string KeyLiteral(const KeyValue &value);

/* The text of each key column, comma-separated: (e1)::text, (e2)::text. */
std::string KeyTextsSql(const std::vector<KeyColumn> &key);

/* ORDER BY items putting rows in key order (text-like columns in byte order). */
std::string KeyOrderSql(const std::vector<KeyColumn> &key);

/* Whether a key column is NULL: (e1) IS NULL OR (e2) IS NULL. */
std::string KeyIsNullSql(const std::vector<KeyColumn> &key);

/*
 * The bucket of a row's key among sorted boundary keys t0 < t1 < ... < tn-1: 0 below t0, i for
 * t(i-1) <= key < ti, n from tn-1 on. A balanced tree of CASE WHEN key < t THEN ... so that each row costs
 * about log2(n) comparisons of the key's own type (width_bucket walks a text or record array element by
 * element). With `null_bucket`, a row with a NULL key column goes to bucket -1. "0" without boundaries.
 */
std::string BucketSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &thresholds, bool null_bucket);

/* The keys of bucket `bucket` of BucketSql, within `parent` (whose lo and hi the end buckets keep). */
KeyRange BucketRange(const KeyRange &parent, const std::vector<KeyValue> &thresholds, int bucket);

/* A condition true for the rows of the range: key >= lo AND key < hi, "true" for the whole key space. */
std::string RangeSql(const std::vector<KeyColumn> &key, const KeyRange &range);

/* The rows of any of the ranges: (range) OR (range) ...; "false" for none. */
std::string RangesSql(const std::vector<KeyColumn> &key, const std::vector<KeyRange> &ranges);

/*
 * The rows whose key is one of `values`: key IN (...), in the columns' own collations (equal keys are equal
 * bytes in any deterministic collation), so a key index can serve it. NULL keys are matched with IS NULL.
 */
std::string KeyInSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &values);

/*
 * A query giving the positions (0-based) of `values` in key order: the target sorts them, with the key
 * columns' own types (KeyColumn::type) and byte order for text-like columns; NULL keys first.
 */
std::string SortKeysSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &values);

/*
 * Boundaries that cut `sorted` (keys in key order, a sample or every m-th key) into `buckets` parts of about
 * the same size: every (size / buckets)-th key, each boundary once. Fewer when there are fewer keys.
 */
std::vector<KeyValue> PickThresholds(const std::vector<KeyValue> &sorted, std::size_t buckets);

/* Parses the decimal digits of an unsigned integer below 2^128 (a numeric sum of the source). */
bool ParseUint128(std::string_view text, uint128 &value);

/* A row of a differing range: its key and the md5 of its canonical row text. */
struct KeyedRow {
	KeyValue key;
	std::string hash;
};

enum class DiffStatus { Missing, Extra, Changed };

const char *StatusName(DiffStatus status);

/* A difference: a key on the source only (missing), on the target only (extra), or on both with other values. */
struct Difference {
	KeyValue key;
	DiffStatus status = DiffStatus::Changed;
	std::string source_hash;		  /* the row's hash on the source (missing, changed) */
	std::string target_hash;		  /* and on the target (extra, changed) */
	std::vector<std::string> columns; /* changed: the columns whose values differ */
};

/*
 * The differences between the rows of the same ranges on both sides, each key once, in the order the keys
 * first appear (source rows first). A key with one row on each side whose hashes differ is changed. A
 * key the source holds several times (a source without the key's constraint) is compared as a multiset:
 * rows with equal hashes cancel out, then pairs of the rest are changed and what is left is missing or extra.
 */
std::vector<Difference> CompareRows(const std::vector<KeyedRow> &source, const std::vector<KeyedRow> &target);

/* The names of the columns whose values (text, std::nullopt for NULL) differ; `names` in canonical order. */
std::vector<std::string> DifferingColumns(const std::vector<std::string> &names,
										  const std::vector<std::optional<std::string>> &source,
										  const std::vector<std::optional<std::string>> &target);

/* How one side reads the table. */
struct DiffSide {
	std::string from;				 /* what follows FROM: "ONLY s.t AS t", and the joins the expressions read */
	std::string row;				 /* ROW(...) of the columns in canonical order (CanonicalRowExpression) */
	std::vector<std::string> values; /* each column's value, in canonical order */
	std::vector<KeyColumn> key;
	std::string filter; /* a condition on every row read besides the query's own (key ranges); "": none */
};

/* How migrate_diff's NOTICE begins when it compared only the key ranges that differed at the table's last
 * verification; cutover diff finds that notice by it. */
constexpr std::string_view kOnlyRangesNotice = "migrate_diff compared key range";

/* `where` and the side's filter. */
std::string WhereSql(const DiffSide &side, const std::string &where);

/*
 * The source's checksum of each bucket of the rows matching `where`: rows (b, count, sum_high, sum_low),
 * the sums as exact decimal numerics, as SourceChecksumSelect computes them for a whole table.
 */
std::string BucketSumsSql(const DiffSide &side, const std::string &bucket, const std::string &where);

/*
 * The COPY that sends, for each row matching `where`, its bucket and then each column's value in canonical
 * order, for the buckets' checksums computed by the receiver (CopyBucketChecksums, pg_cutover.verify_source =
 * stream): the source only reads and prints its rows. The values travel in UTF-8, as the source's SQL hashes
 * them (client_encoding set for the COPY, reset to the session's after it), inside the caller's transaction.
 */
std::string BucketRowsSql(const DiffSide &side, const std::string &bucket, const std::string &where);

/* The key columns' texts and the md5 of the canonical row text of the rows matching `where`. */
std::string RowHashesSql(const DiffSide &side, const std::string &where);

/* The same followed by the text of every column, for the rows whose values are compared column by column. */
std::string RowValuesSql(const DiffSide &side, const std::string &where);

/* The key columns' texts of every `every`-th row matching `where`, in key order: where to split a range. */
std::string SplitPointsSql(const DiffSide &side, const std::string &where, std::int64_t every);

/* One string per key value, for maps: equal for equal keys, different for different ones (NULLs included). */
std::string KeyId(const KeyValue &key);

/* A key as migrate_diff prints it: the column's text for a one-column key, ROW(...)::text's form otherwise. */
std::optional<std::string> KeyText(const KeyValue &value);

} // namespace pgc::core
