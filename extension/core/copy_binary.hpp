/*
 * copy_binary.hpp: user IDs rewritten inside COPY binary-format data, as the pull streams a table whose columns
 * all have built-in types. Pure C++: only the user-ID fields are looked at.
 *
 * A binary COPY stream is a header, then one tuple per CopyData message (the first message also carries the
 * header), then a trailer. A tuple is a 16-bit field count and, per field, a 32-bit length (-1 for NULL) and
 * the value in its type's binary form. User IDs never change length (16 bytes for a uuid, 36 characters for a
 * UUID written as text), so fields are rewritten in place. The rules are those of copy_text.hpp:
 *   uuid       the 16 bytes replaced by the target ID's;
 *   text       a UUID in any letter case replaced, in capitals when it was written in capitals; other text kept;
 *   uuid[]     element by element (array_send's form: dimensions, then each element with its length);
 *   text[]     the elements that are UUIDs, as for text.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/copy_text.hpp"

namespace pgc::core {

class BinaryCopyRemapper
{
  public:
	BinaryCopyRemapper(const std::vector<RemapField> &fields, const IdMap &map) : fields_(fields), map_(map) {}

	/*
	 * Rewrites one CopyData message in place. Returns false with `failure` filled on an unmapped or malformed
	 * user ID, or on data that is no binary COPY.
	 */
	bool Remap(char *data, std::size_t size, RemapFailure &failure);

	/* Tuples seen so far (the row number of an error). */
	std::uint64_t
	Tuples() const
	{
		return tuples_;
	}

  private:
	bool RemapField(const core::RemapField &field, char *value, std::size_t size, RemapFailure &failure);

	const std::vector<core::RemapField> &fields_;
	const IdMap &map_;
	bool header_seen_ = false;
	bool trailer_seen_ = false;
	std::uint64_t tuples_ = 0;
};

} // namespace pgc::core
