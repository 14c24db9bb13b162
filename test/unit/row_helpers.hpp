/*
 * row_helpers.hpp: helpers shared by the unit tests.
 */
#pragma once

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/checksum.hpp"
#include "core/remap.hpp"

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

/* User IDs of the remapping tests: A and B map to A2 and B2; kUnknown is mapped nowhere. */
inline const std::string kA = "6f1c1a7e-2b9a-4f3e-9a51-3c1e2d4b5a60";
inline const std::string kA2 = "c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
inline const std::string kB = "0b9f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
inline const std::string kB2 = "11111111-2222-4333-8444-555555555555";
inline const std::string kUnknown = "99999999-9999-4999-8999-999999999999";

/* Column types of the remapping tests. */
inline constexpr core::ValueType kUuid{core::ValueClass::Uuid, false};
inline constexpr core::ValueType kText{core::ValueClass::String, false};
inline constexpr core::ValueType kUuidArray{core::ValueClass::Uuid, true};
inline constexpr core::ValueType kTextArray{core::ValueClass::String, true};
inline constexpr core::ValueType kJson{core::ValueClass::Json, false};
inline constexpr core::ValueType kJsonb{core::ValueClass::Jsonb, false};
inline constexpr core::RemapMode kStrict = core::RemapMode::Strict;
inline constexpr core::RemapMode kByValue = core::RemapMode::Value;
inline constexpr core::RemapMode kEmbedded = core::RemapMode::Embedded;

/* Binary COPY messages built byte by byte, as the server sends them. */
inline std::string
Be32(std::uint32_t v)
{
	return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

inline std::string
Be16(std::uint16_t v)
{
	return {char(v >> 8), char(v)};
}

/* The 16 bytes of a uuid given as text (hyphens anywhere). */
inline std::string
UuidBytes(const std::string &text)
{
	std::string hex;
	for (char c : text)
		if (c != '-')
			hex += c;
	std::string out;
	for (std::size_t i = 0; i < 32; i += 2)
		out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
	return out;
}

/* A field: its 32-bit length, then its bytes; kNullField for NULL. */
inline std::string
Field(const std::string &value)
{
	return Be32(std::uint32_t(value.size())) + value;
}

inline const std::string kNullField = Be32(0xffffffffu);

/* A tuple: its 16-bit field count, then the fields. */
inline std::string
Tuple(const std::vector<std::string> &fields)
{
	std::string out = Be16(std::uint16_t(fields.size()));
	for (const auto &field : fields)
		out += field;
	return out;
}

/* The binary COPY header: signature, flags, no extension. */
inline std::string
Header()
{
	return std::string("PGCOPY\n\377\r\n\0", 11) + Be32(0) + Be32(0);
}

/* `s` in capitals (ASCII). */
inline std::string
Upper(std::string s)
{
	for (auto &ch : s)
		ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
	return s;
}

} // namespace pgc::test
