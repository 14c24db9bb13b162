/*
 * text_test.cpp: the client's text helpers: the edit distance and the command a typo meant.
 */
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "text.hpp"

namespace {

using cutover::DidYouMean;
using cutover::EditDistance;

const std::vector<std::string> kCommands = {"init",	  "plan",	"users",  "pull", "verify", "diff",
											"status", "export", "import", "run",  "reset"};

TEST(EditDistance, CountsEveryKindOfEdit)
{
	EXPECT_EQ(EditDistance("verify", "verify"), 0u);
	EXPECT_EQ(EditDistance("verfy", "verify"), 1u);	  /* a letter left out */
	EXPECT_EQ(EditDistance("veriffy", "verify"), 1u); /* one too many */
	EXPECT_EQ(EditDistance("varify", "verify"), 1u);  /* one replaced */
	EXPECT_EQ(EditDistance("vreify", "verify"), 1u);  /* two swapped */
	EXPECT_EQ(EditDistance("", "run"), 3u);
	EXPECT_EQ(EditDistance("abc", "xyz"), 3u);
}

TEST(DidYouMean, TheNearestCommand)
{
	EXPECT_EQ(DidYouMean("verfy", kCommands), "verify");
	EXPECT_EQ(DidYouMean("stats", kCommands), "status");
	EXPECT_EQ(DidYouMean("VERIFY", kCommands), "verify");
	EXPECT_EQ(DidYouMean("improt", kCommands), "import");
	EXPECT_EQ(DidYouMean("expor", kCommands), "export");
	EXPECT_EQ(DidYouMean("ver", kCommands), "verify"); /* the only command it starts */
}

TEST(DidYouMean, NoGuessWhenNothingIsNearOrTwoAre)
{
	EXPECT_EQ(DidYouMean("xyzzy", kCommands), "");
	EXPECT_EQ(DidYouMean("", kCommands), "");
	/* "pul" is one edit from pull and two from plan, a clear answer; "re" starts reset only... */
	EXPECT_EQ(DidYouMean("pul", kCommands), "pull");
	/* ...but "p" starts plan, pull: no guess */
	EXPECT_EQ(DidYouMean("p", kCommands), "");
	/* "rn" is one edit from run only */
	EXPECT_EQ(DidYouMean("rn", kCommands), "run");
}

} // namespace
