/*
 * pure.hpp: included last by every .cpp file of core/, it makes "no postgres.h here" a compile-time fact.
 *
 * core/ is linked into the extension, the client and the unit tests, so it must build without a server.
 */
#pragma once

#ifdef POSTGRES_H
#error "extension/core/ is pure C++: it must not include postgres.h"
#endif
