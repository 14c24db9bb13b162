/*
 * diff.cpp: migrate_diff(tbl, max_rows) says which rows of a table differ between the source and the target.
 *
 * It bisects the key space with checksums, as data-diff does across databases, without copying either table:
 *
 *  1. Boundaries. A sample of the target's keys (TABLESAMPLE BERNOULLI, REPEATABLE: rows drawn one by one, so
 *     keys stored together on a page do not crowd the sample) in key order gives up to 4,096 boundary keys
 *     cutting the table into buckets of about 1,000 rows.
 *  2. One pass on each side, at the same time. The source (plain SQL over libpq) and the target (SPI, the
 *     migrate_bucket_agg aggregate in C++) each put every row in its bucket with the same SQL expression and
 *     return the canonical checksum of each bucket. User-ID columns on the target are mapped back to source
 *     IDs first, as migrate_verify does, and so is a key that holds user IDs.
 *  3. Only the buckets whose (rows, checksum) differ are looked at. One with at most 4,000 rows on each side
 *     is a leaf: both sides send the key and the md5 of every row in it (one query per side for a batch of
 *     leaves); a larger one is cut again at every m-th key of the side that has more rows, and its parts are
 *     checksummed like the whole table was.
 *  4. Keys with rows on one side only are missing or extra; keys whose row hashes differ are changed, and
 *     their rows are read in full on both sides to name the columns that differ.
 *
 * Differences come out in key order; after max_rows of them migrate_diff stops and says so in a NOTICE. The
 * source is read in one REPEATABLE READ READ ONLY transaction, the target in the caller's; nothing is
 * written anywhere.
 */
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/diff.hpp"
#include "core/sql.hpp"
#include "guard.hpp"
#include "pg/compat.hpp"
#include "pg/datum.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"
#include "catalog.hpp"
#include "source.hpp"
#include "unmap.hpp"
#include "verify.hpp"

namespace pgc {

namespace {

constexpr std::int64_t kBucketRows = 1000;	/* the rows a bucket aims at */
constexpr std::int64_t kLeafRows = 4000;	/* a differing range with at most this many rows per side: row by row */
constexpr std::size_t kMaxBuckets = 4096;	/* boundaries per level: the bucket expression grows with them */
constexpr std::int64_t kBatchRows = 20000;	/* rows per side fetched by one query for a batch of leaves */
constexpr std::size_t kBatchRanges = 256;	/* ranges per such query */
constexpr std::int64_t kSampleRows = 20000; /* at least this many sampled keys (all of a smaller table) */
constexpr int kSamplePerBucket = 8;			/* sampled keys per bucket */
constexpr int kMaxDepth = 16;

/* A range whose (rows, checksum) differ between the sides. */
struct RangeWork {
	core::KeyRange range;
	std::int64_t source_rows = 0;
	std::int64_t target_rows = 0;
	bool leaf = false; /* compare row by row whatever its size (it cannot be cut further) */
};

std::int64_t
ParseInt64(const char *text, const std::string &what)
{
	std::int64_t value = 0;
	auto [end, error] = std::from_chars(text, text + std::strlen(text), value);
	if (error != std::errc() || *end != '\0')
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source returned \"" + std::string(text) + "\" as " + what);
	return value;
}

/* A key column of the target, as the catalogs describe it. */
struct KeyColumnInfo {
	std::string name;
	std::string type;	   /* format_type with typmod */
	std::string base_type; /* format_type of the base type, without typmod */
	bool collatable = false;
	bool byte_ordered = false; /* its collation is C or POSIX */
};

/* The primary key, else the unique index on NOT NULL columns with the fewest columns (then by name). */
std::vector<KeyColumnInfo>
FindKey(const pg::TableInfo &table)
{
	if (table.relkind == RELKIND_VIEW || table.relkind == RELKIND_FOREIGN_TABLE)
		throw Error(ERRCODE_WRONG_OBJECT_TYPE,
					table.qualified + " is a " + (table.relkind == RELKIND_VIEW ? "view" : "foreign table") +
						": migrate_diff compares tables",
					"", "migrate_verify compares views and foreign tables as a whole.");
	pg::Spi spi;
	spi.Execute(
		"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
		"       pg_catalog.format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL), "
		"       a.attcollation <> 0, a.attcollation "
		"FROM (SELECT i.indkey, i.indnkeyatts FROM pg_catalog.pg_index i "
		"      WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
		"        AND i.indexprs IS NULL "
		"        AND NOT EXISTS (SELECT FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord) "
		"                        JOIN pg_catalog.pg_attribute c ON c.attrelid = i.indrelid AND c.attnum = u.attnum "
		"                        WHERE u.ord <= i.indnkeyatts AND NOT c.attnotnull) "
		"      ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid::regclass::text LIMIT 1) AS x "
		"CROSS JOIN LATERAL pg_catalog.unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = $1 AND a.attnum = k.attnum "
		"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"WHERE k.ord <= x.indnkeyatts ORDER BY k.ord",
		true, {{OIDOID, std::to_string(table.relid)}});
	std::vector<KeyColumnInfo> key;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		KeyColumnInfo column{spi.GetText(row, 0), spi.GetText(row, 1), spi.GetText(row, 2), spi.GetText(row, 3) == "t"};
		Oid collation = static_cast<Oid>(std::stoul(spi.GetText(row, 4)));
		column.byte_ordered = column.collatable && pg::Call([&] { return pg::CollationIsC(collation); });
		key.push_back(std::move(column));
	}
	if (key.empty())
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					"table " + table.qualified + " has no primary key and no unique key on NOT NULL columns",
					"migrate_diff finds rows by their key.",
					"Add one on the target (ALTER TABLE " + table.qualified +
						" ADD PRIMARY KEY (...), or a unique index on NOT NULL columns) and run migrate_diff again; "
						"migrate_verify compares a table without a key.");
	return key;
}

/*
 * Text against varchar sorts and prints alike, and so does an integer against a wider one on the target (every
 * source key fits it); any other pair of different types may not.
 */
bool
SameKeyType(const std::string &source, const std::string &target)
{
	auto width = [](const std::string &type) {
		return type == "smallint" ? 2 : type == "integer" ? 4 : type == "bigint" ? 8 : 0;
	};
	if (width(source) > 0 && width(target) > 0)
		return width(target) >= width(source);
	auto family = [](const std::string &type) -> std::string { return type == "character varying" ? "text" : type; };
	return family(source) == family(target);
}

/*
 * Fails (42804) unless each key column has the same type on the source (a domain counting as its base type).
 * Returns the key columns whose collation on the source compares byte by byte (C or POSIX, or the database's
 * default when that is C or POSIX under libc).
 */
std::set<std::string>
CheckSourceKeyTypes(SourceConnection &source, const pg::TableInfo &table, const std::vector<KeyColumnInfo> &key)
{
	SourceResult result = source.Exec(
		"SELECT a.attname, pg_catalog.format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, "
		"NULL), coalesce(co.collnamespace = 'pg_catalog'::pg_catalog.regnamespace AND (co.collname IN ('C', "
		"'POSIX') OR (co.collname = 'default' AND d.datcollate IN ('C', 'POSIX') AND "
		"coalesce(pg_catalog.to_jsonb(d) ->> 'datlocprovider', 'c') = 'c')), false) "
		"FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
		"JOIN pg_catalog.pg_database d ON d.datname = pg_catalog.current_database() "
		"WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped",
		{table.qualified});
	std::map<std::string, std::string> types;
	std::set<std::string> byte_ordered;
	for (int row = 0; row < PQntuples(result.get()); row++) {
		types[PQgetvalue(result.get(), row, 0)] = PQgetvalue(result.get(), row, 1);
		if (std::strcmp(PQgetvalue(result.get(), row, 2), "t") == 0)
			byte_ordered.insert(PQgetvalue(result.get(), row, 0));
	}
	for (const auto &column : key) {
		auto it = types.find(column.name);
		if (it == types.end())
			continue; /* CheckSourceColumns said so already */
		if (!SameKeyType(it->second, column.base_type))
			throw Error(ERRCODE_DATATYPE_MISMATCH,
						"key column " + column.name + " of table " + table.qualified + " is " + it->second +
							" on the source and " + column.base_type + " on the target",
						"migrate_diff compares keys in their type's order, which must be the same on both sides.",
						"Give the key column the same type on both sides (an integer may be wider on the target).");
	}
	return byte_ordered;
}

class Diff
{
  public:
	Diff(FunctionCallInfo fcinfo, Oid relid, int max_rows) : fcinfo_(fcinfo), max_rows_(max_rows)
	{
		table_ = pg::DescribeTable(relid);
	}

	void Run();

	const std::vector<core::Difference> &
	Differences() const
	{
		return results_;
	}
	bool
	Stopped() const
	{
		return stopped_;
	}
	const pg::TableInfo &
	Table() const
	{
		return table_;
	}

  private:
	void BuildSides(const std::vector<KeyColumnInfo> &key, const std::vector<core::RemapMode> &modes,
					const std::set<std::string> &source_byte_ordered);
	bool KeyHoldsUserIds(const KeyColumnInfo &column);
	std::vector<core::KeyValue> FirstThresholds();
	std::vector<RangeWork> CompareBuckets(const core::KeyRange &range, const std::vector<core::KeyValue> &thresholds,
										  bool top);
	void Process(const std::vector<RangeWork> &ranges, int depth);
	void Split(const RangeWork &work, int depth);
	void FlushLeaves();
	void AddDifferences(std::vector<core::Difference> differences);
	void NameChangedColumns(std::vector<core::Difference> &differences);

	/* Runs `body(spi)` on the target: as the extension's owner when its key is read through the ID map. */
	template <typename Body>
	void
	OnTarget(Body body)
	{
		if (key_mapped_) {
			pg::AsExtensionOwner owner(fcinfo_);
			pg::Spi spi;
			body(spi);
		} else {
			pg::Spi spi;
			body(spi);
		}
	}

	/* The rows of the query sent to the source last (RowHashesSql or RowValuesSql; with `values`, their columns). */
	std::vector<core::KeyedRow> SourceRows(std::vector<std::vector<std::optional<std::string>>> *values);
	/* The same for the query SPI ran last on the target. */
	std::vector<core::KeyedRow> TargetRows(pg::Spi &spi, std::vector<std::vector<std::optional<std::string>>> *values);

	FunctionCallInfo fcinfo_;
	int max_rows_;
	pg::TableInfo table_;
	std::optional<SourceConnection> source_;
	std::optional<UnmapScope> scope_;
	bool mapped_ = false;	  /* rows are read back through scope_ */
	bool key_mapped_ = false; /* the key is read through the ID map (as the extension's owner) */
	std::string target_bucket_aggregate_;
	core::DiffSide source_side_;
	core::DiffSide target_side_;
	std::string target_key_joins_; /* the joins the target's key expressions read (for the sample) */
	std::string target_aggregate_args_;
	std::vector<std::string> column_names_;

	std::vector<RangeWork> pending_; /* leaves waiting for FlushLeaves */
	std::int64_t pending_rows_ = 0;
	std::vector<core::Difference> results_;
	bool stopped_ = false;
};

/*
 * Whether a key column on the target holds Stack Auth IDs, so that its keys must be compared as the Supabase
 * IDs they map back to (a uuid or string key written by value; a user-ID key always does).
 */
bool
Diff::KeyHoldsUserIds(const KeyColumnInfo &column)
{
	core::ValueType type = core::ValueTypeOf(column.base_type);
	if (!core::HoldsWholeIds(type) || type.array)
		return false;
	std::string value = "t." + pg::QuoteIdentifier(column.name);
	bool found = false;
	pg::AsExtensionOwner owner(fcinfo_);
	pg::Spi spi;
	spi.Execute("SELECT EXISTS (SELECT FROM " + table_.scan + " AS t JOIN cutover.id_map AS m ON " +
					(type.element == core::ValueClass::Uuid ? "m.target_id = " + value
															: "m.target_id::text = pg_catalog.lower(" + value + ")") +
					")",
				true);
	found = spi.GetText(0, 0) == "t";
	return found;
}

void
Diff::BuildSides(const std::vector<KeyColumnInfo> &key, const std::vector<core::RemapMode> &modes,
				 const std::set<std::string> &source_byte_ordered)
{
	mapped_ = scope_->Needed();
	auto mode_of = [&](const std::string &name) {
		for (std::size_t i = 0; i < table_.columns.size(); i++)
			if (table_.columns[i].name == name)
				return modes[i];
		return core::RemapMode::Off;
	};

	int key_maps = 0;
	for (const auto &column : key) {
		std::string quoted = pg::QuoteIdentifier(column.name);
		std::string value = "t." + quoted;
		/* the base type, without typmod: casting to a domain would run its CHECK, a function of anyone's */
		source_side_.key.push_back({column.name, value, column.base_type, column.collatable,
									column.collatable && source_byte_ordered.count(column.name) > 0});
		core::KeyColumn target{column.name, value, column.base_type, column.collatable, column.byte_ordered};
		core::RemapMode mode = mode_of(column.name);
		core::ValueType type = core::ValueTypeOf(column.base_type);
		if (mapped_ && mode == core::RemapMode::Strict && (type.array || !core::HoldsWholeIds(type)))
			throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
						"key column " + column.name + " of table " + table_.qualified + " holds user IDs in an array",
						"", "migrate_diff needs a key whose values it can map back to source IDs.");
		if (mapped_ && mode != core::RemapMode::Off && (mode == core::RemapMode::Strict || KeyHoldsUserIds(column))) {
			/* a key holding user IDs is compared as the source ID it maps back to; an unmapped one stays */
			std::string map = "k" + std::to_string(++key_maps);
			target.byte_ordered = false;
			if (type.element == core::ValueClass::Uuid) {
				target_key_joins_ += " LEFT JOIN cutover.id_map AS " + map + " ON " + map + ".target_id = " + value;
				target.expression = "coalesce(" + map + ".source_id, " + value + ")";
			} else {
				target_key_joins_ += " LEFT JOIN cutover.id_map AS " + map + " ON " + map +
									 ".target_id::text = pg_catalog.lower(" + value + ")";
				target.expression = "CASE WHEN " + map + ".source_id IS NULL THEN " + value + "::text WHEN " + value +
									" ~ '[A-F]' AND " + value + " !~ '[a-f]' THEN pg_catalog.upper(" + map +
									".source_id::text) ELSE " + map + ".source_id::text END";
			}
		}
		target_side_.key.push_back(target);
	}
	key_mapped_ = key_maps > 0;

	source_side_.from = table_.scan + " AS t";
	target_side_.from = table_.scan + " AS t" + target_key_joins_;
	source_side_.row = core::CanonicalRowExpression("t", table_.columns);
	for (const auto &column : table_.columns) {
		source_side_.values.push_back("t." + column.quoted);
		column_names_.push_back(column.name);
	}
	if (mapped_) {
		/* the whole row, read back in the scope: user IDs mapped back, Supabase IDs left on the target marked */
		target_side_.row = "cutover.migrate_unmapped_row(t.*)";
		for (std::size_t i = 0; i < table_.columns.size(); i++)
			target_side_.values.push_back("(cutover.migrate_unmapped_values(t.*))[" + std::to_string(i + 1) + "]");
		target_bucket_aggregate_ = "cutover.migrate_unmapped_bucket_agg";
		target_aggregate_args_ = "t.*";
	} else {
		target_side_.row = source_side_.row;
		target_side_.values = source_side_.values;
		target_bucket_aggregate_ = "cutover.migrate_bucket_agg";
		/* the aggregate takes the state, the bucket and at most 98 more arguments */
		target_aggregate_args_ = core::AggregateArguments("t", table_.columns, 98);
	}
}

/* Boundaries for the first level, from a sample of the target's keys; none for a small (or empty) table. */
std::vector<core::KeyValue>
Diff::FirstThresholds()
{
	double estimate = 0;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(
			"SELECT coalesce(sum(CASE WHEN c.relpages > 0 AND c.reltuples >= 0 THEN c.reltuples / c.relpages "
			"ELSE 50 END * pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::int), "
			"0)::bigint FROM pg_catalog.pg_class c WHERE (c.oid = $1 OR c.oid IN (SELECT relid FROM "
			"pg_catalog.pg_partition_tree($1) WHERE isleaf)) AND c.relkind IN ('r', 'm')",
			true, {{OIDOID, std::to_string(table_.relid)}});
		estimate = static_cast<double>(spi.GetInt64(0, 0));
	});
	if (estimate <= kLeafRows)
		return {};
	double buckets = std::min<double>(kMaxBuckets, std::ceil(estimate / kBucketRows));
	double wanted = std::max<double>(kSampleRows, buckets * kSamplePerBucket);
	double percent = std::min(100.0, 100.0 * wanted / estimate);
	char percent_text[32];
	snprintf(percent_text, sizeof(percent_text), "%.6f", percent);

	std::vector<core::KeyValue> sample;
	std::string sql = "SELECT " + core::KeyTextsSql(target_side_.key) + " FROM " + table_.scan +
					  " AS t TABLESAMPLE BERNOULLI (" + percent_text + ") REPEATABLE (0)" + target_key_joins_ +
					  " ORDER BY " + core::KeyOrderSql(target_side_.key);
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(sql, true);
		int columns = static_cast<int>(target_side_.key.size());
		for (uint64_t row = 0; row < spi.Rows(); row++) {
			core::KeyValue key;
			for (int i = 0; i < columns; i++)
				key.push_back(spi.GetText(row, i));
			sample.push_back(std::move(key));
		}
	});
	double sampled = static_cast<double>(sample.size()) * 100.0 / percent;
	auto count = static_cast<std::size_t>(std::clamp(std::ceil(sampled / kBucketRows), 1.0, double(kMaxBuckets)));
	return core::PickThresholds(sample, count);
}

/*
 * Checksums the buckets of `range` cut at `thresholds` on both sides at once; returns the buckets that
 * differ, in key order (the source's rows with a NULL key first, at the top level).
 */
std::vector<RangeWork>
Diff::CompareBuckets(const core::KeyRange &range, const std::vector<core::KeyValue> &thresholds, bool top)
{
	std::string source_sql = core::BucketSumsSql(source_side_, core::BucketSql(source_side_.key, thresholds, top),
												 top ? "true" : core::RangeSql(source_side_.key, range));
	std::string target_sql = "SELECT " + target_bucket_aggregate_ + "(" +
							 core::BucketSql(target_side_.key, thresholds, false) + ", " + target_aggregate_args_ +
							 ") FROM " + target_side_.from + " WHERE " + core::RangeSql(target_side_.key, range);

	source_->Send(source_sql);
	std::string target_sums;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(target_sql, true);
		target_sums = spi.GetBytes(0, 0);
	});
	SourceResult result = source_->Wait();
	if (!result || PQnfields(result.get()) != 4)
		throw Error(ERRCODE_PROTOCOL_VIOLATION,
					"the source returned no bucket checksums for table " + table_.qualified);

	std::map<int, core::Checksum> sums;
	for (int row = 0; row < PQntuples(result.get()); row++) {
		int bucket = static_cast<int>(ParseInt64(PQgetvalue(result.get(), row, 0), "a bucket number"));
		core::Checksum &sum = sums[bucket];
		sum.rows = ParseInt64(PQgetvalue(result.get(), row, 1), "a row count");
		if (!core::ParseUint128(PQgetvalue(result.get(), row, 2), sum.sum_high) ||
			!core::ParseUint128(PQgetvalue(result.get(), row, 3), sum.sum_low))
			throw Error(ERRCODE_PROTOCOL_VIOLATION,
						"the source returned a malformed checksum sum for table " + table_.qualified);
	}
	std::map<int, core::Checksum> target;
	constexpr std::size_t size = core::Checksum::kSerializedSize;
	for (std::size_t i = 0; i * size < target_sums.size(); i++) {
		core::Checksum sum =
			core::Checksum::Deserialize(reinterpret_cast<const unsigned char *>(target_sums.data()) + i * size);
		if (sum.rows > 0)
			target[static_cast<int>(i)] = sum;
	}
	for (const auto &[bucket, sum] : target)
		sums.emplace(bucket, core::Checksum());

	std::vector<RangeWork> differing;
	for (const auto &[bucket, source_sum] : sums) {
		auto it = target.find(bucket);
		core::Checksum target_sum = it == target.end() ? core::Checksum() : it->second;
		if (source_sum == target_sum)
			continue;
		differing.push_back(
			{core::BucketRange(range, thresholds, bucket), source_sum.rows, target_sum.rows, bucket < 0});
	}
	return differing;
}

void
Diff::Run()
{
	std::vector<KeyColumnInfo> key = FindKey(table_);

	source_.emplace(SourceConnection::Open());
	CheckSourceColumns(*source_, table_);
	std::vector<std::string> user_id_columns = UserIdColumns(fcinfo_, *source_, table_);
	std::set<std::string> source_byte_ordered = CheckSourceKeyTypes(*source_, table_, key);
	std::vector<core::RemapMark> marks;
	core::IdMap map;
	{
		pg::AsExtensionOwner owner(fcinfo_);
		pg::Spi spi;
		marks = ReadRemapMarks(spi);
		map = ReadMapBack(spi);
	}
	std::vector<core::RemapMode> modes = ColumnModes(table_, user_id_columns, marks);
	scope_.emplace(table_, modes, std::move(map));
	BuildSides(key, modes, source_byte_ordered);
	if (key_mapped_) {
		Oid relid = table_.relid;
		pg::Call([&] { check_enable_rls(relid, InvalidOid, false); });
	}

	/* One snapshot of the source for every query; BucketSql's CASE trees are not worth compiling (JIT). */
	source_->Send("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n" + core::FixedSettingsSql() +
				  "SET LOCAL jit = off;\n");
	source_->Wait();

	std::vector<core::KeyValue> thresholds = FirstThresholds();
	Process(CompareBuckets(core::KeyRange(), thresholds, true), 0);
	FlushLeaves();
	source_->Exec("COMMIT");
}

/* Goes through differing ranges in key order: leaves are batched, larger ranges cut and compared again. */
void
Diff::Process(const std::vector<RangeWork> &ranges, int depth)
{
	for (const auto &work : ranges) {
		pg::CheckForInterrupts();
		if (stopped_)
			return;
		if (static_cast<std::int64_t>(results_.size()) >= max_rows_) {
			/* a range whose checksums differ holds at least one more difference */
			stopped_ = true;
			return;
		}
		std::int64_t rows = std::max(work.source_rows, work.target_rows);
		if (work.leaf || rows <= kLeafRows || depth >= kMaxDepth) {
			if (!pending_.empty() && (pending_rows_ + rows > kBatchRows || pending_.size() >= kBatchRanges))
				FlushLeaves();
			if (stopped_)
				return;
			pending_.push_back(work);
			pending_rows_ += rows;
			continue;
		}
		FlushLeaves();
		if (stopped_)
			return;
		if (static_cast<std::int64_t>(results_.size()) >= max_rows_) {
			stopped_ = true;
			return;
		}
		Split(work, depth);
	}
}

/* Cuts a large differing range at every m-th key of the side that has more rows, and compares the parts. */
void
Diff::Split(const RangeWork &work, int depth)
{
	std::int64_t rows = std::max(work.source_rows, work.target_rows);
	std::int64_t buckets = std::min<std::int64_t>(kMaxBuckets, (rows + kBucketRows - 1) / kBucketRows);
	std::int64_t every = std::max<std::int64_t>(1, (rows + buckets - 1) / buckets);
	std::vector<core::KeyValue> points;
	std::size_t columns = source_side_.key.size();
	if (work.source_rows >= work.target_rows) {
		SourceResult result =
			source_->Exec(core::SplitPointsSql(source_side_, core::RangeSql(source_side_.key, work.range), every));
		for (int row = 0; row < PQntuples(result.get()); row++) {
			core::KeyValue key;
			bool null_key = false;
			for (std::size_t i = 0; i < columns; i++) {
				null_key = null_key || PQgetisnull(result.get(), row, static_cast<int>(i));
				key.push_back(std::string(PQgetvalue(result.get(), row, static_cast<int>(i))));
			}
			if (!null_key) /* a NULL key is no point to cut at: such rows have a range of their own */
				points.push_back(std::move(key));
		}
	} else {
		OnTarget([&](pg::Spi &spi) {
			spi.Execute(core::SplitPointsSql(target_side_, core::RangeSql(target_side_.key, work.range), every), true);
			for (uint64_t row = 0; row < spi.Rows(); row++) {
				core::KeyValue key;
				for (std::size_t i = 0; i < columns; i++)
					key.push_back(spi.GetText(row, static_cast<int>(i)));
				points.push_back(std::move(key));
			}
		});
	}
	/* a source without the key's constraint may repeat a key: each boundary once */
	points.erase(std::unique(points.begin(), points.end()), points.end());
	if (points.empty()) {
		RangeWork leaf = work;
		leaf.leaf = true;
		Process({leaf}, depth + 1);
		return;
	}
	std::vector<RangeWork> parts = CompareBuckets(work.range, points, false);
	for (auto &part : parts)
		if (part.source_rows == work.source_rows && part.target_rows == work.target_rows)
			part.leaf = true; /* no smaller than before (one key repeated): row by row */
	Process(parts, depth + 1);
}

std::vector<core::KeyedRow>
Diff::SourceRows(std::vector<std::vector<std::optional<std::string>>> *values)
{
	SourceResult result = source_->Wait();
	std::vector<core::KeyedRow> rows;
	if (!result)
		return rows;
	int columns = static_cast<int>(source_side_.key.size());
	int fields = PQnfields(result.get());
	for (int row = 0; row < PQntuples(result.get()); row++) {
		core::KeyedRow keyed;
		for (int i = 0; i < columns; i++)
			keyed.key.push_back(PQgetisnull(result.get(), row, i)
									? std::nullopt
									: std::optional<std::string>(PQgetvalue(result.get(), row, i)));
		keyed.hash = PQgetvalue(result.get(), row, columns);
		if (values != nullptr) {
			std::vector<std::optional<std::string>> fields_of_row;
			for (int f = columns + 1; f < fields; f++)
				fields_of_row.push_back(PQgetisnull(result.get(), row, f)
											? std::nullopt
											: std::optional<std::string>(PQgetvalue(result.get(), row, f)));
			values->push_back(std::move(fields_of_row));
		}
		rows.push_back(std::move(keyed));
	}
	return rows;
}

std::vector<core::KeyedRow>
Diff::TargetRows(pg::Spi &spi, std::vector<std::vector<std::optional<std::string>>> *values)
{
	std::vector<core::KeyedRow> rows;
	int columns = static_cast<int>(target_side_.key.size());
	int fields = columns + 1 + (values != nullptr ? static_cast<int>(target_side_.values.size()) : 0);
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		if ((row & 1023) == 0)
			pg::CheckForInterrupts();
		core::KeyedRow keyed;
		for (int i = 0; i < columns; i++)
			keyed.key.push_back(spi.IsNull(row, i) ? std::nullopt : std::optional<std::string>(spi.GetText(row, i)));
		keyed.hash = spi.GetText(row, columns);
		if (values != nullptr) {
			std::vector<std::optional<std::string>> fields_of_row;
			for (int f = columns + 1; f < fields; f++)
				fields_of_row.push_back(spi.IsNull(row, f) ? std::nullopt
														   : std::optional<std::string>(spi.GetText(row, f)));
			values->push_back(std::move(fields_of_row));
		}
		rows.push_back(std::move(keyed));
	}
	return rows;
}

/* Compares the rows of every pending leaf on both sides (one query per side) and records the differences. */
void
Diff::FlushLeaves()
{
	if (pending_.empty() || stopped_)
		return;
	std::vector<core::KeyRange> ranges;
	for (const auto &work : pending_)
		ranges.push_back(work.range);
	pending_.clear();
	pending_rows_ = 0;

	source_->Send(core::RowHashesSql(source_side_, core::RangesSql(source_side_.key, ranges)));
	std::vector<core::KeyedRow> target_rows;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(core::RowHashesSql(target_side_, core::RangesSql(target_side_.key, ranges)), true);
		target_rows = TargetRows(spi, nullptr);
	});
	std::vector<core::KeyedRow> source_rows = SourceRows(nullptr);
	AddDifferences(core::CompareRows(source_rows, target_rows));
}

/* Puts a batch's differences in key order, keeps what max_rows allows, and names the changed columns. */
void
Diff::AddDifferences(std::vector<core::Difference> differences)
{
	if (differences.size() > 1) {
		std::vector<core::KeyValue> keys;
		for (const auto &difference : differences)
			keys.push_back(difference.key);
		std::vector<std::size_t> order;
		{
			/* only a VALUES list: sorted with the caller's rights, never the owner's */
			pg::Spi spi;
			spi.Execute(core::SortKeysSql(target_side_.key, keys), true);
			for (uint64_t row = 0; row < spi.Rows(); row++)
				order.push_back(static_cast<std::size_t>(spi.GetInt64(row, 0)));
		}
		std::vector<core::Difference> sorted;
		for (std::size_t i : order)
			sorted.push_back(std::move(differences[i]));
		differences = std::move(sorted);
	}
	std::size_t room = static_cast<std::size_t>(max_rows_) - results_.size();
	if (differences.size() > room) {
		differences.resize(room);
		stopped_ = true;
	}
	NameChangedColumns(differences);
	for (auto &difference : differences)
		results_.push_back(std::move(difference));
}

/* Reads the changed rows in full on both sides and names the columns whose values differ. */
void
Diff::NameChangedColumns(std::vector<core::Difference> &differences)
{
	std::vector<core::KeyValue> keys;
	for (const auto &difference : differences)
		if (difference.status == core::DiffStatus::Changed)
			keys.push_back(difference.key);
	if (keys.empty())
		return;
	source_->Send(core::RowValuesSql(source_side_, core::KeyInSql(source_side_.key, keys)));
	std::vector<std::vector<std::optional<std::string>>> target_values;
	std::vector<core::KeyedRow> target_rows;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(core::RowValuesSql(target_side_, core::KeyInSql(target_side_.key, keys)), true);
		target_rows = TargetRows(spi, &target_values);
	});
	std::vector<std::vector<std::optional<std::string>>> source_values;
	std::vector<core::KeyedRow> source_rows = SourceRows(&source_values);

	/* the row of each side with the hash the comparison found (a key may repeat on the source) */
	auto index = [](const std::vector<core::KeyedRow> &rows) {
		std::unordered_map<std::string, std::size_t> rows_by_id;
		for (std::size_t i = 0; i < rows.size(); i++)
			rows_by_id.emplace(core::KeyId(rows[i].key) + rows[i].hash, i);
		return rows_by_id;
	};
	std::unordered_map<std::string, std::size_t> source_index = index(source_rows);
	std::unordered_map<std::string, std::size_t> target_index = index(target_rows);
	for (auto &difference : differences) {
		if (difference.status != core::DiffStatus::Changed)
			continue;
		auto s = source_index.find(core::KeyId(difference.key) + difference.source_hash);
		auto t = target_index.find(core::KeyId(difference.key) + difference.target_hash);
		if (s == source_index.end() || t == target_index.end())
			continue; /* changed again since the comparison: the columns stay unnamed */
		difference.columns = core::DifferingColumns(column_names_, source_values[s->second], target_values[t->second]);
	}
}

} // namespace

} // namespace pgc

using namespace pgc;

/* migrate_diff(tbl regclass, max_rows integer) -> SETOF (key text, status text, columns text[]) */
PGC_FUNCTION(migrate_diff)
{
	int max_rows = PG_GETARG_INT32(1);
	if (max_rows <= 0)
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "max_rows must be positive, not " + std::to_string(max_rows), "",
					"Pass the most differences to report, e.g. 1000.");
	Diff diff(fcinfo, PG_GETARG_OID(0), max_rows);
	diff.Run();

	pg::ResultSet result(fcinfo);
	for (const auto &difference : diff.Differences()) {
		std::optional<std::string> key = core::KeyText(difference.key);
		Datum values[3] = {key ? pg::TextDatum(*key) : Datum(0), pg::TextDatum(core::StatusName(difference.status)),
						   difference.status == core::DiffStatus::Changed ? pg::TextArrayDatum(difference.columns)
																		  : Datum(0)};
		bool nulls[3] = {!key, false, difference.status != core::DiffStatus::Changed};
		result.Add(values, nulls);
	}
	if (diff.Stopped()) {
		std::string message = "migrate_diff stopped after " + std::to_string(max_rows) + " differences in table " +
							  diff.Table().qualified;
		pg::Call([&] {
			ereport(NOTICE,
					(errmsg_internal("%s", message.c_str()), errdetail("More rows differ than max_rows allows."),
					 errhint("Fix these and run migrate_diff again, or pass a larger max_rows.")));
		});
	}
	return Datum(0);
}
