/*
 * checksum.cpp: row text quoting, md5 halves and checksum folding (pure C++, OpenSSL for md5).
 */
#include "core/checksum.hpp"

#include <openssl/evp.h>

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

bool
FieldNeedsQuotes(std::string_view value)
{
	if (value.empty())
		return true;
	for (char ch : value) {
		switch (ch) {
		case '"':
		case '\\':
		case '(':
		case ')':
		case ',':
		case ' ':
		case '\t':
		case '\n':
		case '\v':
		case '\f':
		case '\r':
			return true;
		default:
			break;
		}
	}
	return false;
}

void
AppendRowField(std::string &row, std::string_view value)
{
	if (!FieldNeedsQuotes(value)) {
		row.append(value);
		return;
	}
	row.push_back('"');
	for (char ch : value) {
		if (ch == '"' || ch == '\\')
			row.push_back(ch);
		row.push_back(ch);
	}
	row.push_back('"');
}

std::string
Checksum::Hex() const
{
	return Hex128(sum_high) + Hex128(sum_low);
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
