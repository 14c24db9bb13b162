/*
 * copy_text.cpp: user IDs rewritten in COPY text lines.
 */
#include "core/copy_text.hpp"

#include <cstring>

#include "core/pure.hpp"

namespace pgc::core {

bool
RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, Rewriter &rewriter, std::string &out,
			  RemapFailure &failure)
{
	std::size_t base = out.size();
	out.append(line);
	if (fields.empty())
		return true;
	/* the fields are found in the copy and rewritten there: IDs keep their length */
	char *text = out.data() + base;
	std::size_t size = line.size();
	std::size_t start = 0;
	std::size_t index = 0;
	for (const auto &field : fields) {
		for (; index < field.index; index++) {
			const void *tab = std::memchr(text + start, '\t', size - start);
			if (tab == nullptr) {
				failure = {field.column, "", "", "is missing from the line", false};
				return false;
			}
			start = static_cast<std::size_t>(static_cast<const char *>(tab) - text) + 1;
		}
		const void *tab = std::memchr(text + start, '\t', size - start);
		std::size_t end = tab == nullptr ? size : static_cast<std::size_t>(static_cast<const char *>(tab) - text);
		std::string_view value(text + start, end - start);
		if (value != "\\N") {
			Span line_span(text, size);
			bool ok;
			if (value.find('\\') == std::string_view::npos) {
				Span span(line_span, start, end - start);
				ok = rewriter.Text(span, field);
			} else {
				DecodedSpan span(line_span, start, end - start, DecodedSpan::Escapes::CopyText);
				ok = rewriter.Text(span, field);
			}
			if (!ok) {
				failure = rewriter.failure();
				return false;
			}
		}
	}
	return true;
}

bool
RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
			  RemapFailure &failure)
{
	Rewriter rewriter(map);
	return RemapCopyLine(line, fields, rewriter, out, failure);
}

} // namespace pgc::core
