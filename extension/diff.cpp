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
 *     return the canonical checksum of each bucket (or the source sends each row with its bucket by COPY and a
 *     thread of this backend hashes them, as migrate_verify streams: pg_cutover.verify_source). User-ID
 *     columns on the target are mapped back to source IDs first, as migrate_verify does, and so is a key that
 *     holds user IDs.
 *  3. Only the buckets whose (rows, checksum) differ are looked at. One with at most 4,000 rows on each side
 *     is a leaf: both sides send the key and the md5 of every row in it (one query per side for a batch of
 *     leaves); a larger one is cut again at every m-th key of the side that has more rows, and its parts are
 *     checksummed like the whole table was.
 *  4. Keys with rows on one side only are missing or extra; keys whose row hashes differ are changed, and
 *     their rows are read in full on both sides to name the columns that differ.
 *
 * A table whose last verification was made in key ranges (verify_ranges.cpp) and failed is read only in the
 * ranges that differed then, on both sides (KeepToDifferingRanges), unless whole_table; a NOTICE says so.
 *
 * Differences come out in key order; after max_rows of them migrate_diff stops and says so in a NOTICE. The
 * source is read in one REPEATABLE READ READ ONLY transaction, the target in the caller's; nothing is
 * written anywhere.
 *
 * Here: the steps above and migrate_diff itself; the Diff they run in is in diff.hpp, the key in diff_key.cpp,
 * step 4 in diff_rows.cpp.
 */
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "copy_reader.hpp"
#include "core/copy_row.hpp"
#include "core/sql.hpp"
#include "diff.hpp"
#include "guard.hpp"
#include "pg/datum.hpp"
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

std::int64_t
ParseInt64(const char *text, const std::string &what)
{
	std::int64_t value = 0;
	auto [end, error] = std::from_chars(text, text + std::strlen(text), value);
	if (error != std::errc() || *end != '\0')
		throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source returned \"" + std::string(text) + "\" as " + what);
	return value;
}

} // namespace

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
		if (mapped_ && mode != core::RemapMode::Off &&
			(mode == core::RemapMode::Strict || KeyHoldsUserIds(fcinfo_, table_, column))) {
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

/*
 * Where the table's last verification was made in key ranges and failed, only the rows of the ranges that
 * differed are read. Each side puts a row in a range by its own values and order (a text key may sort
 * otherwise on the target; a user-ID key holds other IDs there), but a range that matched holds the same rows
 * on both sides, so every difference lies in the ranges that did not, read on both sides.
 */
void
Diff::KeepToDifferingRanges()
{
	if (!whole_table_)
		differing_ = RangesThatDiffered(fcinfo_, table_);
	if (!differing_)
		return;
	std::string filter;
	for (const auto &range : differing_->ranges)
		filter += (filter.empty() ? "(" : " OR (") + RangeCondition(range, *source_, "t") + ")";
	source_side_.filter = filter;
	target_side_.filter = filter;
}

/* Boundaries for the first level, from a sample of the target's keys; none for a small (or empty) table. */
std::vector<core::KeyValue>
Diff::FirstThresholds()
{
	/* the rows read: those of the ranges that differed, as their verification counted them, or the table's */
	double estimate = 0;
	if (differing_)
		estimate = static_cast<double>(differing_->rows);
	else
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

	/*
	 * Kept to some key ranges: their rows read through the key's index, each drawn by a hash of its key (as
	 * REPEATABLE, the same draw every time), instead of a sample from every block of the table.
	 */
	std::string key_text;
	for (const auto &column : target_side_.key)
		key_text += (key_text.empty() ? "(" : " || ',' || (") + column.expression + ")::text";
	/* hashtext is uniform over [-2^31, 2^31): below this, `percent` of the keys */
	std::string drawn =
		"pg_catalog.hashtext(" + key_text + ")::float8 < " + std::to_string(percent / 50 - 1) + " * 2147483648";
	std::string sampled_rows =
		differing_
			? " AS t" + target_key_joins_ + " WHERE " + core::WhereSql(target_side_, drawn)
			: " AS t TABLESAMPLE BERNOULLI (" + std::string(percent_text) + ") REPEATABLE (0)" + target_key_joins_;
	std::vector<core::KeyValue> sample;
	std::string sql = "SELECT " + core::KeyTextsSql(target_side_.key) + " FROM " + table_.scan + sampled_rows +
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

/* The source's checksum of each bucket, as the query BucketSumsSql sent to the source returns them. */
std::map<int, core::Checksum>
Diff::ReadSourceSums()
{
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
	return sums;
}

/*
 * Checksums the buckets of `range` cut at `thresholds` on both sides at once; returns the buckets that
 * differ, in key order (the source's rows with a NULL key first, at the top level). The source hashes its
 * rows (BucketSumsSql), or sends them with their buckets to a thread of this backend that hashes them
 * (BucketRowsSql, pg_cutover.verify_source), while this backend checksums the target's.
 */
std::vector<RangeWork>
Diff::CompareBuckets(const core::KeyRange &range, const std::vector<core::KeyValue> &thresholds, bool top)
{
	std::string bucket_of = core::BucketSql(source_side_.key, thresholds, top);
	std::string where = top ? "true" : core::RangeSql(source_side_.key, range);
	std::string target_sql = "SELECT " + target_bucket_aggregate_ + "(" +
							 core::BucketSql(target_side_.key, thresholds, false) + ", " + target_aggregate_args_ +
							 ") FROM " + target_side_.from + " WHERE " +
							 core::WhereSql(target_side_, core::RangeSql(target_side_.key, range));
	std::string target_sums;
	auto checksum_target = [&] {
		OnTarget([&](pg::Spi &spi) {
			spi.Execute(target_sql, true);
			target_sums = spi.GetBytes(0, 0);
		});
	};
	std::map<int, core::Checksum> sums;
	if (stream_) {
		core::CopyBucketChecksums buckets(table_.columns.size());
		CopyReader rows(*source_, core::BucketRowsSql(source_side_, bucket_of, where),
						"the rows of table " + table_.qualified,
						[&](std::string_view line, std::string &error) { return buckets.Add(line, error); });
		checksum_target();
		rows.Finish();
		sums = buckets.Result();
	} else {
		source_->Send(core::BucketSumsSql(source_side_, bucket_of, where));
		checksum_target();
		sums = ReadSourceSums();
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
	stream_ = StreamsFromSource(*source_);
	KeepToDifferingRanges();

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

} // namespace pgc

using namespace pgc;

namespace {

/* Says which key ranges migrate_diff read, and what it did not see. */
void
NoticeRangesCompared(const pg::TableInfo &table, const DifferingRanges &ranges)
{
	std::string numbers;
	for (std::size_t i = 0; i < ranges.ranges.size(); i++) {
		if (i > 0)
			numbers += i + 1 == ranges.ranges.size() ? " and " : ", ";
		numbers += std::to_string(ranges.ranges[i].range_no);
	}
	std::string message = std::string(core::kOnlyRangesNotice) + (ranges.ranges.size() > 1 ? "s " : " ") + numbers +
						  " of the " + std::to_string(ranges.of) + " of table " + table.qualified +
						  " only: the others matched at its last verification";
	std::string detail = "That verification was recorded at " + ranges.verified_at +
						 "; a change made since in a range that matched is not seen.";
	pg::Call([&] {
		ereport(NOTICE, (errmsg_internal("%s", message.c_str()), errdetail_internal("%s", detail.c_str()),
						 errhint("migrate_verify checks the whole table again; migrate_diff(tbl, max_rows, "
								 "whole_table => true) compares every row.")));
	});
}

} // namespace

/* migrate_diff(tbl regclass, max_rows integer, whole_table boolean) -> SETOF (key text, status text, columns text[]) */
PGC_FUNCTION(migrate_diff)
{
	int max_rows = PG_GETARG_INT32(1);
	if (max_rows <= 0)
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "max_rows must be positive, not " + std::to_string(max_rows), "",
					"Pass the most differences to report, e.g. 1000.");
	Diff diff(fcinfo, PG_GETARG_OID(0), max_rows, PG_GETARG_BOOL(2));
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
	if (const auto &ranges = diff.Ranges())
		NoticeRangesCompared(diff.Table(), *ranges);
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
