/*
 * escapes_test.cpp: where a UTF-8 text may be cut (the error boundary cuts messages to its buffers with it).
 */
#include <string>

#include <gtest/gtest.h>

#include "core/escapes.hpp"

namespace {

using pgc::core::Utf8Prefix;

TEST(Utf8Prefix, KeepsATextThatFits)
{
	EXPECT_EQ(Utf8Prefix("abc", 3), 3u);
	EXPECT_EQ(Utf8Prefix("abc", 10), 3u);
	EXPECT_EQ(Utf8Prefix("", 0), 0u);
	EXPECT_EQ(Utf8Prefix("h\xC3\xA9", 3), 3u); /* "hé", exactly 3 bytes */
}

TEST(Utf8Prefix, CutsAsciiAnywhere)
{
	EXPECT_EQ(Utf8Prefix("abcdef", 4), 4u);
	EXPECT_EQ(Utf8Prefix("abcdef", 0), 0u);
}

/* Every cut of every width of character: the kept bytes end where a character ends, as many as fit. */
TEST(Utf8Prefix, NeverSplitsACharacter)
{
	const std::string characters[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}; /* é, €, 😀 */
	for (const std::string &c : characters) {
		std::string text = "ab" + c + c + "z";
		for (std::size_t max = 0; max < text.size(); max++) {
			std::size_t kept = Utf8Prefix(text, max);
			std::size_t whole = max < 2 ? max : 2 + (max - 2) / c.size() * c.size();
			EXPECT_EQ(kept, std::min(whole, 2 + 2 * c.size())) << "width " << c.size() << ", max " << max;
			ASSERT_LE(kept, max);
			/* what follows the cut starts a character */
			EXPECT_NE(static_cast<unsigned char>(text[kept]) & 0xC0, 0x80) << "max " << max;
		}
	}
}

/* A text that is not UTF-8 (a lone continuation byte at the start) is cut to nothing rather than read past. */
TEST(Utf8Prefix, StopsAtTheStartOnContinuationBytes)
{
	EXPECT_EQ(Utf8Prefix("\x80\x80\x80", 2), 0u);
}

} // namespace
