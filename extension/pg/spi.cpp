/*
 * spi.cpp: the Spi wrapper.
 */
#include "pg/spi.hpp"

#include <exception>

namespace pgc::pg {

Spi::Spi() : exceptions_at_start_(std::uncaught_exceptions())
{
	int rc = Call([] { return SPI_connect(); });
	if (rc != SPI_OK_CONNECT)
		throw Error(ERRCODE_INTERNAL_ERROR, std::string("could not connect to SPI: ") + SPI_result_code_string(rc));
}

Spi::~Spi()
{
	/* While an error unwinds, leave SPI to transaction abort, which cleans it up. */
	if (std::uncaught_exceptions() != exceptions_at_start_)
		return;
	try {
		Call([] { SPI_finish(); });
	} catch (...) {
		/* Nothing can be reported from a destructor; abort cleanup finishes the job. */
	}
}

void
Spi::Execute(const std::string &sql, bool read_only, const std::vector<SpiArg> &args)
{
	int nargs = static_cast<int>(args.size());
	Oid *types = static_cast<Oid *>(Call([&] { return palloc0(sizeof(Oid) * (nargs + 1)); }));
	Datum *values = static_cast<Datum *>(Call([&] { return palloc0(sizeof(Datum) * (nargs + 1)); }));
	char *nulls = static_cast<char *>(Call([&] { return palloc0(nargs + 1); }));
	for (int i = 0; i < nargs; i++) {
		types[i] = args[i].type;
		if (!args[i].text) {
			nulls[i] = 'n';
			continue;
		}
		nulls[i] = ' ';
		const char *text = args[i].text->c_str();
		Oid type = types[i];
		values[i] = Call([&] {
			Oid input_func;
			Oid io_param;
			getTypeInputInfo(type, &input_func, &io_param);
			return OidInputFunctionCall(input_func, const_cast<char *>(text), io_param, -1);
		});
	}
	int rc = Call([&] { return SPI_execute_with_args(sql.c_str(), nargs, types, values, nulls, read_only, 0); });
	if (rc < 0)
		throw Error(ERRCODE_INTERNAL_ERROR, std::string("SPI failed: ") + SPI_result_code_string(rc));
	rows_ = SPI_processed;
}

int
Spi::Columns() const
{
	return SPI_tuptable != nullptr ? SPI_tuptable->tupdesc->natts : 0;
}

bool
Spi::IsNull(uint64_t row, int column) const
{
	bool is_null = false;
	Call([&] { SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column + 1, &is_null); });
	return is_null;
}

std::string
Spi::GetText(uint64_t row, int column) const
{
	char *value = Call([&] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column + 1); });
	return value == nullptr ? std::string() : std::string(value);
}

int64_t
Spi::GetInt64(uint64_t row, int column) const
{
	bool is_null = false;
	Datum value =
		Call([&] { return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column + 1, &is_null); });
	if (is_null)
		return 0;
	return DatumGetInt64(value);
}

std::string
Spi::GetBytes(uint64_t row, int column) const
{
	bool is_null = false;
	Datum value =
		Call([&] { return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column + 1, &is_null); });
	if (is_null)
		return {};
	bytea *bytes = Call([&] { return DatumGetByteaPP(value); });
	return std::string(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
}

} // namespace pgc::pg
