/*
 * copy_text_test.cpp: user IDs rewritten in COPY text lines, every kind of column, and the failures.
 */
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/copy_text.hpp"
#include "row_helpers.hpp"

namespace {

using pgc::core::IdMap;
using pgc::core::IsCanonicalUuid;
using pgc::core::RemapCopyLine;
using pgc::core::RemapFailure;
using pgc::core::RemapField;
using namespace pgc::test; /* the shared COPY rows, maps and column kinds of row_helpers.hpp */

IdMap
Map()
{
	IdMap map;
	EXPECT_TRUE(map.Add(kA, kA2));
	EXPECT_TRUE(map.Add(Upper(kB), Upper(kB2))); /* pairs are kept by value, whatever their letter case */
	EXPECT_FALSE(map.Add("not-a-uuid", kA2));
	EXPECT_FALSE(map.Add(kA, "not-a-uuid"));
	return map;
}

std::string
Remapped(const std::string &line, const std::vector<RemapField> &fields)
{
	std::string out;
	RemapFailure failure;
	EXPECT_TRUE(RemapCopyLine(line, fields, Map(), out, failure)) << failure.column << " " << failure.value;
	return out;
}

RemapFailure
Failure(const std::string &line, const std::vector<RemapField> &fields)
{
	std::string out;
	RemapFailure failure;
	EXPECT_FALSE(RemapCopyLine(line, fields, Map(), out, failure));
	return failure;
}

TEST(IsCanonicalUuid, Forms)
{
	EXPECT_TRUE(IsCanonicalUuid(kA));
	EXPECT_TRUE(IsCanonicalUuid(Upper(kA)));
	EXPECT_FALSE(IsCanonicalUuid("system"));
	EXPECT_FALSE(IsCanonicalUuid(kA.substr(1)));
	EXPECT_FALSE(IsCanonicalUuid("6f1c1a7e2b9a4f3e9a513c1e2d4b5a60")); /* no dashes */
	EXPECT_FALSE(IsCanonicalUuid("{" + kA.substr(0, 35) + "}"));
	EXPECT_FALSE(IsCanonicalUuid("6f1c1a7e-2b9a-4f3e-9a51-3c1e2d4b5a6g"));
}

TEST(RemapCopyLine, UuidColumnsAnywhereInTheLine)
{
	std::vector<RemapField> fields = {{0, kUuid, kStrict, "id"}, {2, kUuid, kStrict, "owner"}};
	EXPECT_EQ(Remapped(kA + "\tname\t" + kB, fields), kA2 + "\tname\t" + kB2);
	EXPECT_EQ(Remapped(kA + "\tname\t\\N", fields), kA2 + "\tname\t\\N");
	/* other fields stay byte for byte, escapes included */
	EXPECT_EQ(Remapped(kA + "\ta\\tb\\\\c\\n\t" + kB + "\t\\N\t", fields), kA2 + "\ta\\tb\\\\c\\n\t" + kB2 + "\t\\N\t");
}

TEST(RemapCopyLine, TextKeepsLetterCaseAndNonUuidText)
{
	std::vector<RemapField> fields = {{1, kText, kStrict, "actor"}};
	EXPECT_EQ(Remapped("1\t" + kA + "\tx", fields), "1\t" + kA2 + "\tx");
	EXPECT_EQ(Remapped("1\t" + Upper(kA) + "\tx", fields), "1\t" + Upper(kA2) + "\tx");
	EXPECT_EQ(Remapped("1\tsystem\tx", fields), "1\tsystem\tx");
	EXPECT_EQ(Remapped("1\t\\N\tx", fields), "1\t\\N\tx");
	EXPECT_EQ(Remapped("1\t\tx", fields), "1\t\tx");
}

TEST(RemapCopyLine, UuidArrays)
{
	std::vector<RemapField> fields = {{1, kUuidArray, kStrict, "member_ids"}};
	EXPECT_EQ(Remapped("1\t{" + kA + "," + kB + "}", fields), "1\t{" + kA2 + "," + kB2 + "}");
	EXPECT_EQ(Remapped("1\t{" + kA + ",NULL," + kA + "}", fields), "1\t{" + kA2 + ",NULL," + kA2 + "}");
	EXPECT_EQ(Remapped("1\t{}", fields), "1\t{}");
	EXPECT_EQ(Remapped("1\t{{" + kA + "},{" + kB + "}}", fields), "1\t{{" + kA2 + "},{" + kB2 + "}}");
	EXPECT_EQ(Remapped("1\t[0:1]={" + kA + "," + kB + "}", fields), "1\t[0:1]={" + kA2 + "," + kB2 + "}");
}

TEST(RemapCopyLine, TextArraysLeaveQuotedElements)
{
	std::vector<RemapField> fields = {{0, kTextArray, kStrict, "actor_ids"}};
	EXPECT_EQ(Remapped("{" + kA + ",system," + Upper(kB) + "}", fields), "{" + kA2 + ",system," + Upper(kB2) + "}");
	/* quoted elements: a comma, a quote and a backslash inside (COPY doubles the backslashes) */
	std::string quoted = "{\"a,b\",\"say \\\\\"" + kA + "\\\\\"\"," + kA + ",\"x\\\\\\\\\"}";
	std::string expected = "{\"a,b\",\"say \\\\\"" + kA + "\\\\\"\"," + kA2 + ",\"x\\\\\\\\\"}";
	EXPECT_EQ(Remapped(quoted, fields), expected);
	EXPECT_EQ(Remapped("{NULL,\"\"," + kB + "}", fields), "{NULL,\"\"," + kB2 + "}");
}

TEST(RemapCopyLine, EverySpellingUuidInReadsIsRewrittenTheSameWay)
{
	/* what uuid_in also reads: braces, no hyphens, both; in small or capital letters, the spelling kept */
	std::string bare = kA.substr(0, 8) + kA.substr(9, 4) + kA.substr(14, 4) + kA.substr(19, 4) + kA.substr(24);
	std::string bare2 = kA2.substr(0, 8) + kA2.substr(9, 4) + kA2.substr(14, 4) + kA2.substr(19, 4) + kA2.substr(24);
	std::vector<RemapField> fields = {{1, kText, kStrict, "actor"}};
	std::vector<std::pair<std::string, std::string>> forms = {
		{"{" + kA + "}", "{" + kA2 + "}"},
		{bare, bare2},
		{Upper(bare), Upper(bare2)},
		{"{" + bare + "}", "{" + bare2 + "}"},
		{Upper("{" + kA + "}"), Upper("{" + kA2 + "}")},
		{kA + "   ", kA2 + "   "}, /* char(n) pads with blanks: the ID is the value */
	};
	for (const auto &[form, rewritten] : forms) {
		EXPECT_EQ(Remapped("1\t" + form + "\tx", fields), "1\t" + rewritten + "\tx") << form;
		/* by value, too, and as an array element (braces are quoted there) */
		EXPECT_EQ(Remapped("1\t" + form + "\tx", {{1, kText, pgc::core::RemapMode::Value, "actor"}}),
				  "1\t" + rewritten + "\tx")
			<< form;
		bool quoted = form[0] == '{' || form.back() == ' ';
		std::string element = quoted ? "\"" + form + "\"" : form;
		std::string element2 = quoted ? "\"" + rewritten + "\"" : rewritten;
		EXPECT_EQ(Remapped("{system," + element + "}", {{0, kTextArray, kStrict, "actor_ids"}}),
				  "{system," + element2 + "}")
			<< form;
	}
}

TEST(RemapCopyLine, SpellingsNoTargetIdCanKeepAreRefused)
{
	std::string bare = kA.substr(0, 8) + kA.substr(9, 4) + kA.substr(14, 4) + kA.substr(19, 4) + kA.substr(24);
	/* hyphens after other groups of four: uuid_in reads it, no target ID can be written so */
	for (const std::string &form :
		 {bare.substr(0, 4) + "-" + bare.substr(4), "{" + bare.substr(0, 4) + "-" + bare.substr(4) + "}"}) {
		auto f = Failure("1\t" + form + "\tx", {{1, kText, kStrict, "actor"}});
		EXPECT_EQ(f.column, "actor") << form;
		EXPECT_EQ(f.value, form);
		EXPECT_FALSE(f.unmapped) << form;
		EXPECT_NE(f.reason.find("hyphens in other places"), std::string::npos) << f.reason;
		/* by value: refused only when it is a user's ID */
		f = Failure("1\t" + form + "\tx", {{1, kText, pgc::core::RemapMode::Value, "actor"}});
		EXPECT_EQ(f.value, form);
	}
	std::string unknown = kUnknown.substr(0, 4) + "-" + kUnknown.substr(4, 4) + kUnknown.substr(9, 4);
	unknown += kUnknown.substr(14, 4) + kUnknown.substr(19, 4) + kUnknown.substr(24);
	EXPECT_EQ(Remapped("1\t" + unknown + "\tx", {{1, kText, pgc::core::RemapMode::Value, "actor"}}),
			  "1\t" + unknown + "\tx");
	/* text that uuid_in does not read stays as it is */
	std::vector<RemapField> fields = {{1, kText, kStrict, "actor"}};
	for (const std::string &kept :
		 {bare.substr(1), bare + "0", "-" + bare, bare.substr(0, 4) + "--" + bare.substr(4), bare + "-", "{" + bare,
		  bare.substr(0, 3) + "-" + bare.substr(3), bare.substr(0, 31) + "g", " " + kA})
		EXPECT_EQ(Remapped("1\t" + kept + "\tx", fields), "1\t" + kept + "\tx") << kept;
}

TEST(RemapCopyLine, UnmappedIdsNameColumnAndValue)
{
	auto f = Failure("1\t" + kUnknown, {{1, kUuid, kStrict, "owner"}});
	EXPECT_EQ(f.column, "owner");
	EXPECT_EQ(f.value, kUnknown);
	f = Failure("1\t" + Upper(kUnknown), {{1, kText, kStrict, "actor"}});
	EXPECT_EQ(f.column, "actor");
	EXPECT_EQ(f.value, Upper(kUnknown));
	f = Failure("{" + kA + "," + kUnknown + "}", {{0, kUuidArray, kStrict, "member_ids"}});
	EXPECT_EQ(f.value, kUnknown);
	f = Failure("{system," + kUnknown + "}", {{0, kTextArray, kStrict, "actor_ids"}});
	EXPECT_EQ(f.value, kUnknown);
	/* a uuid column prints nothing else: other text is no uuid output, and refused */
	f = Failure("1\tnot-a-uuid", {{1, kUuid, kStrict, "owner"}});
	EXPECT_EQ(f.column, "owner");
	EXPECT_TRUE(f.value.empty());
	EXPECT_NE(f.reason.find("not a value as its type prints it"), std::string::npos);
}

TEST(RemapCopyLine, LetterCaseRules)
{
	std::vector<RemapField> fields = {{0, kText, kStrict, "actor"}};
	/* capitals only when the source has capital letters and no small ones */
	IdMap map;
	const std::string digits_source = "11111111-2222-4333-8444-555555555555";
	const std::string lettered_target = "abcdef01-2345-4678-89ab-cdef01234567";
	ASSERT_TRUE(map.Add(digits_source, lettered_target));
	std::string out;
	RemapFailure failure;
	ASSERT_TRUE(RemapCopyLine(digits_source, fields, map, out, failure));
	EXPECT_EQ(out, lettered_target); /* no letters in the source: small letters, as uuid_out prints */
	/* mixed letter case cannot be kept: an error naming the value */
	std::string mixed = kA;
	mixed[3] = 'C';
	auto f = Failure(mixed, fields);
	EXPECT_EQ(f.value, mixed);
	EXPECT_NE(f.reason.find("mixed letter case"), std::string::npos);
}

TEST(RemapCopyLine, ArrayElementsThatOnlyContainAUuid)
{
	std::vector<RemapField> text = {{0, kTextArray, kStrict, "tags"}};
	/* array_out leaves "user:<uuid>" unquoted: it is an element of its own, not a UUID */
	EXPECT_EQ(Remapped("{user:" + kA + "," + kA + "}", text), "{user:" + kA + "," + kA2 + "}");
	EXPECT_EQ(Remapped("{[x]=" + kA + "}", text), "{[x]=" + kA + "}");
	/* a dimension header, negative bounds included, is copied as it is */
	std::vector<RemapField> uuids = {{0, kUuidArray, kStrict, "member_ids"}};
	EXPECT_EQ(Remapped("[-1:0]={" + kA + "," + kB + "}", uuids), "[-1:0]={" + kA2 + "," + kB2 + "}");
	EXPECT_EQ(Remapped("[1:1][0:1]={{" + kA + "," + kB + "}}", uuids), "[1:1][0:1]={{" + kA2 + "," + kB2 + "}}");
}

TEST(RemapCopyLine, MissingFieldIsAFailure)
{
	auto f = Failure("1\t2", {{3, kUuid, kStrict, "owner"}});
	EXPECT_EQ(f.column, "owner");
	EXPECT_EQ(f.reason, "is missing from the line");
}

TEST(RemapCopyLine, NoFieldsCopiesTheLine)
{
	EXPECT_EQ(Remapped("a\tb\\tc\t\\N", {}), "a\tb\\tc\t\\N");
}

} // namespace

/* The table grows past many pairs without losing one; the nil UUID (the empty slots' key) is a key too. */
TEST(IdMap, GrowsAndKeepsEveryPairIncludingTheNilUuid)
{
	auto uuid = [](unsigned n, unsigned tag) {
		char text[37];
		std::snprintf(text, sizeof text, "%08x-%04x-4000-8000-%012x", n, tag, n * 7919u);
		return std::string(text);
	};
	const std::string nil = "00000000-0000-0000-0000-000000000000";
	IdMap map;
	char target[36];
	EXPECT_FALSE(map.Find(nil, target));
	ASSERT_TRUE(map.Add(nil, kA));
	for (unsigned n = 1; n <= 20000; n++)
		ASSERT_TRUE(map.Add(uuid(n, 1), uuid(n, 2)));
	ASSERT_TRUE(map.Add(uuid(7, 1), Upper(kB))); /* a second pair for a key replaces the first */
	EXPECT_EQ(map.size(), 20001u);
	for (unsigned n = 1; n <= 20000; n++) {
		bool is_uuid = false;
		ASSERT_TRUE(map.Find(Upper(uuid(n, 1)), target, nullptr, &is_uuid)) << n;
		EXPECT_TRUE(is_uuid);
		EXPECT_EQ(std::string(target, 36), n == 7 ? kB : uuid(n, 2)) << n;
	}
	ASSERT_TRUE(map.Find(nil, target));
	EXPECT_EQ(std::string(target, 36), kA);
	bool is_uuid = true;
	EXPECT_FALSE(map.Find(uuid(20001, 1), target, nullptr, &is_uuid));
	EXPECT_TRUE(is_uuid);
	EXPECT_FALSE(map.Find("user:" + kA, target, nullptr, &is_uuid));
	EXPECT_FALSE(is_uuid);
	std::string out;
	RemapFailure failure;
	ASSERT_TRUE(RemapCopyLine(nil + "\t" + uuid(9, 1), {{0, kUuid, kStrict, "a"}, {1, kText, kStrict, "b"}}, map, out,
							  failure));
	EXPECT_EQ(out, kA + "\t" + uuid(9, 2));
}
