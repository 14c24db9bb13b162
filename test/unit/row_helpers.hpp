/*
 * row_helpers.hpp: helpers shared by the unit tests.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/checksum.hpp"

namespace pgc::test {

/* Row text of fields given in order; std::nullopt is SQL NULL. */
inline std::string
Row(const std::vector<std::optional<std::string>> &fields)
{
	core::RowText row;
	row.Begin();
	for (const auto &field : fields) {
		if (field)
			row.Field(*field);
		else
			row.Null();
	}
	return row.End();
}

} // namespace pgc::test
