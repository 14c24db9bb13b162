/*
 * diff_rows.cpp: migrate_diff's leaves, row by row (step 4 of diff.cpp): both sides send the key and the md5
 * of each row of a batch of ranges; keys on one side only are missing or extra, keys whose hashes differ are
 * changed, and their rows are read in full on both sides to name the columns that differ.
 */
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sql.hpp"
#include "diff.hpp"

namespace pgc {

std::vector<core::KeyedRow>
Diff::SourceRows(std::vector<std::vector<std::optional<std::string>>> *values)
{
	SourceResult result = source_->Wait();
	std::vector<core::KeyedRow> rows;
	if (!result)
		return rows;
	int columns = static_cast<int>(source_side_.key.size());
	int fields = PQnfields(result.get());
	for (int row = 0; row < PQntuples(result.get()); row++) {
		core::KeyedRow keyed;
		for (int i = 0; i < columns; i++)
			keyed.key.push_back(PQgetisnull(result.get(), row, i)
									? std::nullopt
									: std::optional<std::string>(PQgetvalue(result.get(), row, i)));
		keyed.hash = PQgetvalue(result.get(), row, columns);
		if (values != nullptr) {
			std::vector<std::optional<std::string>> fields_of_row;
			for (int f = columns + 1; f < fields; f++)
				fields_of_row.push_back(PQgetisnull(result.get(), row, f)
											? std::nullopt
											: std::optional<std::string>(PQgetvalue(result.get(), row, f)));
			values->push_back(std::move(fields_of_row));
		}
		rows.push_back(std::move(keyed));
	}
	return rows;
}

std::vector<core::KeyedRow>
Diff::TargetRows(pg::Spi &spi, std::vector<std::vector<std::optional<std::string>>> *values)
{
	std::vector<core::KeyedRow> rows;
	int columns = static_cast<int>(target_side_.key.size());
	int fields = columns + 1 + (values != nullptr ? static_cast<int>(target_side_.values.size()) : 0);
	for (uint64_t row = 0; row < spi.Rows(); row++) {
		if ((row & 1023) == 0)
			pg::CheckForInterrupts();
		core::KeyedRow keyed;
		for (int i = 0; i < columns; i++)
			keyed.key.push_back(spi.IsNull(row, i) ? std::nullopt : std::optional<std::string>(spi.GetText(row, i)));
		keyed.hash = spi.GetText(row, columns);
		if (values != nullptr) {
			std::vector<std::optional<std::string>> fields_of_row;
			for (int f = columns + 1; f < fields; f++)
				fields_of_row.push_back(spi.IsNull(row, f) ? std::nullopt
														   : std::optional<std::string>(spi.GetText(row, f)));
			values->push_back(std::move(fields_of_row));
		}
		rows.push_back(std::move(keyed));
	}
	return rows;
}

/* Compares the rows of every pending leaf on both sides (one query per side) and records the differences. */
void
Diff::FlushLeaves()
{
	if (pending_.empty() || stopped_)
		return;
	std::vector<core::KeyRange> ranges;
	for (const auto &work : pending_)
		ranges.push_back(work.range);
	pending_.clear();
	pending_rows_ = 0;

	source_->Send(core::RowHashesSql(source_side_, core::RangesSql(source_side_.key, ranges)));
	std::vector<core::KeyedRow> target_rows;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(core::RowHashesSql(target_side_, core::RangesSql(target_side_.key, ranges)), true);
		target_rows = TargetRows(spi, nullptr);
	});
	std::vector<core::KeyedRow> source_rows = SourceRows(nullptr);
	AddDifferences(core::CompareRows(source_rows, target_rows));
}

/* Puts a batch's differences in key order, keeps what max_rows allows, and names the changed columns. */
void
Diff::AddDifferences(std::vector<core::Difference> differences)
{
	if (differences.size() > 1) {
		std::vector<core::KeyValue> keys;
		for (const auto &difference : differences)
			keys.push_back(difference.key);
		std::vector<std::size_t> order;
		{
			/* only a VALUES list: sorted with the caller's rights, never the owner's */
			pg::Spi spi;
			spi.Execute(core::SortKeysSql(target_side_.key, keys), true);
			for (uint64_t row = 0; row < spi.Rows(); row++)
				order.push_back(static_cast<std::size_t>(spi.GetInt64(row, 0)));
		}
		std::vector<core::Difference> sorted;
		for (std::size_t i : order)
			sorted.push_back(std::move(differences[i]));
		differences = std::move(sorted);
	}
	std::size_t room = static_cast<std::size_t>(max_rows_) - results_.size();
	if (differences.size() > room) {
		differences.resize(room);
		stopped_ = true;
	}
	NameChangedColumns(differences);
	for (auto &difference : differences)
		results_.push_back(std::move(difference));
}

/* Reads the changed rows in full on both sides and names the columns whose values differ. */
void
Diff::NameChangedColumns(std::vector<core::Difference> &differences)
{
	std::vector<core::KeyValue> keys;
	for (const auto &difference : differences)
		if (difference.status == core::DiffStatus::Changed)
			keys.push_back(difference.key);
	if (keys.empty())
		return;
	source_->Send(core::RowValuesSql(source_side_, core::KeyInSql(source_side_.key, keys)));
	std::vector<std::vector<std::optional<std::string>>> target_values;
	std::vector<core::KeyedRow> target_rows;
	OnTarget([&](pg::Spi &spi) {
		spi.Execute(core::RowValuesSql(target_side_, core::KeyInSql(target_side_.key, keys)), true);
		target_rows = TargetRows(spi, &target_values);
	});
	std::vector<std::vector<std::optional<std::string>>> source_values;
	std::vector<core::KeyedRow> source_rows = SourceRows(&source_values);

	/* the row of each side with the hash the comparison found (a key may repeat on the source) */
	auto index = [](const std::vector<core::KeyedRow> &rows) {
		std::unordered_map<std::string, std::size_t> rows_by_id;
		for (std::size_t i = 0; i < rows.size(); i++)
			rows_by_id.emplace(core::KeyId(rows[i].key) + rows[i].hash, i);
		return rows_by_id;
	};
	std::unordered_map<std::string, std::size_t> source_index = index(source_rows);
	std::unordered_map<std::string, std::size_t> target_index = index(target_rows);
	for (auto &difference : differences) {
		if (difference.status != core::DiffStatus::Changed)
			continue;
		auto s = source_index.find(core::KeyId(difference.key) + difference.source_hash);
		auto t = target_index.find(core::KeyId(difference.key) + difference.target_hash);
		if (s == source_index.end() || t == target_index.end())
			continue; /* changed again since the comparison: the columns stay unnamed */
		difference.columns = core::DifferingColumns(column_names_, source_values[s->second], target_values[t->second]);
	}
}

} // namespace pgc
