/*
 * unmap.cpp: the target's rows read back as the source had them, and the SQL functions that do it inside an
 * UnmapScope.
 */
#include <algorithm>
#include <cstring>

#include "core/user_ids.hpp"
#include "pg/compat.hpp"
#include "pg/datum.hpp"
#include "unmap.hpp"

namespace pgc {

namespace {

/* The scope SQL functions read rows in now: they take no argument of their own for it. */
UnmapScope *active_scope = nullptr;

} // namespace

std::vector<core::RemapMode>
ColumnModes(const pg::TableInfo &table, const std::vector<std::string> &strict,
			const std::vector<core::RemapMark> &marks)
{
	std::vector<core::RemapMode> modes;
	for (const auto &column : table.columns) {
		core::RemapMode mode = core::ColumnMode(marks, table.schema, table.name, column.name, strict);
		core::ValueType type = core::ValueTypeOf(column.base_type);
		if (type.element == core::ValueClass::None ||
			(type.element == core::ValueClass::Other && mode != core::RemapMode::Embedded))
			mode = core::RemapMode::Off;
		modes.push_back(mode);
	}
	return modes;
}

core::IdMap
ReadMapBack(pg::Spi &spi)
{
	spi.Execute("SELECT target_id::text, source_id::text FROM cutover.id_map", true);
	core::IdMap map;
	map.reserve(spi.Rows());
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		std::string target = spi.GetText(row, 0), source = spi.GetText(row, 1);
		core::Uuid source_id;
		map.Add(target, source);
		if (core::ParseCanonicalUuid(source, source_id))
			map.AddAlone(source_id);
	}
	return map;
}

RowReader::RowReader(const pg::TableInfo &table, const std::vector<core::RemapMode> &modes)
	: table_(table.qualified), context_(CurrentMemoryContext)
{
	Oid relid = table.relid;
	row_type_expected_ = pg::Call([&] { return get_rel_type_id(relid); });
	for (std::size_t i = 0; i < table.columns.size(); i++) {
		Column column;
		column.name = table.columns[i].name;
		column.mode = i < modes.size() ? modes[i] : core::RemapMode::Off;
		column.type = core::ValueTypeOf(table.columns[i].base_type);
		columns_.push_back(std::move(column));
	}
}

void
RowReader::Deform(HeapTupleHeader row)
{
	Oid type = HeapTupleHeaderGetTypeId(row);
	int32 typmod = HeapTupleHeaderGetTypMod(row);
	/* the rows of the table being read, and no others: nothing else is read back through the map */
	if (type != row_type_expected_)
		throw Error(ERRCODE_WRONG_OBJECT_TYPE, "pg_cutover reads rows of table " + table_ + " here, and no others");
	if (desc_ == nullptr || type != row_type_ || typmod != row_typmod_) {
		MemoryContext context = context_;
		desc_ = pg::Call([&] {
			MemoryContext old = MemoryContextSwitchTo(context);
			TupleDesc copy = lookup_rowtype_tupdesc_copy(type, typmod);
			MemoryContextSwitchTo(old);
			return copy;
		});
		row_type_ = type;
		row_typmod_ = typmod;
		for (auto &column : columns_) {
			column.att = -1;
			for (int i = 0; i < desc_->natts; i++) {
				Form_pg_attribute att = TupleDescAttr(desc_, i);
				if (!att->attisdropped && column.name == NameStr(att->attname))
					column.att = i;
			}
			if (column.att < 0)
				throw Error(ERRCODE_UNDEFINED_COLUMN, "column " + pg::QuoteIdentifier(column.name) + " of table " +
														  table_ + " is not in its rows");
			Oid att_type = TupleDescAttr(desc_, column.att)->atttypid;
			column.kind = FieldKindOf(att_type);
			column.blank_padded = pg::Call([&] { return getBaseType(att_type); }) == BPCHAROID;
			PrepareOutput(att_type, &column.output, context);
		}
		values_.assign(desc_->natts, Datum(0));
		nulls_.reset(new bool[desc_->natts]);
	}
	HeapTupleData tuple;
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	TupleDesc desc = desc_;
	Datum *values = values_.data();
	bool *nulls = nulls_.get();
	pg::Call([&] { heap_deform_tuple(&tuple, desc, values, nulls); });
}

core::Span *
RowReader::Text(std::size_t index, bool copy)
{
	Column &column = columns_[index];
	Datum value = Value(index);
	char *buffer;
	std::size_t size;
	switch (column.kind) {
	case FieldKind::Uuid:
		PrintUuid(reinterpret_cast<const unsigned char *>(DatumGetPointer(value)), uuid_);
		buffer = uuid_;
		size = sizeof(uuid_);
		break;
	case FieldKind::Text: {
		std::string_view text = TextBytes(value);
		if (copy) {
			scratch_.assign(text);
			buffer = scratch_.data();
		} else {
			/* read only: the walk of a counter never writes */
			buffer = const_cast<char *>(text.data());
		}
		size = text.size();
		break;
	}
	default:
		buffer = OutputText(&column.output, value);
		size = std::strlen(buffer);
		break;
	}
	span_.emplace(buffer, size);
	return &*span_;
}

std::string
RowReader::TextCopy(std::size_t index)
{
	Column &column = columns_[index];
	Datum value = Value(index);
	switch (column.kind) {
	case FieldKind::Uuid: {
		char text[36];
		PrintUuid(reinterpret_cast<const unsigned char *>(DatumGetPointer(value)), text);
		return std::string(text, sizeof(text));
	}
	case FieldKind::Text:
		return std::string(TextBytes(value));
	default:
		return OutputText(&column.output, value);
	}
}

UnmapScope::UnmapScope(const pg::TableInfo &table, const std::vector<core::RemapMode> &modes, core::IdMap map)
	: reader_(table, modes), map_(std::move(map)), unmapper_(map_, leftovers_), outer_(active_scope)
{
	active_scope = this;
}

UnmapScope::~UnmapScope()
{
	active_scope = outer_;
}

UnmapScope &
UnmapScope::Active(const char *function)
{
	if (active_scope == nullptr)
		throw Error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					std::string(function) + " reads rows for pg_cutover's own verification only",
					"It is called by migrate_verify, migrate_verify_checksum and migrate_diff.");
	return *active_scope;
}

bool
UnmapScope::Needed() const
{
	if (map_.empty())
		return false;
	auto &columns = const_cast<RowReader &>(reader_).Columns();
	return std::any_of(columns.begin(), columns.end(),
					   [](const RowReader::Column &column) { return column.mode != core::RemapMode::Off; });
}

/*
 * The text of a mapped column's value with its user IDs mapped back, valid until the next call: a value that
 * cannot hold one is not copied.
 */
std::string_view
UnmapScope::MappedText(std::size_t index)
{
	RowReader::Column &column = reader_.Columns()[index];
	bool embedded = column.mode == core::RemapMode::Embedded;
	core::Span *text = reader_.Text(index, false);
	if (!core::MayHoldId(text->view(), column.type, embedded))
		return text->view();
	if (column.kind == FieldKind::Text)
		text = reader_.Text(index, true); /* the stored bytes are not ours to change */
	bool keys_moved = false;
	if (!unmapper_.Text(*text, column.type, column.mode, index, keys_moved))
		throw Error(ERRCODE_DATA_CORRUPTED, "column " + pg::QuoteIdentifier(column.name) + " of table " +
												reader_.Table() + " holds a value that is not what its type prints");
	/* a key rewritten in a jsonb document: the source printed its keys in jsonb's order of the source IDs */
	if (keys_moved && column.type.element == core::ValueClass::Jsonb &&
		(column.type.array ? core::SortJsonbArrayKeys(text->view(), sorted_)
						   : core::SortJsonbKeys(text->view(), sorted_)))
		return sorted_;
	return text->view();
}

template <typename Sink>
void
UnmapScope::Print(Sink &sink, HeapTupleHeader row)
{
	reader_.Deform(row);
	auto &columns = reader_.Columns();
	sink.Push('(');
	for (std::size_t i = 0; i < columns.size(); i++) {
		if (i > 0)
			sink.Push(',');
		if (reader_.IsNull(i))
			continue;
		RowReader::Column &column = columns[i];
		if (column.mode == core::RemapMode::Off || map_.empty())
			AppendField(sink, column.kind, &column.output, reader_.Value(i));
		else
			core::AppendRowFieldTo(sink, MappedText(i));
	}
	sink.Push(')');
}

void
UnmapScope::AppendRow(core::RowSink &sink, HeapTupleHeader row)
{
	Print(sink, row);
}

std::string
UnmapScope::RowText(HeapTupleHeader row)
{
	std::string text;
	core::StringSink sink{text};
	Print(sink, row);
	return text;
}

std::vector<std::optional<std::string>>
UnmapScope::Values(HeapTupleHeader row)
{
	reader_.Deform(row);
	auto &columns = reader_.Columns();
	std::vector<std::optional<std::string>> values;
	for (std::size_t i = 0; i < columns.size(); i++) {
		if (reader_.IsNull(i)) {
			values.emplace_back();
			continue;
		}
		std::string text = columns[i].mode == core::RemapMode::Off || map_.empty()
							   ? std::string(OutputText(&columns[i].output, reader_.Value(i)))
							   : std::string(MappedText(i));
		if (columns[i].blank_padded)
			text.erase(text.find_last_not_of(' ') + 1);
		values.emplace_back(std::move(text));
	}
	return values;
}

std::string
UnmapScope::LeftoverText() const
{
	std::string text;
	auto &columns = const_cast<RowReader &>(reader_).Columns();
	for (const auto &finding : leftovers_.Sorted()) {
		const RowReader::Column &column = columns[std::min(finding.column, columns.size() - 1)];
		text += (text.empty() ? "" : "; ") + std::string("column ") + pg::QuoteIdentifier(column.name) +
				(finding.path.empty() ? "" : " at " + finding.path) + " (" + core::IdPlaceName(finding.place) +
				"): " + std::to_string(finding.ids) + " Supabase user ID" + (finding.ids == 1 ? "" : "s") +
				" left, such as " + finding.example_id;
	}
	return text;
}

TableChecksum
ChecksumMappedBack(const pg::TableInfo &table)
{
	return ChecksumLocalTable(table, "cutover.migrate_unmapped_checksum_agg(t.*)");
}

} // namespace pgc

using namespace pgc;

/* cutover.value_class(base_type text) -> text: none, uuid, string, json, jsonb or other (core::ValueTypeOf). */
PGC_FUNCTION(value_class)
{
	std::string name = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
	static const char *const kNames[] = {"none", "uuid", "string", "json", "jsonb", "other"};
	return pg::TextDatum(kNames[static_cast<int>(core::ValueTypeOf(name).element)]);
}

/* cutover.migrate_unmapped_row(record) -> text: a row's canonical text with its user IDs mapped back. */
PGC_FUNCTION(migrate_unmapped_row)
{
	UnmapScope &scope = UnmapScope::Active("migrate_unmapped_row");
	HeapTupleHeader row = pg::Call([&] { return pg::RowArgument(fcinfo, 0); });
	std::string row_text = scope.RowText(row);
	return pg::TextDatum(row_text);
}

/* cutover.migrate_unmapped_values(record) -> text[]: each column's text mapped back, in canonical order. */
PGC_FUNCTION(migrate_unmapped_values)
{
	UnmapScope &scope = UnmapScope::Active("migrate_unmapped_values");
	HeapTupleHeader row = pg::Call([&] { return pg::RowArgument(fcinfo, 0); });
	std::vector<std::optional<std::string>> values = scope.Values(row);
	int count = static_cast<int>(values.size());
	Datum *elements = static_cast<Datum *>(pg::Call([&] { return palloc(sizeof(Datum) * (count + 1)); }));
	bool *nulls = static_cast<bool *>(pg::Call([&] { return palloc(sizeof(bool) * (count + 1)); }));
	for (int i = 0; i < count; i++) {
		nulls[i] = !values[i].has_value();
		elements[i] = nulls[i] ? Datum(0) : pg::TextDatum(*values[i]);
	}
	int dims[1] = {count};
	int lbs[1] = {1};
	return pg::Call([&] {
		return PointerGetDatum(construct_md_array(elements, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	});
}
