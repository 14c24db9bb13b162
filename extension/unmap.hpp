/*
 * unmap.hpp: the target's rows read as the source had them.
 *
 * Every column that can hold a user ID is mapped back through the ID map (Stack Auth ID -> Supabase ID) by its
 * mode: by value, as a user-ID column, with embedded IDs, or kept out (core/remap.hpp). A Supabase ID still on
 * the target is marked, so the row cannot equal the source's, and recorded with its column and JSON path. The
 * verification's checksum, the import's and migrate_diff's read rows this way, through the SQL functions
 * cutover.migrate_unmapped_checksum_agg, cutover.migrate_unmapped_bucket_agg, cutover.migrate_unmapped_row and
 * cutover.migrate_unmapped_values, which take a whole row of the table and work inside an UnmapScope.
 */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checksum.hpp"
#include "core/md5_batch.hpp"
#include "core/plan.hpp"
#include "core/remap.hpp"
#include "fields.hpp"
#include "pg/rel.hpp"
#include "pg/spi.hpp"

namespace pgc {

/*
 * The remap mode of each column of `table`, in its canonical order: a mark of cutover.remap_column first,
 * then `strict` (the user-ID columns foreign keys lead to), then by value; Off for a column whose type holds
 * no ID (or holds one only embedded, unless opted in).
 */
std::vector<core::RemapMode> ColumnModes(const pg::TableInfo &table, const std::vector<std::string> &strict,
										 const std::vector<core::RemapMark> &marks);

/* The ID map read back: Stack Auth ID -> Supabase ID, and every Supabase ID alone. Runs as the caller's role. */
core::IdMap ReadMapBack(pg::Spi &spi);

/* A whole row of a table (a record), its columns in canonical order, each printed as its output function does. */
class RowReader
{
  public:
	struct Column {
		std::string name;
		core::RemapMode mode = core::RemapMode::Off;
		core::ValueType type;
		int att = -1; /* in the row's descriptor */
		FieldKind kind = FieldKind::Generic;
		bool blank_padded = false; /* char(n): its cast to text drops the trailing blanks */
		FmgrInfo output;
	};

	RowReader(const pg::TableInfo &table, const std::vector<core::RemapMode> &modes);

	/* Takes a row apart (the first row also looks its type up); the columns' values until the next row. */
	void Deform(HeapTupleHeader row);
	std::vector<Column> &
	Columns()
	{
		return columns_;
	}
	bool
	IsNull(std::size_t column) const
	{
		return nulls_[columns_[column].att];
	}
	Datum
	Value(std::size_t column) const
	{
		return values_[columns_[column].att];
	}
	/*
	 * A column's text as its output function prints it, writable in place: `copy` asks for a copy of text
	 * held elsewhere (a value stored in the row). Valid until the next call.
	 */
	core::Span *Text(std::size_t column, bool copy);
	/* A column's text as a string of its own (leaves what Text() gave alone). */
	std::string TextCopy(std::size_t column);
	/* The qualified name of the table. */
	const std::string &
	Table() const
	{
		return table_;
	}

  private:
	std::string table_;
	Oid row_type_expected_; /* the table's row type: rows of any other are refused */
	std::vector<Column> columns_;
	MemoryContext context_;
	TupleDesc desc_ = nullptr;
	Oid row_type_ = InvalidOid;
	int32 row_typmod_ = -1;
	std::vector<Datum> values_;
	std::unique_ptr<bool[]> nulls_;
	char uuid_[36];
	std::string scratch_;
	std::optional<core::Span> span_;
};

/* One table's rows read back, for the SQL functions above while it is alive. */
class UnmapScope
{
  public:
	UnmapScope(const pg::TableInfo &table, const std::vector<core::RemapMode> &modes, core::IdMap map);
	~UnmapScope();
	UnmapScope(const UnmapScope &) = delete;
	UnmapScope &operator=(const UnmapScope &) = delete;

	/* The scope the SQL functions run in; 55000 when there is none (they serve pg_cutover's own queries). */
	static UnmapScope &Active(const char *function);

	/* Whether reading back changes anything: a column is mapped and the map holds IDs. */
	bool Needed() const;

	/* Appends the canonical row text of `row` (a whole row of the table) with its user IDs mapped back. */
	void AppendRow(core::RowSink &sink, HeapTupleHeader row);
	/* The same as a string. */
	std::string RowText(HeapTupleHeader row);
	/* Each column's value mapped back as (value)::text gives it (std::nullopt for NULL), in canonical order. */
	std::vector<std::optional<std::string>> Values(HeapTupleHeader row);

	/* The Supabase IDs found left on the target so far. */
	const core::Findings &
	Leftovers() const
	{
		return leftovers_;
	}
	/* The leftovers in words, one place after the other: "column details at $.by (json value): 2 ... left". */
	std::string LeftoverText() const;

  private:
	std::string_view MappedText(std::size_t index);
	template <typename Sink> void Print(Sink &sink, HeapTupleHeader row);

	RowReader reader_;
	core::IdMap map_;
	core::Findings leftovers_;
	core::Unmapper unmapper_;
	std::string sorted_;
	UnmapScope *outer_;
};

/* The target's checksum of `table` read back in `scope` (cutover.migrate_unmapped_checksum_agg). */
TableChecksum ChecksumMappedBack(const pg::TableInfo &table);

} // namespace pgc
