/*
 * nearby.hpp: whether a database connection reaches a server near this one, the rule of
 * pg_cutover.verify_source = auto. Pure C++.
 */
#pragma once

#include <string_view>

namespace pgc::core {

/*
 * Whether a connection to `host` (libpq's PQhost: a name, an address, or a Unix socket's directory) at
 * `address` (PQhostaddr: the numeric address connected to, empty for a Unix socket) is near: a Unix socket, a
 * loopback address (127.0.0.0/8, ::1), or a private or link-local one (10/8, 172.16/12, 192.168/16,
 * 169.254/16, fc00::/7, fe80::/10, and IPv4 addresses mapped into IPv6). A public address is far.
 */
bool IsNearby(std::string_view host, std::string_view address);

} // namespace pgc::core
