/*
 * copy_binary.cpp: user IDs rewritten in place in COPY binary-format messages.
 */
#include "core/copy_binary.hpp"

#include <cstring>
#include <string>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

constexpr char kSignature[] = "PGCOPY\n\377\r\n"; /* 11 bytes with its NUL */
constexpr std::size_t kSignatureSize = 11;

/* Big-endian integers of the binary COPY format. */
std::uint32_t
Read32(const char *at)
{
	const auto *bytes = reinterpret_cast<const unsigned char *>(at);
	return (std::uint32_t(bytes[0]) << 24) | (std::uint32_t(bytes[1]) << 16) | (std::uint32_t(bytes[2]) << 8) |
		   std::uint32_t(bytes[3]);
}

std::uint16_t
Read16(const char *at)
{
	const auto *bytes = reinterpret_cast<const unsigned char *>(at);
	return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

std::uint64_t
Read64(const char *at)
{
	return (std::uint64_t(Read32(at)) << 32) | Read32(at + 4);
}

void
Write64(char *at, std::uint64_t value)
{
	for (int i = 7; i >= 0; i--) {
		at[i] = static_cast<char>(value & 0xff);
		value >>= 8;
	}
}

std::string
UuidText(const char *bytes)
{
	char text[36];
	FormatUuid(Read64(bytes), Read64(bytes + 8), text);
	return std::string(text, 36);
}

constexpr const char *kUnmapped = "has no target ID";

} // namespace

bool
BinaryCopyRemapper::RemapField(const core::RemapField &field, char *value, std::size_t size, RemapFailure &failure)
{
	auto fail = [&](std::string shown, const char *reason, bool unmapped) {
		failure = {field.column, std::move(shown), reason, unmapped};
		return false;
	};
	auto remap_uuid = [&](char *bytes) {
		std::uint64_t high, low;
		if (!map_.FindValue(Read64(bytes), Read64(bytes + 8), high, low))
			return fail(UuidText(bytes), kUnmapped, true);
		Write64(bytes, high);
		Write64(bytes + 8, low);
		return true;
	};
	auto remap_text = [&](char *text, std::size_t length) {
		bool is_uuid = false;
		const char *reason = RemapUuidTextInPlace(text, length, map_, is_uuid);
		if (reason != nullptr)
			return fail(std::string(text, length), reason, std::strcmp(reason, kUnmapped) == 0);
		return true; /* text that is no UUID ('system') stays */
	};

	switch (field.kind) {
	case UserIdKind::None:
		return true;
	case UserIdKind::Uuid:
		if (size != 16)
			return fail("", "is no binary uuid", false);
		return remap_uuid(value);
	case UserIdKind::Text:
		return remap_text(value, size);
	case UserIdKind::UuidArray:
	case UserIdKind::TextArray: {
		/* array_send: ndim, has-nulls flag, element type, (length, lower bound) per dimension, elements */
		if (size < 12)
			return fail("", "is no binary array", false);
		std::uint32_t ndim = Read32(value);
		std::size_t at = 12 + 8 * std::size_t(ndim);
		if (ndim > 6 || at > size)
			return fail("", "is no binary array", false);
		while (at < size) {
			if (size - at < 4)
				return fail("", "is a truncated binary array", false);
			auto length = static_cast<std::int32_t>(Read32(value + at));
			at += 4;
			if (length < 0)
				continue; /* a NULL element */
			if (std::size_t(length) > size - at)
				return fail("", "is a truncated binary array", false);
			bool ok = field.kind == UserIdKind::UuidArray
						  ? (length == 16 ? remap_uuid(value + at) : fail("", "is no binary uuid[]", false))
						  : remap_text(value + at, std::size_t(length));
			if (!ok)
				return false;
			at += std::size_t(length);
		}
		return true;
	}
	}
	return true;
}

bool
BinaryCopyRemapper::Remap(char *data, std::size_t size, RemapFailure &failure)
{
	auto malformed = [&](const char *what) {
		failure = {"", "", what, false};
		return false;
	};
	std::size_t at = 0;
	if (!header_seen_) {
		if (size < kSignatureSize + 8 || std::memcmp(data, kSignature, kSignatureSize) != 0)
			return malformed("the source sent no binary COPY header");
		std::size_t extension = Read32(data + kSignatureSize + 4);
		at = kSignatureSize + 8 + extension;
		if (at > size)
			return malformed("the source sent a truncated binary COPY header");
		header_seen_ = true;
	}
	while (at < size) {
		if (trailer_seen_ || size - at < 2)
			return malformed("the source sent data after the end of its binary COPY");
		auto count = static_cast<std::int16_t>(Read16(data + at));
		at += 2;
		if (count == -1) {
			trailer_seen_ = true;
			continue;
		}
		tuples_++;
		auto next = fields_.begin();
		for (std::size_t index = 0; index < std::size_t(count); index++) {
			if (size - at < 4)
				return malformed("the source sent a truncated binary COPY tuple");
			auto length = static_cast<std::int32_t>(Read32(data + at));
			at += 4;
			std::size_t value_size = length < 0 ? 0 : std::size_t(length);
			if (value_size > size - at)
				return malformed("the source sent a truncated binary COPY tuple");
			if (next != fields_.end() && next->index == index) {
				if (length >= 0 && !RemapField(*next, data + at, value_size, failure))
					return false;
				++next;
			}
			at += value_size;
		}
		if (next != fields_.end()) {
			failure = {next->column, "", "is missing from the tuple", false};
			return false;
		}
	}
	return true;
}

} // namespace pgc::core
