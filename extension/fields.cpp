/*
 * fields.cpp: values printed as record_out prints them.
 */
#include <cstring>

#include "fields.hpp"

namespace pgc {

FieldKind
FieldKindOf(Oid type)
{
	switch (pg::Call([&] { return getBaseType(type); })) {
	case INT2OID:
		return FieldKind::Int2;
	case INT4OID:
		return FieldKind::Int4;
	case INT8OID:
		return FieldKind::Int8;
	case BOOLOID:
		return FieldKind::Bool;
	case UUIDOID:
		return FieldKind::Uuid;
	case TEXTOID:
	case VARCHAROID:
	case BPCHAROID:
		return FieldKind::Text; /* their output functions print the stored bytes as they are */
	case RECORDOID:
		return FieldKind::Row;
	default:
		return FieldKind::Generic;
	}
}

void
PrepareOutput(Oid type, FmgrInfo *output, MemoryContext context)
{
	pg::Call([&] {
		Oid output_func;
		bool is_varlena;
		getTypeOutputInfo(type, &output_func, &is_varlena);
		fmgr_info_cxt(output_func, output, context);
	});
}

void
PrintUuid(const unsigned char *bytes, char (&out)[36])
{
	static constexpr char hex[] = "0123456789abcdef";
	int pos = 0;
	for (int i = 0; i < UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[pos++] = '-';
		out[pos++] = hex[bytes[i] >> 4];
		out[pos++] = hex[bytes[i] & 0xf];
	}
}

std::string_view
TextBytes(Datum value)
{
	struct varlena *bytes = reinterpret_cast<struct varlena *>(DatumGetPointer(value));
	if (VARATT_IS_EXTERNAL(bytes) || VARATT_IS_COMPRESSED(bytes))
		bytes = pg::Call([&] { return pg_detoast_datum_packed(bytes); });
	return std::string_view(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
}

char *
OutputText(FmgrInfo *output, Datum value)
{
	return pg::Call([&] { return OutputFunctionCall(output, value); });
}

int
PrintInteger(FieldKind kind, Datum value, char *digits)
{
	switch (kind) {
	case FieldKind::Int2:
		return pg_ltoa(DatumGetInt16(value), digits);
	case FieldKind::Int4:
		return pg_ltoa(DatumGetInt32(value), digits);
	default:
		return pg_lltoa(DatumGetInt64(value), digits);
	}
}

} // namespace pgc
