/*
 * catalog.cpp: catalogs of both sides through one SQL text.
 */
#include "catalog.hpp"

namespace pgc {

namespace {

core::TextRows
Rows(const SourceResult &result)
{
	core::TextRows rows;
	for (int row = 0; row < PQntuples(result.get()); row++) {
		std::vector<std::optional<std::string>> fields;
		for (int field = 0; field < PQnfields(result.get()); field++)
			fields.push_back(PQgetisnull(result.get(), row, field)
								 ? std::nullopt
								 : std::optional<std::string>(PQgetvalue(result.get(), row, field)));
		rows.push_back(std::move(fields));
	}
	return rows;
}

core::TextRows
Rows(pg::Spi &spi)
{
	int fields = spi.Columns();
	core::TextRows rows;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		std::vector<std::optional<std::string>> values;
		for (int field = 0; field < fields; field++)
			values.push_back(spi.IsNull(row, field) ? std::nullopt
													: std::optional<std::string>(spi.GetText(row, field)));
		rows.push_back(std::move(values));
	}
	return rows;
}

} // namespace

core::Catalog
ReadSourceCatalog(SourceConnection &source, const std::vector<std::string> &schemas)
{
	/* a schema the source lacks is a typo, not an empty plan: nothing would be pulled or verified */
	core::TextRows missing = Rows(source.Exec(core::MissingSchemasSql(), {TextArrayLiteral(schemas)}));
	if (!missing.empty())
		throw Error(ERRCODE_INVALID_SCHEMA_NAME,
					"schema \"" + missing[0][0].value_or("") + "\" does not exist on the source", "",
					"Schema names are case-sensitive and given without quotes.");
	core::TextRows tables = Rows(source.Exec(core::CatalogTablesSql(), {TextArrayLiteral(schemas)}));
	core::TextRows keys = Rows(source.Exec(core::CatalogKeysSql()));
	return core::BuildCatalog(tables, keys);
}

core::Catalog
ReadTargetCatalog(pg::Spi &spi, const std::vector<std::string> &schemas)
{
	spi.Execute(core::CatalogTablesSql(), true, {{TEXTARRAYOID, TextArrayLiteral(schemas)}});
	core::TextRows tables = Rows(spi);
	spi.Execute(core::CatalogKeysSql(), true);
	core::TextRows keys = Rows(spi);
	return core::BuildCatalog(tables, keys);
}

std::vector<core::RemapMark>
ReadRemapMarks(pg::Spi &spi)
{
	spi.Execute("SELECT table_schema, table_name, column_name, mode FROM cutover.remap_column", true);
	std::vector<core::RemapMark> marks;
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		core::RemapMode mode = core::RemapMode::Strict;
		core::RemapModeOfName(spi.GetText(row, 3), mode);
		marks.push_back({spi.GetText(row, 0), spi.GetText(row, 1), spi.GetText(row, 2), mode});
	}
	return marks;
}

std::vector<std::string>
SchemasArgument(FunctionCallInfo fcinfo, int argument)
{
	return NamesArgument(fcinfo, argument, "schema names");
}

std::vector<std::string>
NamesArgument(FunctionCallInfo fcinfo, int argument, const std::string &what)
{
	ArrayType *array = pg::Call([&] { return PG_GETARG_ARRAYTYPE_P(argument); });
	Datum *elements;
	bool *nulls;
	int count;
	pg::Call([&] { deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count); });
	std::vector<std::string> schemas;
	for (int i = 0; i < count; i++) {
		if (nulls[i])
			throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, what + " must not be NULL");
		schemas.push_back(pg::Call([&] { return text_to_cstring(DatumGetTextPP(elements[i])); }));
	}
	return schemas;
}

} // namespace pgc
