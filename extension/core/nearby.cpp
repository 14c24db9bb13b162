/*
 * nearby.cpp: near and far servers (nearby.hpp).
 */
#include "core/nearby.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace pgc::core {

namespace {

bool
NearbyIpv4(const unsigned char *a)
{
	return a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
		   (a[0] == 169 && a[1] == 254);
}

bool
NearbyIpv6(const unsigned char *a)
{
	static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (std::equal(loopback, loopback + 16, a))
		return true;
	if (std::equal(mapped, mapped + 12, a))
		return NearbyIpv4(a + 12);
	return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

} // namespace

bool
IsNearby(std::string_view host, std::string_view address)
{
	if (address.empty())
		return !host.empty() && host.front() == '/'; /* a Unix socket's directory */
	std::string text(address);
	unsigned char bytes[16];
	if (inet_pton(AF_INET, text.c_str(), bytes) == 1)
		return NearbyIpv4(bytes);
	if (inet_pton(AF_INET6, text.c_str(), bytes) == 1)
		return NearbyIpv6(bytes);
	return false;
}

} // namespace pgc::core
