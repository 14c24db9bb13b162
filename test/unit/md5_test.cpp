/*
 * md5_test.cpp: Md5Hex and Md5Halves against the RFC 1321 test suite, against values PostgreSQL's md5()
 * printed (PG 15.20), and against a small reference implementation of RFC 1321 written here, so that a
 * faster implementation (multi-buffer, SIMD) is checked at every block boundary and alignment.
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/checksum.hpp"

namespace {

using pgc::core::Md5Halves;
using pgc::core::Md5Hex;

/* The first and last 16 hex digits of a 32-digit md5, as numbers. */
std::pair<std::uint64_t, std::uint64_t>
SplitHex(const std::string &hex)
{
	EXPECT_EQ(hex.size(), 32u);
	return {std::stoull(hex.substr(0, 16), nullptr, 16), std::stoull(hex.substr(16, 16), nullptr, 16)};
}

/* RFC 1321, section 3, written for clarity: the oracle for the implementation under test. */
std::string
ReferenceMd5Hex(std::string_view data)
{
	static const std::uint32_t k[64] = {
		0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
		0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
		0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
		0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
		0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
		0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
		0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
		0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
	static const int r[64] = {
		7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, /* round 1 */
		5, 9,  14, 20, 5, 9,  14, 20, 5, 9,	 14, 20, 5, 9,	14, 20, /* round 2 */
		4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, /* round 3 */
		6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, /* round 4 */
	};

	std::vector<unsigned char> msg(data.begin(), data.end());
	std::uint64_t bit_len = static_cast<std::uint64_t>(data.size()) * 8;
	msg.push_back(0x80);
	while (msg.size() % 64 != 56)
		msg.push_back(0);
	for (int i = 0; i < 8; i++)
		msg.push_back(static_cast<unsigned char>(bit_len >> (8 * i)));

	std::uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	for (std::size_t block = 0; block < msg.size(); block += 64) {
		std::uint32_t w[16];
		for (int i = 0; i < 16; i++)
			w[i] = static_cast<std::uint32_t>(msg[block + 4 * i]) |
				   static_cast<std::uint32_t>(msg[block + 4 * i + 1]) << 8 |
				   static_cast<std::uint32_t>(msg[block + 4 * i + 2]) << 16 |
				   static_cast<std::uint32_t>(msg[block + 4 * i + 3]) << 24;
		std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		for (int i = 0; i < 64; i++) {
			std::uint32_t f;
			int g;
			if (i < 16) {
				f = (b & c) | (~b & d);
				g = i;
			} else if (i < 32) {
				f = (d & b) | (~d & c);
				g = (5 * i + 1) % 16;
			} else if (i < 48) {
				f = b ^ c ^ d;
				g = (3 * i + 5) % 16;
			} else {
				f = c ^ (b | ~d);
				g = (7 * i) % 16;
			}
			std::uint32_t rotated = a + f + k[i] + w[g];
			rotated = (rotated << r[i]) | (rotated >> (32 - r[i]));
			a = d;
			d = c;
			c = b;
			b = b + rotated;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
	}

	static const char digits[] = "0123456789abcdef";
	std::string hex;
	for (std::uint32_t word : h)
		for (int i = 0; i < 4; i++) {
			unsigned byte = (word >> (8 * i)) & 0xff;
			hex.push_back(digits[byte >> 4]);
			hex.push_back(digits[byte & 0xf]);
		}
	return hex;
}

struct Md5Vector {
	std::string input;
	std::string hex;
};

void
PrintTo(const Md5Vector &v, std::ostream *os)
{
	*os << "md5 of " << v.input.size() << " bytes";
}

class Md5KnownVector : public testing::TestWithParam<Md5Vector>
{
};

TEST_P(Md5KnownVector, HexMatches)
{
	EXPECT_EQ(Md5Hex(GetParam().input), GetParam().hex);
}

TEST_P(Md5KnownVector, HalvesAreTheHexSplitInTwo)
{
	const std::string &input = GetParam().input;
	EXPECT_EQ(Md5Halves(input.data(), input.size()), SplitHex(GetParam().hex));
}

TEST_P(Md5KnownVector, ReferenceImplementationAgrees)
{
	/* Guards the oracle used by the randomized tests below. */
	EXPECT_EQ(ReferenceMd5Hex(GetParam().input), GetParam().hex);
}

/* RFC 1321, appendix A.5. */
INSTANTIATE_TEST_SUITE_P(
	Rfc1321, Md5KnownVector,
	testing::Values(Md5Vector{"", "d41d8cd98f00b204e9800998ecf8427e"},
					Md5Vector{"a", "0cc175b9c0f1b6a831c399e269772661"},
					Md5Vector{"abc", "900150983cd24fb0d6963f7d28e17f72"},
					Md5Vector{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
					Md5Vector{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
					Md5Vector{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
							  "d174ab98d277d9f5a5611c2c9f419d9f"},
					Md5Vector{"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
							  "0",
							  "57edf4a22be3c955ac49da2e2107b67a"}));

/* SELECT n, md5(repeat('a', n)) on PostgreSQL 15.20: lengths around the 64-byte block and the 56-byte padding edge. */
INSTANTIATE_TEST_SUITE_P(PostgresBlockEdges, Md5KnownVector,
						 testing::Values(Md5Vector{std::string(55, 'a'), "ef1772b6dff9a122358552954ad0df65"},
										 Md5Vector{std::string(56, 'a'), "3b0c8ac703f828b04c6c197006d17218"},
										 Md5Vector{std::string(57, 'a'), "652b906d60af96844ebd21b674f35e93"},
										 Md5Vector{std::string(63, 'a'), "b06521f39153d618550606be297466d5"},
										 Md5Vector{std::string(64, 'a'), "014842d480b571495a4a0363793f7367"},
										 Md5Vector{std::string(65, 'a'), "c743a45e0d2e6a95cb859adae0248435"},
										 Md5Vector{std::string(119, 'a'), "8a7bd0732ed6a28ce75f6dabc90e1613"},
										 Md5Vector{std::string(120, 'a'), "5f61c0ccad4cac44c75ff505e1f1e537"},
										 Md5Vector{std::string(127, 'a'), "020406e1d05cdc2aa287641f7ae2cc39"},
										 Md5Vector{std::string(128, 'a'), "e510683b3f5ffe4093d021808bc6ff70"},
										 Md5Vector{std::string(1000000, 'a'), "7707d6ae4e027c70eea2a935c2296f21"}));

/* md5('\x00ff00'::bytea) and md5(convert_to(E'\u00e9\u65e5\U0001F600', 'UTF8')) on PostgreSQL 15.20. */
INSTANTIATE_TEST_SUITE_P(PostgresBytes, Md5KnownVector,
						 testing::Values(Md5Vector{std::string("\0\xff\0", 3), "b2b237a1bbd9c57b93b952c24e7936a8"},
										 Md5Vector{"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80",
												   "ead29fc5896858534e01df248386f928"}));

TEST(Md5, HalvesOfEmptyInputAsNumbers)
{
	auto halves = Md5Halves("", 0);
	EXPECT_EQ(halves.first, 0xd41d8cd98f00b204ULL);
	EXPECT_EQ(halves.second, 0xe9800998ecf8427eULL);
}

TEST(Md5, HalvesAreReadBigEndian)
{
	/* md5("abc") = 90015098 3cd24fb0 d6963f7d 28e17f72: the first byte is the most significant one. */
	auto halves = Md5Halves("abc", 3);
	EXPECT_EQ(halves.first, 0x900150983cd24fb0ULL);
	EXPECT_EQ(halves.second, 0xd6963f7d28e17f72ULL);
}

TEST(Md5, HexIsLowercase)
{
	std::string hex = Md5Hex("message digest");
	for (char ch : hex)
		EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) << hex;
}

TEST(Md5, EmbeddedNulBytesAreHashed)
{
	/* A string_view with NUL bytes in it: nothing may stop at the first NUL. */
	EXPECT_NE(Md5Hex(std::string_view("a\0b", 3)), Md5Hex("a"));
	EXPECT_EQ(Md5Hex(std::string_view("a\0b", 3)), ReferenceMd5Hex(std::string_view("a\0b", 3)));
}

TEST(Md5, OnlyTheGivenLengthIsRead)
{
	const char *text = "abcdef";
	EXPECT_EQ(Md5Halves(text, 3), SplitHex("900150983cd24fb0d6963f7d28e17f72"));
	EXPECT_EQ(Md5Hex(std::string_view(text, 3)), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(Md5, EveryLengthUpTo300AgreesWithReference)
{
	std::mt19937 rng(1321);
	std::uniform_int_distribution<int> byte(0, 255);
	for (std::size_t len = 0; len <= 300; len++) {
		std::string data;
		for (std::size_t i = 0; i < len; i++)
			data.push_back(static_cast<char>(byte(rng)));
		std::string expected = ReferenceMd5Hex(data);
		ASSERT_EQ(Md5Hex(data), expected) << "length " << len;
		ASSERT_EQ(Md5Halves(data.data(), data.size()), SplitHex(expected)) << "length " << len;
	}
}

TEST(Md5, UnalignedInputGivesTheSameDigest)
{
	std::string text = "(1,,\"\",\" a\",\"x\"\"y\",\"b\\\\c\") and some more text to pass one block of 64 bytes";
	auto expected = Md5Halves(text.data(), text.size());
	for (std::size_t offset = 1; offset < 16; offset++) {
		std::vector<char> buffer(offset + text.size());
		std::memcpy(buffer.data() + offset, text.data(), text.size());
		EXPECT_EQ(Md5Halves(buffer.data() + offset, text.size()), expected) << "offset " << offset;
		EXPECT_EQ(Md5Hex(std::string_view(buffer.data() + offset, text.size())), Md5Hex(text)) << "offset " << offset;
	}
}

TEST(Md5, InterleavedCallsDoNotShareState)
{
	/* The implementation may reuse a context between calls: no state may leak from one call into the next. */
	std::string a = std::string(100, 'x');
	std::string b = "abc";
	std::string first_a = Md5Hex(a);
	EXPECT_EQ(Md5Hex(b), "900150983cd24fb0d6963f7d28e17f72");
	EXPECT_EQ(Md5Hex(a), first_a);
	EXPECT_EQ(Md5Halves(b.data(), b.size()), SplitHex("900150983cd24fb0d6963f7d28e17f72"));
	EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Md5, LargeRandomInputsAgreeWithReference)
{
	std::mt19937 rng(42);
	std::uniform_int_distribution<int> byte(0, 255);
	for (std::size_t len : {1000u, 4095u, 4096u, 4097u, 65536u + 7u}) {
		std::string data;
		for (std::size_t i = 0; i < len; i++)
			data.push_back(static_cast<char>(byte(rng)));
		EXPECT_EQ(Md5Hex(data), ReferenceMd5Hex(data)) << "length " << len;
	}
}

} // namespace
