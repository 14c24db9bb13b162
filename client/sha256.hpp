/*
 * sha256.hpp: SHA-256 through OpenSSL, in lower-case hex: the archive's files, and the source's password
 * compared with the one the target stores without ever sending it.
 */
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace cutover {

/* SHA-256 over bytes given in pieces. */
class Sha256
{
  public:
	Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free)
	{
		if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
			throw std::runtime_error("could not start a SHA-256 digest");
	}
	void
	Update(const char *data, std::size_t size)
	{
		EVP_DigestUpdate(context_.get(), data, size);
	}
	std::string
	Hex()
	{
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned int size = 0;
		EVP_DigestFinal_ex(context_.get(), digest, &size);
		static constexpr char hex[] = "0123456789abcdef";
		std::string out;
		for (unsigned int i = 0; i < size; i++) {
			out.push_back(hex[digest[i] >> 4]);
			out.push_back(hex[digest[i] & 0xf]);
		}
		return out;
	}

  private:
	std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

/* The SHA-256 of `text`. */
inline std::string
Sha256Hex(const std::string &text)
{
	Sha256 sha;
	sha.Update(text.data(), text.size());
	return sha.Hex();
}

} // namespace cutover
