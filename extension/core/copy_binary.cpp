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

constexpr std::uint32_t kJsonbVersion = 1;

} // namespace

bool
BinaryRemappable(ValueType type)
{
	return type.element != ValueClass::Other;
}

bool
BinaryCopyRemapper::RemapElement(const core::RemapField &field, char *value, std::size_t size, IdPlace place,
								 RemapFailure &failure)
{
	auto fail = [&](const char *reason) {
		failure = {field.column, "", "", reason, false};
		return false;
	};
	bool ok = true;
	switch (field.type.element) {
	case ValueClass::None:
	case ValueClass::Other:
		return true;
	case ValueClass::Uuid:
		if (size != 16)
			return fail("is no binary uuid");
		ok = rewriter_.BinaryUuid(value, field, place);
		break;
	case ValueClass::String:
	case ValueClass::Json: {
		Span span(value, size);
		ok = rewriter_.Scalar(span, field, field.type.element, place);
		break;
	}
	case ValueClass::Jsonb: {
		/* jsonb_send: a version byte, then the document's text */
		if (size < 1 || static_cast<unsigned char>(value[0]) != kJsonbVersion)
			return fail("is no binary jsonb of version 1");
		Span span(value + 1, size - 1);
		ok = rewriter_.Scalar(span, field, field.type.element, place);
		break;
	}
	}
	if (!ok)
		failure = rewriter_.failure();
	return ok;
}

bool
BinaryCopyRemapper::RemapField(const core::RemapField &field, char *value, std::size_t size, RemapFailure &failure)
{
	if (!field.type.array)
		return RemapElement(field, value, size, IdPlace::Value, failure);
	auto fail = [&](const char *reason) {
		failure = {field.column, "", "", reason, false};
		return false;
	};
	/* array_send: ndim, has-nulls flag, element type, (length, lower bound) per dimension, elements */
	if (size < 12)
		return fail("is no binary array");
	std::uint32_t ndim = Read32(value);
	std::size_t at = 12 + 8 * std::size_t(ndim);
	if (ndim > 6 || at > size)
		return fail("is no binary array");
	while (at < size) {
		if (size - at < 4)
			return fail("is a truncated binary array");
		auto length = static_cast<std::int32_t>(Read32(value + at));
		at += 4;
		if (length < 0)
			continue; /* a NULL element */
		if (std::size_t(length) > size - at)
			return fail("is a truncated binary array");
		if (!RemapElement(field, value + at, std::size_t(length), IdPlace::ArrayElement, failure))
			return false;
		at += std::size_t(length);
	}
	return true;
}

bool
BinaryCopyRemapper::Remap(char *data, std::size_t size, RemapFailure &failure)
{
	auto malformed = [&](const char *what) {
		failure = {"", "", "", what, false};
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
			failure = {next->column, "", "", "is missing from the tuple", false};
			return false;
		}
	}
	return true;
}

} // namespace pgc::core
