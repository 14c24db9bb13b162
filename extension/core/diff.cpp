/*
 * diff.cpp: key buckets, key ranges and row comparison for migrate_diff.
 */
#include "core/diff.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/pure.hpp"

namespace pgc::core {

std::string
QuoteLiteral(const std::optional<std::string> &value)
{
	if (!value)
		return "NULL";
	bool backslash = value->find('\\') != std::string::npos;
	std::string literal = backslash ? "E'" : "'";
	for (char ch : *value) {
		if (ch == '\'' || ch == '\\')
			literal.push_back(ch);
		literal.push_back(ch);
	}
	literal.push_back('\'');
	return literal;
}

namespace {

std::string
Comparand(const KeyColumn &column)
{
	return "(" + column.expression + ")" + (column.collatable && !column.byte_ordered ? " COLLATE \"C\"" : "");
}

/* What a key compares with: one column's value, or a row of them (a row comparison, column by column). */
template <typename Item>
std::string
OneOrRow(std::size_t count, Item item)
{
	if (count == 1)
		return item(0);
	std::string sql = "ROW(";
	for (std::size_t i = 0; i < count; i++)
		sql += (i > 0 ? ", " : "") + item(i);
	return sql + ")";
}

} // namespace

std::string
KeyComparand(const std::vector<KeyColumn> &key)
{
	return OneOrRow(key.size(), [&](std::size_t i) { return Comparand(key[i]); });
}

std::string
KeyLiteral(const KeyValue &value)
{
	return OneOrRow(value.size(), [&](std::size_t i) { return QuoteLiteral(value[i]); });
}

std::string
KeyTextsSql(const std::vector<KeyColumn> &key)
{
	std::string sql;
	for (std::size_t i = 0; i < key.size(); i++)
		sql += (i > 0 ? ", " : "") + std::string("(") + key[i].expression + ")::text";
	return sql;
}

std::string
KeyOrderSql(const std::vector<KeyColumn> &key)
{
	std::string sql;
	for (std::size_t i = 0; i < key.size(); i++)
		sql += (i > 0 ? ", " : "") + Comparand(key[i]);
	return sql;
}

std::string
KeyIsNullSql(const std::vector<KeyColumn> &key)
{
	std::string sql;
	for (std::size_t i = 0; i < key.size(); i++)
		sql += (i > 0 ? " OR " : "") + std::string("(") + key[i].expression + ") IS NULL";
	return sql;
}

namespace {

/* The bucket among thresholds[lo, hi): a bucket number in [lo, hi]. */
void
AppendBucketTree(std::string &sql, const std::string &comparand, const std::vector<std::string> &literals,
				 std::size_t lo, std::size_t hi)
{
	if (lo == hi) {
		sql += std::to_string(lo);
		return;
	}
	std::size_t mid = lo + (hi - lo) / 2;
	sql += "CASE WHEN ";
	sql += comparand;
	sql += " < ";
	sql += literals[mid];
	sql += " THEN ";
	AppendBucketTree(sql, comparand, literals, lo, mid);
	sql += " ELSE ";
	AppendBucketTree(sql, comparand, literals, mid + 1, hi);
	sql += " END";
}

} // namespace

std::string
BucketSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &thresholds, bool null_bucket)
{
	std::string sql;
	if (null_bucket)
		sql = "CASE WHEN " + KeyIsNullSql(key) + " THEN -1 ELSE ";
	if (thresholds.empty()) {
		sql += "0";
	} else {
		std::vector<std::string> literals;
		literals.reserve(thresholds.size());
		for (const auto &threshold : thresholds)
			literals.push_back(KeyLiteral(threshold));
		AppendBucketTree(sql, KeyComparand(key), literals, 0, thresholds.size());
	}
	if (null_bucket)
		sql += " END";
	return sql;
}

KeyRange
BucketRange(const KeyRange &parent, const std::vector<KeyValue> &thresholds, int bucket)
{
	KeyRange range;
	if (bucket < 0) {
		range.null_keys = true;
		return range;
	}
	auto b = static_cast<std::size_t>(bucket);
	range.lo = b == 0 ? parent.lo : std::optional<KeyValue>(thresholds[b - 1]);
	range.hi = b >= thresholds.size() ? parent.hi : std::optional<KeyValue>(thresholds[b]);
	return range;
}

std::string
RangeSql(const std::vector<KeyColumn> &key, const KeyRange &range)
{
	if (range.null_keys)
		return KeyIsNullSql(key);
	std::string comparand = KeyComparand(key);
	std::string sql;
	if (range.lo)
		sql = comparand + " >= " + KeyLiteral(*range.lo);
	if (range.hi)
		sql += (sql.empty() ? "" : " AND ") + comparand + " < " + KeyLiteral(*range.hi);
	/* without ends: every key but NULL ones (a source without the key's constraint), which have their own range */
	return sql.empty() ? "NOT (" + KeyIsNullSql(key) + ")" : sql;
}

std::string
RangesSql(const std::vector<KeyColumn> &key, const std::vector<KeyRange> &ranges)
{
	if (ranges.empty())
		return "false";
	if (ranges.size() == 1)
		return RangeSql(key, ranges[0]);
	std::string sql;
	for (std::size_t i = 0; i < ranges.size(); i++)
		sql += (i > 0 ? " OR (" : "(") + RangeSql(key, ranges[i]) + ")";
	return sql;
}

std::string
KeyInSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &values)
{
	std::string in;
	std::string nulls;
	for (const auto &value : values) {
		bool has_null = false;
		for (const auto &field : value)
			has_null = has_null || !field;
		if (has_null) {
			nulls = KeyIsNullSql(key);
			continue;
		}
		in += (in.empty() ? "" : ", ") + KeyLiteral(value);
	}
	std::string sql;
	if (!in.empty())
		sql = OneOrRow(key.size(), [&](std::size_t i) { return "(" + key[i].expression + ")"; }) + " IN (" + in + ")";
	if (!nulls.empty())
		sql += (sql.empty() ? "" : " OR ") + nulls;
	return sql.empty() ? "false" : sql;
}

std::string
SortKeysSql(const std::vector<KeyColumn> &key, const std::vector<KeyValue> &values)
{
	std::string rows;
	for (std::size_t r = 0; r < values.size(); r++) {
		rows += r > 0 ? ", (" : "(";
		for (std::size_t i = 0; i < key.size(); i++)
			rows += QuoteLiteral(values[r][i]) + "::" + key[i].type + ", ";
		rows += std::to_string(r) + ")";
	}
	std::string columns;
	std::string order;
	for (std::size_t i = 0; i < key.size(); i++) {
		columns += "k" + std::to_string(i + 1) + ", ";
		order += (i > 0 ? ", " : "") + std::string("v.k") + std::to_string(i + 1) +
				 (key[i].collatable ? " COLLATE \"C\"" : "") + " NULLS FIRST";
	}
	return "SELECT v.o FROM (VALUES " + rows + ") AS v(" + columns + "o) ORDER BY " + order + ", v.o";
}

std::vector<KeyValue>
PickThresholds(const std::vector<KeyValue> &sorted, std::size_t buckets)
{
	std::vector<KeyValue> thresholds;
	if (buckets < 2 || sorted.size() < 2)
		return thresholds;
	if (buckets > sorted.size())
		buckets = sorted.size();
	for (std::size_t b = 1; b < buckets; b++) {
		const KeyValue &key = sorted[b * sorted.size() / buckets];
		if (thresholds.empty() || thresholds.back() != key)
			thresholds.push_back(key);
	}
	return thresholds;
}

bool
ParseUint128(std::string_view text, uint128 &value)
{
	if (text.empty() || text.size() > 39)
		return false;
	uint128 result = 0;
	for (char ch : text) {
		if (ch < '0' || ch > '9')
			return false;
		uint128 next = result * 10 + static_cast<unsigned>(ch - '0');
		if (next / 10 != result)
			return false; /* past 2^128 */
		result = next;
	}
	value = result;
	return true;
}

const char *
StatusName(DiffStatus status)
{
	switch (status) {
	case DiffStatus::Missing:
		return "missing";
	case DiffStatus::Extra:
		return "extra";
	case DiffStatus::Changed:
		return "changed";
	}
	return "changed";
}

namespace {

/* The rows of one key on each side. */
struct KeyRows {
	KeyValue key;
	std::vector<std::string> source;
	std::vector<std::string> target;
};

} // namespace

/* Each field with its length (or a NULL mark), so no two keys collide. */
std::string
KeyId(const KeyValue &key)
{
	std::string out;
	for (const auto &field : key) {
		if (!field) {
			out += "N;";
			continue;
		}
		out += std::to_string(field->size()) + ":" + *field + ";";
	}
	return out;
}

std::vector<Difference>
CompareRows(const std::vector<KeyedRow> &source, const std::vector<KeyedRow> &target)
{
	std::vector<KeyRows> keys;
	std::unordered_map<std::string, std::size_t> index;
	auto rows_of = [&](const KeyValue &key) -> KeyRows & {
		auto [it, added] = index.emplace(KeyId(key), keys.size());
		if (added)
			keys.push_back({key, {}, {}});
		return keys[it->second];
	};
	for (const auto &row : source)
		rows_of(row.key).source.push_back(row.hash);
	for (const auto &row : target)
		rows_of(row.key).target.push_back(row.hash);

	std::vector<Difference> differences;
	for (auto &rows : keys) {
		/* rows with equal hashes on both sides cancel out */
		std::map<std::string, int> balance;
		for (const auto &hash : rows.source)
			balance[hash]++;
		for (const auto &hash : rows.target)
			balance[hash]--;
		std::vector<std::string> only_source;
		std::vector<std::string> only_target;
		for (const auto &hash : rows.source)
			if (balance[hash] > 0) {
				balance[hash]--;
				only_source.push_back(hash);
			}
		for (const auto &hash : rows.target)
			if (balance[hash] < 0) {
				balance[hash]++;
				only_target.push_back(hash);
			}
		std::size_t pairs = std::min(only_source.size(), only_target.size());
		for (std::size_t i = 0; i < pairs; i++)
			differences.push_back({rows.key, DiffStatus::Changed, only_source[i], only_target[i], {}});
		for (std::size_t i = pairs; i < only_source.size(); i++)
			differences.push_back({rows.key, DiffStatus::Missing, only_source[i], {}, {}});
		for (std::size_t i = pairs; i < only_target.size(); i++)
			differences.push_back({rows.key, DiffStatus::Extra, {}, only_target[i], {}});
	}
	return differences;
}

std::vector<std::string>
DifferingColumns(const std::vector<std::string> &names, const std::vector<std::optional<std::string>> &source,
				 const std::vector<std::optional<std::string>> &target)
{
	std::vector<std::string> differing;
	for (std::size_t i = 0; i < names.size(); i++) {
		const std::optional<std::string> *a = i < source.size() ? &source[i] : nullptr;
		const std::optional<std::string> *b = i < target.size() ? &target[i] : nullptr;
		if (a == nullptr || b == nullptr || *a != *b)
			differing.push_back(names[i]);
	}
	return differing;
}

namespace {

std::string
RowHashSql(const DiffSide &side)
{
	return "md5(convert_to(" + side.row + "::text, 'UTF8'))";
}

} // namespace

std::string
WhereSql(const DiffSide &side, const std::string &where)
{
	return side.filter.empty() ? where : "(" + where + ") AND (" + side.filter + ")";
}

std::string
BucketSumsSql(const DiffSide &side, const std::string &bucket, const std::string &where)
{
	/*
	 * As SourceChecksumSelect: each half as a signed bigint, made unsigned by adding 2^64 per negative one.
	 * The bucket comes out of the same LATERAL function scan as the hash: the planner then counts on a few
	 * hundred groups, not on one per key (as for an expression of the key), and aggregates in parallel
	 * workers, in hash tables, instead of sorting every row by its bucket.
	 */
	return "SELECT b, count(*),\n"
		   "       coalesce(sum(h), 0) + 18446744073709551616 * count(*) FILTER (WHERE h < 0),\n"
		   "       coalesce(sum(l), 0) + 18446744073709551616 * count(*) FILTER (WHERE l < 0)\n"
		   "FROM (SELECT r.b,\n"
		   "             ('x' || substr(r.m, 1, 16))::bit(64)::bigint AS h,\n"
		   "             ('x' || substr(r.m, 17, 16))::bit(64)::bigint AS l\n"
		   "      FROM " +
		   side.from + "\n      CROSS JOIN LATERAL unnest(ARRAY[" + RowHashSql(side) + "], ARRAY[" + bucket +
		   "]) AS r(m, b)\n      WHERE " + WhereSql(side, where) + ") AS x\nGROUP BY b";
}

std::string
BucketRowsSql(const DiffSide &side, const std::string &bucket, const std::string &where)
{
	std::string values;
	for (const auto &value : side.values)
		values += ", " + value;
	/* the rows' bytes in UTF-8, as the source's SQL hashes them; then the session's encoding again */
	return "SET LOCAL client_encoding = 'UTF8';\nCOPY (SELECT " + bucket + values + " FROM " + side.from + " WHERE " +
		   WhereSql(side, where) + ") TO STDOUT;\nRESET client_encoding;\n";
}

std::string
RowHashesSql(const DiffSide &side, const std::string &where)
{
	return "SELECT " + KeyTextsSql(side.key) + ", " + RowHashSql(side) + " FROM " + side.from + " WHERE " +
		   WhereSql(side, where);
}

std::string
RowValuesSql(const DiffSide &side, const std::string &where)
{
	std::string values;
	for (const auto &value : side.values)
		values += ", (" + value + ")::text";
	return "SELECT " + KeyTextsSql(side.key) + ", " + RowHashSql(side) + values + " FROM " + side.from + " WHERE " +
		   WhereSql(side, where);
}

std::string
SplitPointsSql(const DiffSide &side, const std::string &where, std::int64_t every)
{
	std::string columns;
	for (std::size_t i = 0; i < side.key.size(); i++)
		columns += (i > 0 ? ", " : "") + std::string("s.k") + std::to_string(i + 1);
	std::string texts;
	for (std::size_t i = 0; i < side.key.size(); i++)
		texts += "(" + side.key[i].expression + ")::text AS k" + std::to_string(i + 1) + ", ";
	return "SELECT " + columns + " FROM (SELECT " + texts + "row_number() OVER (ORDER BY " + KeyOrderSql(side.key) +
		   ") AS n FROM " + side.from + " WHERE " + WhereSql(side, where) + ") AS s WHERE s.n % " +
		   std::to_string(every) + " = 0 ORDER BY s.n";
}

std::optional<std::string>
KeyText(const KeyValue &value)
{
	if (value.size() == 1)
		return value[0];
	RowText row;
	row.Begin();
	for (const auto &field : value) {
		if (field)
			row.Field(*field);
		else
			row.Null();
	}
	return row.End();
}

} // namespace pgc::core
