/*
 * copy_binary.hpp: user IDs rewritten inside COPY binary-format data, as the pull streams a table whose columns
 * all have built-in types. Pure C++: only the fields of columns that can hold a user ID are looked at.
 *
 * A binary COPY stream is a header, then one tuple per CopyData message (the first message also carries the
 * header), then a trailer. A tuple is a 16-bit field count and, per field, a 32-bit length (-1 for NULL) and
 * the value in its type's binary form: 16 bytes for a uuid, the text itself for text, varchar, char and json,
 * a version byte and the text for jsonb, and for an array its dimensions and then each element with its
 * length. User IDs never change length, so they are rewritten in place, by the rules of remap.hpp.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/remap.hpp"

namespace pgc::core {

/* Whether a field of this type can travel in binary with its IDs rewritten (Other types only as text). */
bool BinaryRemappable(ValueType type);

class BinaryCopyRemapper
{
  public:
	BinaryCopyRemapper(const std::vector<RemapField> &fields, const IdMap &map) : fields_(fields), rewriter_(map) {}

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
	bool RemapElement(const core::RemapField &field, char *value, std::size_t size, IdPlace place,
					  RemapFailure &failure);

	const std::vector<core::RemapField> &fields_;
	Rewriter rewriter_;
	bool header_seen_ = false;
	bool trailer_seen_ = false;
	std::uint64_t tuples_ = 0;
};

} // namespace pgc::core
