/*
 * checksum.hpp: the target side of the canonical checksum, shared by migrate_checksum and migrate_verify.
 */
#pragma once

#include <cstdint>
#include <string>

#include "pg/rel.hpp"

namespace pgc {

struct TableChecksum {
	std::int64_t rows = 0;
	std::string checksum;
};

/*
 * Checksums a local table (alias t) with the cutover.migrate_checksum_agg aggregate through SPI (parallel query
 * allowed), or with the aggregate call `aggregate` (cutover.migrate_unmapped_checksum_agg(t.*)).
 */
TableChecksum ChecksumLocalTable(const pg::TableInfo &table, const std::string &aggregate = {});

} // namespace pgc
