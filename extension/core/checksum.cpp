/*
 * checksum.cpp: row text quoting, md5 halves and checksum folding (pure C++, OpenSSL for md5).
 */
#include "core/checksum.hpp"

#include <optional>

#include <openssl/evp.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <new>
#include <stdexcept>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

/* One digest context per thread, reused for every row: creating a context per row costs more than md5. */
class Md5Context
{
  public:
	Md5Context() : md_(EVP_MD_fetch(nullptr, "MD5", nullptr)), ctx_(EVP_MD_CTX_new())
	{
		if (md_ == nullptr || ctx_ == nullptr)
			throw std::runtime_error("the md5 digest is not available from OpenSSL");
	}
	~Md5Context()
	{
		EVP_MD_CTX_free(ctx_);
		EVP_MD_free(md_);
	}
	Md5Context(const Md5Context &) = delete;
	Md5Context &operator=(const Md5Context &) = delete;

	void
	Digest(const void *data, std::size_t len, unsigned char out[16])
	{
		unsigned int out_len = 0;
		if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, data, len) != 1 ||
			EVP_DigestFinal_ex(ctx_, out, &out_len) != 1 || out_len != 16)
			throw std::runtime_error("md5 computation failed in OpenSSL");
	}

  private:
	EVP_MD *md_;
	EVP_MD_CTX *ctx_;
};

Md5Context &
ThreadMd5()
{
	thread_local Md5Context context;
	return context;
}

std::uint64_t
ReadBigEndian64(const unsigned char *p)
{
	std::uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
WriteBigEndian(unsigned char *out, uint128 v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		out[i] = static_cast<unsigned char>(v & 0xff);
		v >>= 8;
	}
}

uint128
ReadBigEndian(const unsigned char *in, int bytes)
{
	uint128 v = 0;
	for (int i = 0; i < bytes; i++)
		v = (v << 8) | in[i];
	return v;
}

constexpr char kHexDigits[] = "0123456789abcdef";

} // namespace

std::pair<std::uint64_t, std::uint64_t>
Md5Halves(const void *data, std::size_t len)
{
	unsigned char digest[16];
	ThreadMd5().Digest(data, len, digest);
	return {ReadBigEndian64(digest), ReadBigEndian64(digest + 8)};
}

std::string
Md5Hex(std::string_view data)
{
	unsigned char digest[16];
	ThreadMd5().Digest(data.data(), data.size(), digest);
	std::string hex(32, '0');
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = kHexDigits[digest[i] >> 4];
		hex[2 * i + 1] = kHexDigits[digest[i] & 0xf];
	}
	return hex;
}

std::string
Hex128(uint128 value)
{
	std::string hex(32, '0');
	for (int i = 31; i >= 0; i--) {
		hex[i] = kHexDigits[static_cast<unsigned>(value & 0xf)];
		value >>= 4;
	}
	return hex;
}

namespace {

/* Bytes that make record_out quote a field: double quote, backslash, parentheses, comma, ASCII white space. */
struct QuoteTable {
	bool special[256] = {};
	constexpr QuoteTable()
	{
		for (unsigned char ch : {'"', '\\', '(', ')', ',', ' ', '\t', '\n', '\v', '\f', '\r'})
			special[ch] = true;
	}
};
constexpr QuoteTable kQuote;

} // namespace

std::size_t
FirstQuoteTrigger(std::string_view value)
{
	const auto *bytes = reinterpret_cast<const unsigned char *>(value.data());
	std::size_t i = 0;
#ifdef __SSE2__
	/* Sixteen bytes at a time: white space is 0x09-0x0d or 0x20, the rest are five single bytes. */
	const __m128i tab_minus_one = _mm_set1_epi8(0x08);
	const __m128i carriage_return = _mm_set1_epi8(0x0e);
	for (; i + 16 <= value.size(); i += 16) {
		__m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i *>(bytes + i));
		__m128i hit = _mm_and_si128(_mm_cmpgt_epi8(chunk, tab_minus_one), _mm_cmplt_epi8(chunk, carriage_return));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8(' ')));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\')));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8('(')));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8(')')));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(chunk, _mm_set1_epi8(',')));
		int mask = _mm_movemask_epi8(hit);
		if (mask != 0)
			return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
	}
#endif
	while (i < value.size() && !kQuote.special[bytes[i]])
		i++;
	return i;
}

std::size_t
NextDoubled(std::string_view value, std::size_t from)
{
	const auto *bytes = reinterpret_cast<const unsigned char *>(value.data());
	std::size_t i = from;
#ifdef __SSE2__
	for (; i + 16 <= value.size(); i += 16) {
		__m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i *>(bytes + i));
		int mask = _mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')), _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'))));
		if (mask != 0)
			return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
	}
#endif
	while (i < value.size() && bytes[i] != '"' && bytes[i] != '\\')
		i++;
	return i;
}

bool
FieldNeedsQuotes(std::string_view value)
{
	return value.empty() || FirstQuoteTrigger(value) < value.size();
}

void
AppendRowField(std::string &row, std::string_view value)
{
	StringSink sink{row};
	AppendRowFieldTo(sink, value);
}

std::string
Checksum::Hex() const
{
	return Hex128(sum_high) + Hex128(sum_low);
}

std::optional<Checksum>
Checksum::FromHex(std::int64_t rows, std::string_view hex)
{
	if (hex.size() != kChecksumHexDigits)
		return std::nullopt;
	Checksum sum;
	sum.rows = rows;
	for (std::size_t i = 0; i < hex.size(); i++) {
		char ch = hex[i];
		unsigned digit;
		if (ch >= '0' && ch <= '9')
			digit = static_cast<unsigned>(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			digit = static_cast<unsigned>(ch - 'a' + 10);
		else
			return std::nullopt;
		uint128 &half = i < 32 ? sum.sum_high : sum.sum_low;
		half = (half << 4) | digit;
	}
	return sum;
}

void
Checksum::Serialize(unsigned char *out) const
{
	WriteBigEndian(out, static_cast<uint128>(static_cast<std::uint64_t>(rows)), 8);
	WriteBigEndian(out + 8, sum_high, 16);
	WriteBigEndian(out + 24, sum_low, 16);
}

Checksum
Checksum::Deserialize(const unsigned char *in)
{
	Checksum c;
	c.rows = static_cast<std::int64_t>(static_cast<std::uint64_t>(ReadBigEndian(in, 8)));
	c.sum_high = ReadBigEndian(in + 8, 16);
	c.sum_low = ReadBigEndian(in + 24, 16);
	return c;
}

bool
operator==(const Checksum &a, const Checksum &b)
{
	return a.rows == b.rows && a.sum_high == b.sum_high && a.sum_low == b.sum_low;
}

} // namespace pgc::core
