/*
 * fields.hpp: one value as the canonical row text prints it, exactly as record_out would: a few common types
 * directly, every other one through its output function. Shared by the checksum aggregates and the reading
 * back of user IDs (unmap.cpp).
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/md5_batch.hpp"
#include "guard.hpp"

namespace pgc {

/* How a field is printed: a few common types directly, every other one by its output function. */
enum class FieldKind : std::uint8_t { Int2, Int4, Int8, Bool, Uuid, Text, Row, Generic };

/* The kind for a type (domains resolved). */
FieldKind FieldKindOf(Oid type);

/* The output function of `type` into `output`, allocated in `context` (for the Row and Generic kinds). */
void PrepareOutput(Oid type, FmgrInfo *output, MemoryContext context);

/* The 36 characters of a uuid, in small letters. */
void PrintUuid(const unsigned char *bytes, char (&out)[36]);

/*
 * The bytes of a text, varchar or char value (detoasted, in the current memory context if need be), as its
 * output function would print them.
 */
std::string_view TextBytes(Datum value);

/* What an output function prints for `value` (palloc'd in the current memory context). */
char *OutputText(FmgrInfo *output, Datum value);

/* The decimal digits of an integer field into `digits`; returns their count. */
int PrintInteger(FieldKind kind, Datum value, char *digits);

/*
 * Appends one non-NULL field exactly as record_out prints it, to any sink with Append(const char *, size_t)
 * and Push(char) (core::RowSink, a string's).
 */
template <typename Sink>
void
AppendField(Sink &text, FieldKind kind, FmgrInfo *output, Datum value)
{
	switch (kind) {
	case FieldKind::Int2:
	case FieldKind::Int4:
	case FieldKind::Int8: {
		char digits[MAXINT8LEN + 1];
		text.Append(digits, static_cast<std::size_t>(PrintInteger(kind, value, digits)));
		return;
	}
	case FieldKind::Bool:
		text.Push(DatumGetBool(value) ? 't' : 'f');
		return;
	case FieldKind::Uuid: {
		char out[36];
		PrintUuid(reinterpret_cast<const unsigned char *>(DatumGetPointer(value)), out);
		text.Append(out, sizeof(out));
		return;
	}
	case FieldKind::Text:
		core::AppendRowFieldTo(text, TextBytes(value));
		return;
	case FieldKind::Row: {
		/* A run of columns of a wide table: its fields, already printed and quoted, without the parentheses. */
		std::string_view printed = OutputText(output, value);
		if (printed.size() >= 2)
			text.Append(printed.data() + 1, printed.size() - 2);
		return;
	}
	case FieldKind::Generic:
		core::AppendRowFieldTo(text, std::string_view(OutputText(output, value)));
		return;
	}
}

} // namespace pgc
