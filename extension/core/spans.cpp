/*
 * spans.cpp: the text a walk reads, written back in place: a Span over bytes, a DecodedSpan through one layer
 * of escapes (a COPY text field, a quoted array element, a JSON string).
 */
#include "core/user_ids.hpp"

#include <cstring>

#include "core/escapes.hpp"
#include "core/json_text.hpp"
#include "core/pure.hpp"

namespace pgc::core {

namespace {

/* Decodes a COPY text field's escapes (CopyReadAttributesText). */
void
UnescapeCopy(std::string_view raw, std::string &out, std::vector<std::uint32_t> &from)
{
	for (std::size_t i = 0; i < raw.size();) {
		if (raw[i] != '\\' || i + 1 >= raw.size()) {
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i));
			i++;
			continue;
		}
		std::size_t start = i++;
		out.push_back(DecodeCopyEscape(raw, i));
		from.push_back(static_cast<std::uint32_t>(start) | kEscaped);
	}
}

/* A quoted array element's escapes: a backslash stands before the character it keeps. */
bool
UnescapeArrayElement(std::string_view raw, std::string &out, std::vector<std::uint32_t> &from)
{
	for (std::size_t i = 0; i < raw.size(); i++) {
		if (raw[i] == '\\') {
			if (++i >= raw.size())
				return false;
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i - 1) | kEscaped);
		} else {
			out.push_back(raw[i]);
			from.push_back(static_cast<std::uint32_t>(i));
		}
	}
	return true;
}

} // namespace

bool
Span::Write(std::size_t at, const char *chars, std::size_t n)
{
	if (at + n > size_)
		return false;
	if (parent_ != nullptr)
		return parent_->Write(offset_ + at, chars, n);
	std::memcpy(data_ + at, chars, n);
	return true;
}

DecodedSpan::DecodedSpan(Span &parent, std::size_t at, std::size_t size, Escapes escapes)
{
	parent_ = &parent;
	offset_ = at;
	std::string_view raw(parent.data() + at, size);
	text_.reserve(size);
	from_.reserve(size);
	switch (escapes) {
	case Escapes::CopyText:
		UnescapeCopy(raw, text_, from_);
		break;
	case Escapes::ArrayElement:
		ok_ = UnescapeArrayElement(raw, text_, from_);
		break;
	case Escapes::JsonString:
		ok_ = UnescapeJson(raw, text_, &from_);
		break;
	}
	data_ = text_.data();
	size_ = text_.size();
}

bool
DecodedSpan::Write(std::size_t at, const char *chars, std::size_t n)
{
	if (at + n > size_)
		return false;
	/* every character must stand for itself: a plain character cannot replace an escape sequence */
	for (std::size_t k = at; k < at + n; k++)
		if ((from_[k] & kEscaped) != 0)
			return false;
	/* consecutive plain characters are consecutive in the parent too: one write there */
	if (n > 0 && from_[at + n - 1] - from_[at] != n - 1)
		return false;
	if (!parent_->Write(offset_ + from_[at], chars, n))
		return false;
	std::memcpy(text_.data() + at, chars, n);
	return true;
}

} // namespace pgc::core
