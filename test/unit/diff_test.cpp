/*
 * diff_test.cpp: migrate_diff's pure parts: the bucket expression (evaluated here by a small interpreter of the
 * CASE tree, so that the bucket every key lands in is checked, not just the text), bucket ranges, range and
 * key conditions, boundary picking, the numeric sums of the source, and the comparison of rows.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/diff.hpp"

namespace {

using pgc::core::BucketRange;
using pgc::core::BucketSql;
using pgc::core::CompareRows;
using pgc::core::Difference;
using pgc::core::DifferingColumns;
using pgc::core::DiffSide;
using pgc::core::DiffStatus;
using pgc::core::KeyColumn;
using pgc::core::KeyedRow;
using pgc::core::KeyInSql;
using pgc::core::KeyLiteral;
using pgc::core::KeyRange;
using pgc::core::KeyText;
using pgc::core::KeyValue;
using pgc::core::ParseUint128;
using pgc::core::PickThresholds;
using pgc::core::QuoteLiteral;
using pgc::core::RangeSql;
using pgc::core::RangesSql;
using pgc::core::SortKeysSql;
using pgc::core::uint128;

const std::vector<KeyColumn> kIntKey = {{"id", "t.id", "integer", false}};
const std::vector<KeyColumn> kTextKey = {{"code", "t.code", "text", true}};
const std::vector<KeyColumn> kCompositeKey = {{"site", "t.site", "integer", false}, {"name", "t.name", "text", true}};

KeyValue
Key(std::initializer_list<const char *> fields)
{
	KeyValue key;
	for (const char *field : fields)
		key.push_back(field == nullptr ? std::nullopt : std::optional<std::string>(field));
	return key;
}

/*
 * Evaluates a BucketSql text for an integer key: "CASE WHEN (t.id) < 'N' THEN a ELSE b END" nested, or a
 * number. The interpreter knows only what BucketSql writes; anything else fails the test.
 */
class BucketEvaluator
{
  public:
	BucketEvaluator(const std::string &sql, const std::string &comparand) : sql_(sql), comparand_(comparand) {}

	int
	Eval(long key)
	{
		pos_ = 0;
		int bucket = Expr(key);
		EXPECT_EQ(pos_, sql_.size()) << "trailing text at " << pos_;
		return bucket;
	}

  private:
	bool
	Eat(const std::string &text)
	{
		if (sql_.compare(pos_, text.size(), text) != 0)
			return false;
		pos_ += text.size();
		return true;
	}
	int
	Expr(long key)
	{
		if (Eat("CASE WHEN " + comparand_ + " < '")) {
			std::size_t end = sql_.find('\'', pos_);
			long threshold = std::stol(sql_.substr(pos_, end - pos_));
			pos_ = end + 1;
			EXPECT_TRUE(Eat(" THEN "));
			int then_value = Expr(key);
			EXPECT_TRUE(Eat(" ELSE "));
			int else_value = Expr(key);
			EXPECT_TRUE(Eat(" END"));
			return key < threshold ? then_value : else_value;
		}
		std::size_t end = pos_;
		while (end < sql_.size() && (std::isdigit(static_cast<unsigned char>(sql_[end])) || sql_[end] == '-'))
			end++;
		EXPECT_GT(end, pos_) << "expected a number at " << pos_ << ": " << sql_.substr(pos_, 40);
		int value = std::stoi(sql_.substr(pos_, end - pos_));
		pos_ = end;
		return value;
	}

	std::string sql_;
	std::string comparand_;
	std::size_t pos_ = 0;
};

std::vector<KeyValue>
IntThresholds(const std::vector<long> &values)
{
	std::vector<KeyValue> thresholds;
	for (long v : values)
		thresholds.push_back({std::to_string(v)});
	return thresholds;
}

/* The bucket a key must land in: how many thresholds are <= key. */
int
ExpectedBucket(const std::vector<long> &thresholds, long key)
{
	return static_cast<int>(std::upper_bound(thresholds.begin(), thresholds.end(), key) - thresholds.begin());
}

TEST(QuoteLiteral, QuotesDoubledBackslashesInAnEString)
{
	EXPECT_EQ(QuoteLiteral(std::string("abc")), "'abc'");
	EXPECT_EQ(QuoteLiteral(std::string("O'Brien")), "'O''Brien'");
	EXPECT_EQ(QuoteLiteral(std::string("a\\b")), "E'a\\\\b'");
	EXPECT_EQ(QuoteLiteral(std::string("it's a \\ n")), "E'it''s a \\\\ n'");
	EXPECT_EQ(QuoteLiteral(std::string("")), "''");
	EXPECT_EQ(QuoteLiteral(std::string("ünï \"q\"")), "'ünï \"q\"'");
	EXPECT_EQ(QuoteLiteral(std::nullopt), "NULL");
}

TEST(BucketSql, NoThresholdsIsOneBucket)
{
	EXPECT_EQ(BucketSql(kIntKey, {}, false), "0");
	EXPECT_EQ(BucketSql(kIntKey, {}, true), "CASE WHEN (t.id) IS NULL THEN -1 ELSE 0 END");
}

/* How deep the CASE expressions nest: the comparisons one row costs. */
int
NestingDepth(const std::string &sql)
{
	int depth = 0;
	int deepest = 0;
	for (std::size_t pos = 0; pos < sql.size(); pos++) {
		if (sql.compare(pos, 5, "CASE ") == 0)
			deepest = std::max(deepest, ++depth);
		else if (sql.compare(pos, 4, " END") == 0)
			depth--;
	}
	return deepest;
}

TEST(BucketSql, EveryKeyLandsInTheBucketOfItsRange)
{
	for (std::size_t count : {1, 2, 3, 7, 64, 100, 1000}) {
		std::vector<long> values;
		for (std::size_t i = 0; i < count; i++)
			values.push_back(static_cast<long>(i) * 10 + 5);
		std::string sql = BucketSql(kIntKey, IntThresholds(values), false);
		BucketEvaluator eval(sql, "(t.id)");
		/* around every threshold, and below and above them all */
		std::vector<long> keys = {-1000, -5, static_cast<long>(count) * 10 + 20};
		for (long value : values)
			for (long key : {value - 1, value, value + 1})
				keys.push_back(key);
		for (long key : keys)
			ASSERT_EQ(eval.Eval(key), ExpectedBucket(values, key)) << count << " thresholds, key " << key;
		/* a balanced tree: about log2(count + 1) comparisons per row, not count */
		int log2 = 0;
		while ((std::size_t{1} << log2) < count + 1)
			log2++;
		EXPECT_LE(NestingDepth(sql), log2) << count << " thresholds";
	}
}

TEST(BucketSql, CompositeKeysCompareAsRowsTextInByteOrder)
{
	std::string sql = BucketSql(kCompositeKey, {Key({"1", "b"}), Key({"2", "it's"})}, true);
	EXPECT_EQ(sql, "CASE WHEN (t.site) IS NULL OR (t.name) IS NULL THEN -1 ELSE "
				   "CASE WHEN ROW((t.site), (t.name) COLLATE \"C\") < ROW('2', 'it''s') THEN "
				   "CASE WHEN ROW((t.site), (t.name) COLLATE \"C\") < ROW('1', 'b') THEN 0 ELSE 1 END ELSE 2 END END");
	EXPECT_EQ(BucketSql(kTextKey, {Key({"m"})}, false), "CASE WHEN (t.code) COLLATE \"C\" < 'm' THEN 0 ELSE 1 END");
}

TEST(BucketSql, AColumnInByteOrderAlreadyNeedsNoCollateClause)
{
	const std::vector<KeyColumn> key = {{"code", "t.code", "text", true, true}};
	EXPECT_EQ(BucketSql(key, {Key({"m"})}, false), "CASE WHEN (t.code) < 'm' THEN 0 ELSE 1 END");
	EXPECT_EQ(RangeSql(key, KeyRange{Key({"a"}), Key({"b"}), false}), "(t.code) >= 'a' AND (t.code) < 'b'");
	/* the sort of the differences still names C: its VALUES have the database's collation */
	EXPECT_EQ(SortKeysSql(key, {Key({"x"})}),
			  "SELECT v.o FROM (VALUES ('x'::text, 0)) AS v(k1, o) ORDER BY v.k1 COLLATE \"C\" NULLS FIRST, v.o");
}

TEST(BucketRange, EndBucketsKeepTheParentsEnds)
{
	std::vector<KeyValue> thresholds = {Key({"10"}), Key({"20"})};
	KeyRange whole;
	KeyRange first = BucketRange(whole, thresholds, 0);
	EXPECT_FALSE(first.lo);
	EXPECT_EQ(first.hi, Key({"10"}));
	KeyRange middle = BucketRange(whole, thresholds, 1);
	EXPECT_EQ(middle.lo, Key({"10"}));
	EXPECT_EQ(middle.hi, Key({"20"}));
	KeyRange last = BucketRange(whole, thresholds, 2);
	EXPECT_EQ(last.lo, Key({"20"}));
	EXPECT_FALSE(last.hi);
	EXPECT_TRUE(BucketRange(whole, thresholds, -1).null_keys);

	KeyRange parent{Key({"5"}), Key({"25"}), false};
	EXPECT_EQ(BucketRange(parent, thresholds, 0).lo, Key({"5"}));
	EXPECT_EQ(BucketRange(parent, thresholds, 2).hi, Key({"25"}));
}

TEST(RangeSql, BoundsAreInclusiveBelowExclusiveAbove)
{
	EXPECT_EQ(RangeSql(kIntKey, KeyRange()), "NOT ((t.id) IS NULL)");
	EXPECT_EQ(RangeSql(kIntKey, KeyRange{Key({"10"}), std::nullopt, false}), "(t.id) >= '10'");
	EXPECT_EQ(RangeSql(kIntKey, KeyRange{std::nullopt, Key({"20"}), false}), "(t.id) < '20'");
	EXPECT_EQ(RangeSql(kIntKey, KeyRange{Key({"10"}), Key({"20"}), false}), "(t.id) >= '10' AND (t.id) < '20'");
	EXPECT_EQ(RangeSql(kCompositeKey, KeyRange{Key({"1", "a\\b"}), std::nullopt, false}),
			  "ROW((t.site), (t.name) COLLATE \"C\") >= ROW('1', E'a\\\\b')");
	EXPECT_EQ(RangeSql(kCompositeKey, KeyRange{std::nullopt, std::nullopt, true}),
			  "(t.site) IS NULL OR (t.name) IS NULL");
	EXPECT_EQ(RangesSql(kIntKey, {}), "false");
	EXPECT_EQ(
		RangesSql(kIntKey, {KeyRange{std::nullopt, Key({"5"}), false}, KeyRange{Key({"9"}), std::nullopt, false}}),
		"((t.id) < '5') OR ((t.id) >= '9')");
}

TEST(KeyInSql, OwnCollationSoAnIndexServesIt)
{
	EXPECT_EQ(KeyInSql(kTextKey, {Key({"a"}), Key({"O'B"})}), "(t.code) IN ('a', 'O''B')");
	EXPECT_EQ(KeyInSql(kCompositeKey, {Key({"1", "x"})}), "ROW((t.site), (t.name)) IN (ROW('1', 'x'))");
	EXPECT_EQ(KeyInSql(kCompositeKey, {Key({"1", nullptr}), Key({"2", "y"})}),
			  "ROW((t.site), (t.name)) IN (ROW('2', 'y')) OR (t.site) IS NULL OR (t.name) IS NULL");
	EXPECT_EQ(KeyInSql(kIntKey, {}), "false");
}

TEST(SortKeysSql, TypedValuesInKeyOrder)
{
	EXPECT_EQ(SortKeysSql(kCompositeKey, {Key({"2", "b"}), Key({"1", nullptr})}),
			  "SELECT v.o FROM (VALUES ('2'::integer, 'b'::text, 0), ('1'::integer, NULL::text, 1)) AS v(k1, k2, o) "
			  "ORDER BY v.k1 NULLS FIRST, v.k2 COLLATE \"C\" NULLS FIRST, v.o");
}

TEST(PickThresholds, EvenPartsEachBoundaryOnce)
{
	std::vector<KeyValue> sorted;
	for (int i = 0; i < 100; i++)
		sorted.push_back({std::to_string(1000 + i)});
	std::vector<KeyValue> four = PickThresholds(sorted, 4);
	ASSERT_EQ(four.size(), 3u);
	EXPECT_EQ(four[0], Key({"1025"}));
	EXPECT_EQ(four[1], Key({"1050"}));
	EXPECT_EQ(four[2], Key({"1075"}));
	EXPECT_TRUE(PickThresholds(sorted, 1).empty());
	EXPECT_TRUE(PickThresholds({Key({"1"})}, 10).empty());
	/* more buckets than keys: every key but the first is a boundary */
	EXPECT_EQ(PickThresholds(sorted, 500).size(), 99u);
	/* a repeated key (a source sample) is a boundary once */
	std::vector<KeyValue> repeated(10, Key({"7"}));
	repeated.push_back(Key({"8"}));
	std::vector<KeyValue> picked = PickThresholds(repeated, 11);
	EXPECT_EQ(picked, (std::vector<KeyValue>{Key({"7"}), Key({"8"})}));
}

TEST(ParseUint128, DecimalsUpTo2To128)
{
	uint128 v = 0;
	ASSERT_TRUE(ParseUint128("0", v));
	EXPECT_EQ(v, 0u);
	ASSERT_TRUE(ParseUint128("18446744073709551616", v));
	EXPECT_EQ(v, static_cast<uint128>(1) << 64);
	ASSERT_TRUE(ParseUint128("340282366920938463463374607431768211455", v));
	EXPECT_EQ(v, ~static_cast<uint128>(0));
	EXPECT_FALSE(ParseUint128("340282366920938463463374607431768211456", v));
	EXPECT_FALSE(ParseUint128("", v));
	EXPECT_FALSE(ParseUint128("-1", v));
	EXPECT_FALSE(ParseUint128("12.5", v));
}

std::vector<KeyedRow>
Rows(std::initializer_list<std::pair<const char *, const char *>> rows)
{
	std::vector<KeyedRow> out;
	for (const auto &[key, hash] : rows)
		out.push_back({Key({key}), hash});
	return out;
}

std::string
Describe(const std::vector<Difference> &differences)
{
	std::string out;
	for (const auto &d : differences)
		out += std::string(out.empty() ? "" : " ") + *KeyText(d.key) + ":" + pgc::core::StatusName(d.status);
	return out;
}

TEST(CompareRows, EachDifferenceOnceNothingForEqualRows)
{
	auto source = Rows({{"1", "a"}, {"2", "b"}, {"3", "c"}, {"5", "e"}});
	auto target = Rows({{"1", "a"}, {"2", "B"}, {"4", "d"}, {"5", "e"}});
	std::vector<Difference> d = CompareRows(source, target);
	EXPECT_EQ(Describe(d), "2:changed 3:missing 4:extra");
	EXPECT_EQ(d[0].source_hash, "b");
	EXPECT_EQ(d[0].target_hash, "B");
	EXPECT_TRUE(CompareRows(source, source).empty());
	EXPECT_TRUE(CompareRows({}, {}).empty());
	EXPECT_EQ(Describe(CompareRows(source, {})), "1:missing 2:missing 3:missing 5:missing");
	EXPECT_EQ(Describe(CompareRows({}, target)), "1:extra 2:extra 4:extra 5:extra");
}

TEST(CompareRows, RepeatedSourceKeysAsMultisets)
{
	/* a source without the key's constraint: key 7 twice, once as on the target */
	auto source = Rows({{"7", "x"}, {"7", "y"}, {"8", "p"}, {"8", "q"}});
	auto target = Rows({{"7", "x"}, {"8", "r"}});
	EXPECT_EQ(Describe(CompareRows(source, target)), "7:missing 8:changed 8:missing");
	/* the same row twice on the source, once on the target */
	EXPECT_EQ(Describe(CompareRows(Rows({{"9", "h"}, {"9", "h"}}), Rows({{"9", "h"}}))), "9:missing");
}

TEST(CompareRows, NullKeysOfTheSourceAreMissing)
{
	std::vector<KeyedRow> source = {{Key({nullptr}), "h1"}, {Key({nullptr}), "h2"}};
	std::vector<Difference> d = CompareRows(source, {});
	ASSERT_EQ(d.size(), 2u);
	EXPECT_EQ(d[0].status, DiffStatus::Missing);
	EXPECT_FALSE(KeyText(d[0].key));
}

TEST(CompareRows, CompositeKeysCompareWhole)
{
	std::vector<KeyedRow> source = {{Key({"1", "a"}), "h"}, {Key({"1", "b"}), "h"}};
	std::vector<KeyedRow> target = {{Key({"1", "a"}), "h"}, {Key({"1", "b,"}), "h"}};
	EXPECT_EQ(Describe(CompareRows(source, target)), "(1,b):missing (1,\"b,\"):extra");
}

TEST(DifferingColumns, ByTextAndNullness)
{
	std::vector<std::string> names = {"a", "b", "c", "d"};
	std::vector<std::optional<std::string>> source = {std::string("1"), std::nullopt, std::string(""),
													  std::string("x")};
	std::vector<std::optional<std::string>> target = {std::string("1"), std::string(""), std::nullopt,
													  std::string("x")};
	EXPECT_EQ(DifferingColumns(names, source, target), (std::vector<std::string>{"b", "c"}));
	EXPECT_TRUE(DifferingColumns(names, source, source).empty());
}

TEST(KeyId, EqualForEqualKeysOnly)
{
	using pgc::core::KeyId;
	EXPECT_EQ(KeyId(Key({"1", "a"})), KeyId(Key({"1", "a"})));
	EXPECT_NE(KeyId(Key({"1", "a"})), KeyId(Key({"1a", ""})));
	EXPECT_NE(KeyId(Key({"1;", "a"})), KeyId(Key({"1", ";a"})));
	EXPECT_NE(KeyId(Key({nullptr})), KeyId(Key({""})));
	EXPECT_NE(KeyId(Key({nullptr})), KeyId(Key({"N;"})));
}

TEST(KeyText, OneColumnAsItselfSeveralAsARow)
{
	EXPECT_EQ(KeyText(Key({"42"})), std::optional<std::string>("42"));
	EXPECT_EQ(KeyText(Key({"it's \"x\""})), std::optional<std::string>("it's \"x\""));
	EXPECT_EQ(KeyText(Key({"1", "a b"})), std::optional<std::string>("(1,\"a b\")"));
	EXPECT_EQ(KeyText(Key({"1", nullptr})), std::optional<std::string>("(1,)"));
}

/* A side reading public.t (id, name) by its integer key. */
DiffSide
TableSide()
{
	DiffSide side;
	side.from = "ONLY public.t AS t";
	side.row = "ROW(t.id, t.name)";
	side.values = {"t.id", "t.name"};
	side.key = kIntKey;
	return side;
}

TEST(DiffSql, BucketSumsAsTheChecksumScriptComputesThem)
{
	DiffSide side = TableSide();
	std::string sql = pgc::core::BucketSumsSql(side, "0", "true");
	EXPECT_NE(sql.find("unnest(ARRAY[md5(convert_to(ROW(t.id, t.name)::text, 'UTF8'))], ARRAY[0]) AS r(m, b)"),
			  std::string::npos)
		<< sql;
	EXPECT_NE(sql.find("GROUP BY b"), std::string::npos);
	EXPECT_NE(sql.find("18446744073709551616 * count(*) FILTER (WHERE h < 0)"), std::string::npos);
	EXPECT_EQ(pgc::core::RowHashesSql(side, "(t.id) < '5'"),
			  "SELECT (t.id)::text, md5(convert_to(ROW(t.id, t.name)::text, 'UTF8')) FROM ONLY public.t AS t WHERE "
			  "(t.id) < '5'");
	EXPECT_EQ(pgc::core::RowValuesSql(side, "false"),
			  "SELECT (t.id)::text, md5(convert_to(ROW(t.id, t.name)::text, 'UTF8')), (t.id)::text, (t.name)::text "
			  "FROM ONLY public.t AS t WHERE false");
	/* streamed: the bucket, then the columns in canonical order, the source hashing nothing */
	EXPECT_EQ(
		pgc::core::BucketRowsSql(side, "CASE WHEN t.id < 5 THEN 0 ELSE 1 END", "(t.id) >= '2'"),
		"SET LOCAL client_encoding = 'UTF8';\nCOPY (SELECT CASE WHEN t.id < 5 THEN 0 ELSE 1 END, t.id, t.name FROM "
		"ONLY public.t AS t WHERE (t.id) >= '2') TO STDOUT;\nRESET client_encoding;\n");
	EXPECT_EQ(pgc::core::SplitPointsSql(side, "true", 250),
			  "SELECT s.k1 FROM (SELECT (t.id)::text AS k1, row_number() OVER (ORDER BY (t.id)) AS n FROM ONLY "
			  "public.t AS t WHERE true) AS s WHERE s.n % 250 = 0 ORDER BY s.n");
}

/* A side kept to some key ranges (those that differed at a verification) reads no row outside them, in any query. */
TEST(DiffSql, AFilterBoundsEveryQueryOfTheSide)
{
	DiffSide side = TableSide();
	side.filter = "(t.id >= '10' AND t.id < '20') OR (t.id >= '90')";
	const std::string bounded = "((t.id) < '5') AND ((t.id >= '10' AND t.id < '20') OR (t.id >= '90'))";
	EXPECT_EQ(pgc::core::WhereSql(side, "(t.id) < '5'"), bounded);
	for (const std::string &sql :
		 {pgc::core::BucketSumsSql(side, "0", "(t.id) < '5'"), pgc::core::BucketRowsSql(side, "0", "(t.id) < '5'"),
		  pgc::core::RowHashesSql(side, "(t.id) < '5'"), pgc::core::RowValuesSql(side, "(t.id) < '5'"),
		  pgc::core::SplitPointsSql(side, "(t.id) < '5'", 10)}) {
		EXPECT_NE(sql.find("WHERE " + bounded), std::string::npos) << sql;
		EXPECT_EQ(sql.find("WHERE (t.id) < '5'"), std::string::npos) << sql;
	}
	/* without one, the query's condition alone, as before */
	side.filter.clear();
	EXPECT_EQ(pgc::core::WhereSql(side, "(t.id) < '5'"), "(t.id) < '5'");
}

} // namespace
