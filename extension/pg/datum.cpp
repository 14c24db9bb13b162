/*
 * datum.cpp: C++ values to PostgreSQL datums.
 */
#include "pg/datum.hpp"

namespace pgc::pg {

Datum
TextDatum(const std::string &value)
{
	return Call(
		[&] { return PointerGetDatum(cstring_to_text_with_len(value.data(), static_cast<int>(value.size()))); });
}

Datum
TextArrayDatum(const std::vector<std::string> &values)
{
	int count = static_cast<int>(values.size());
	Datum *elements = static_cast<Datum *>(Call([&] { return palloc(sizeof(Datum) * (count + 1)); }));
	for (int i = 0; i < count; i++)
		elements[i] = TextDatum(values[i]);
	return Call([&] { return PointerGetDatum(construct_array(elements, count, TEXTOID, -1, false, TYPALIGN_INT)); });
}

Datum
ResultRow(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc desc;
	if (Call([&] { return get_call_result_type(fcinfo, nullptr, &desc); }) != TYPEFUNC_COMPOSITE)
		throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "this function must be called where a row is accepted");
	/* HeapTupleGetDatum flattens a tuple with toasted values, which allocates: inside the guard too */
	return Call([&] { return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)); });
}

ResultSet::ResultSet(FunctionCallInfo fcinfo)
{
	Call([&] { InitMaterializedSRF(fcinfo, 0); });
	info_ = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
}

void
ResultSet::Add(Datum *values, bool *nulls)
{
	ReturnSetInfo *info = info_;
	Call([&] { tuplestore_putvalues(info->setResult, info->setDesc, values, nulls); });
}

} // namespace pgc::pg
