/*
 * remap.cpp: rewriting, mapping back and counting the user IDs found in values.
 */
#include "core/remap.hpp"

#include <algorithm>
#include <tuple>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

constexpr const char *kUnmappedReason = "has no target ID";
constexpr const char *kWithoutUserReason = "is the ID of a Supabase user who has no Stack Auth user yet (no target ID)";
constexpr const char *kMixedCaseReason = "is written in mixed letter case that a target ID cannot keep";
constexpr const char *kOtherFormReason =
	"is written with hyphens in other places than 8-4-4-4-12, which a target ID cannot keep";
constexpr const char *kEscapedReason = "is written with escape sequences that a target ID cannot keep";

bool
Whole(IdPlace place)
{
	return place == IdPlace::Value || place == IdPlace::ArrayElement;
}

} // namespace

char
RemapModeLetter(RemapMode mode)
{
	switch (mode) {
	case RemapMode::Off:
		return '-';
	case RemapMode::Value:
		return 'v';
	case RemapMode::Strict:
		return 's';
	case RemapMode::Embedded:
		return 'e';
	}
	return 'v';
}

bool
RemapModeOfLetter(char letter, RemapMode &mode)
{
	for (RemapMode candidate : {RemapMode::Off, RemapMode::Value, RemapMode::Strict, RemapMode::Embedded})
		if (RemapModeLetter(candidate) == letter) {
			mode = candidate;
			return true;
		}
	return false;
}

const char *
RemapModeName(RemapMode mode)
{
	switch (mode) {
	case RemapMode::Off:
		return "off";
	case RemapMode::Value:
		return "value";
	case RemapMode::Strict:
		return "user_ids";
	case RemapMode::Embedded:
		return "embedded";
	}
	return "value";
}

bool
RemapModeOfName(const std::string &name, RemapMode &mode)
{
	for (RemapMode candidate : {RemapMode::Off, RemapMode::Value, RemapMode::Strict, RemapMode::Embedded})
		if (name == RemapModeName(candidate)) {
			mode = candidate;
			return true;
		}
	return false;
}

std::vector<RemapField>
RemapFieldsOf(const std::vector<ColumnRemap> &columns)
{
	std::vector<RemapField> fields;
	for (std::size_t i = 0; i < columns.size(); i++) {
		const ColumnRemap &column = columns[i];
		ValueType type = ValueTypeOf(column.base_type);
		if (column.mode == RemapMode::Off || type.element == ValueClass::None)
			continue;
		if (type.element == ValueClass::Other && column.mode != RemapMode::Embedded)
			continue;
		fields.push_back({i, type, column.mode, column.column});
	}
	return fields;
}

/* Rewriter */

bool
Rewriter::Text(Span &value, const RemapField &field)
{
	field_ = &field;
	WalkOptions options;
	options.embedded = field.mode == RemapMode::Embedded;
	return Finish(WalkText(value, field.type, options, *this));
}

bool
Rewriter::Scalar(Span &value, const RemapField &field, ValueClass element, IdPlace place)
{
	field_ = &field;
	WalkOptions options;
	options.embedded = field.mode == RemapMode::Embedded;
	return Finish(WalkScalar(value, element, place, options, *this));
}

bool
Rewriter::Finish(WalkResult result)
{
	if (result == WalkResult::Done)
		return true;
	if (result == WalkResult::Malformed)
		failure_ = {field_->column, "", "", "is not a value as its type prints it", false};
	return false;
}

bool
Rewriter::Fail(Span &span, std::size_t at, std::size_t size, const JsonPath &path, const char *reason, bool unmapped)
{
	failure_ = {field_->column, path.Text(), std::string(span.view().substr(at, size)), reason, unmapped};
	return false;
}

bool
Rewriter::Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			 const JsonPath &path)
{
	bool strict = field_->mode == RemapMode::Strict && Whole(place);
	if (strict && !spelling.Keepable())
		return Fail(span, at, size, path, spelling.form == UuidForm::Other ? kOtherFormReason : kMixedCaseReason,
					false);
	Uuid target;
	switch (map_.Lookup(spelling.value, target)) {
	case IdMap::Found::No:
		/* a UUID that is no user ID (a device's): kept, but not in a column that holds only user IDs */
		return strict ? Fail(span, at, size, path, kUnmappedReason, true) : true;
	case IdMap::Found::Alone:
		return Fail(span, at, size, path, kWithoutUserReason, true);
	case IdMap::Found::Pair:
		break;
	}
	if (!spelling.Keepable())
		return Fail(span, at, size, path, spelling.form == UuidForm::Other ? kOtherFormReason : kMixedCaseReason,
					false);
	char text[38];
	SpellUuid(target, spelling.form, spelling.Upper(), text);
	if (!span.Write(at, text, size))
		return Fail(span, at, size, path, kEscapedReason, false);
	return true;
}

bool
Rewriter::BinaryUuid(char *bytes, const RemapField &field, IdPlace place)
{
	field_ = &field;
	auto *in = reinterpret_cast<unsigned char *>(bytes);
	Uuid id;
	for (int i = 0; i < 8; i++) {
		id.high = (id.high << 8) | in[i];
		id.low = (id.low << 8) | in[8 + i];
	}
	Uuid target;
	IdMap::Found found = map_.Lookup(id, target);
	if (found == IdMap::Found::Pair) {
		for (int i = 7; i >= 0; i--) {
			in[i] = static_cast<unsigned char>(target.high >> (8 * (7 - i)));
			in[8 + i] = static_cast<unsigned char>(target.low >> (8 * (7 - i)));
		}
		return true;
	}
	if (found == IdMap::Found::No && !(field.mode == RemapMode::Strict && Whole(place)))
		return true;
	char text[36];
	FormatUuid(id.high, id.low, text);
	failure_ = {field.column, "", std::string(text, 36),
				found == IdMap::Found::Alone ? kWithoutUserReason : kUnmappedReason, true};
	return false;
}

/* Findings */

Finding &
Findings::At(std::size_t column, IdPlace place, const std::string &path)
{
	std::string key = std::to_string(column) + '\x1f' + std::to_string(static_cast<int>(place)) + '\x1f' + path;
	auto found = index_.find(key);
	if (found != index_.end())
		return entries_[found->second];
	if (entries_.size() >= kMaxEntries) {
		/* bounded: every further place of the column counts in one entry */
		key = std::to_string(column) + "\x1f*";
		found = index_.find(key);
		if (found != index_.end())
			return entries_[found->second];
		entries_.push_back({column, place, "(more paths)", 0, 0, 0, {}, {}});
	} else {
		entries_.push_back({column, place, path, 0, 0, 0, {}, {}});
	}
	index_.emplace(std::move(key), entries_.size() - 1);
	return entries_.back();
}

std::vector<Finding>
Findings::Sorted() const
{
	std::vector<Finding> sorted = entries_;
	std::sort(sorted.begin(), sorted.end(), [](const Finding &a, const Finding &b) {
		return std::tie(a.column, a.path, a.place) < std::tie(b.column, b.path, b.place);
	});
	return sorted;
}

std::string
Thousands(std::int64_t count)
{
	/* through unsigned arithmetic: the smallest int64 has no positive twin */
	std::uint64_t magnitude = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
	std::string digits = std::to_string(magnitude);
	std::string out;
	for (std::size_t i = 0; i < digits.size(); i++) {
		if (i > 0 && (digits.size() - i) % 3 == 0)
			out.push_back(',');
		out.push_back(digits[i]);
	}
	return count < 0 ? "-" + out : out;
}

std::vector<std::string>
SampleEvidence(const Findings &findings, const std::vector<std::string> &columns, const std::vector<RemapMode> &modes)
{
	std::vector<Finding> all = findings.Sorted();
	std::vector<std::string> lines;
	for (const auto &finding : all) {
		if (finding.ids == 0 || finding.column >= columns.size())
			continue;
		std::string place = columns[finding.column] + (finding.path.empty() ? "" : " " + finding.path);
		RemapMode mode = finding.column < modes.size() ? modes[finding.column] : RemapMode::Value;
		if (finding.place == IdPlace::Embedded) {
			/* the strings the IDs were inside of: the scalars counted at the same path */
			std::int64_t strings = 0;
			for (const auto &other : all)
				if (other.column == finding.column && other.path == finding.path && other.place != IdPlace::Embedded)
					strings = std::max(strings, other.values);
			std::string line = place + ": " + Thousands(finding.ids) + " user ID" + (finding.ids == 1 ? "" : "s") +
							   " embedded in " + Thousands(strings) + " sampled value" + (strings == 1 ? "" : "s");
			line += mode == RemapMode::Embedded ? " (rewritten: the column opts in)"
					: mode == RemapMode::Off	? " (kept out)"
												: " (not rewritten: migrate_remap_column(..., 'embedded') opts in, "
												  "'off' keeps them on purpose)";
			lines.push_back(std::move(line));
			continue;
		}
		std::string what = finding.place == IdPlace::JsonKey ? "sampled keys" : "sampled values";
		std::string line = place + ": " + Thousands(finding.ids) + " of " + Thousands(finding.values) + " " + what +
						   (finding.ids == 1 ? " is a user ID" : " are user IDs");
		if (finding.place == IdPlace::JsonKey)
			line += " (as object keys)";
		if (finding.other_uuids > 0)
			line += "; " + Thousands(finding.other_uuids) + " other UUID" +
					(finding.other_uuids == 1 ? " is" : "s are") +
					" not a user's: the place mixes user IDs with other UUIDs";
		if (mode == RemapMode::Off)
			line += " (kept out)";
		lines.push_back(std::move(line));
	}
	return lines;
}

/* Unmapper */

bool
Unmapper::Text(Span &value, ValueType type, RemapMode mode, std::size_t column, bool &keys_moved)
{
	mode_ = mode;
	column_ = column;
	keys_moved_ = false;
	WalkOptions options;
	options.embedded = mode == RemapMode::Embedded;
	WalkResult result = mode == RemapMode::Off ? WalkResult::Done : WalkText(value, type, options, *this);
	keys_moved = keys_moved_;
	return result != WalkResult::Malformed;
}

void
Unmapper::Mark(Span &span, std::size_t at, const UuidSpelling &spelling, const char *word)
{
	bool braced = spelling.form == UuidForm::Braced || spelling.form == UuidForm::BracedPlain;
	/* an ID written through an escape stays as it is: it is recorded all the same */
	span.Write(at + (braced ? 1 : 0), word, 8);
}

bool
Unmapper::Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			 const JsonPath &path)
{
	Uuid source;
	switch (map_.Lookup(spelling.value, source)) {
	case IdMap::Found::Pair:
		/* what the pull wrote; another spelling (mixed case) never came from it and stays, so it differs */
		if (spelling.Keepable()) {
			char text[38];
			SpellUuid(source, spelling.form, spelling.Upper(), text);
			span.Write(at, text, size);
			keys_moved_ = keys_moved_ || place == IdPlace::JsonKey;
		}
		return true;
	case IdMap::Found::Alone: {
		Finding &finding = findings_.At(column_, place, path.Text());
		if (finding.ids++ == 0) {
			finding.example_id = std::string(span.view().substr(at, size));
			if (findings_.row_name)
				finding.example_row = findings_.row_name();
		}
		Mark(span, at, spelling, "LEFTOVER");
		keys_moved_ = keys_moved_ || place == IdPlace::JsonKey;
		return true;
	}
	case IdMap::Found::No:
		/* a user-ID column holds user IDs only: one that is no user's cannot equal what the source had */
		if (mode_ == RemapMode::Strict && Whole(place))
			Mark(span, at, spelling, "UNMAPPED");
		return true;
	}
	return true;
}

/* IdCounter */

bool
IdCounter::Text(Span &value, ValueType type, std::size_t column)
{
	column_ = column;
	WalkOptions options;
	options.embedded = true;
	options.scalars = sample_;
	return WalkText(value, type, options, *this) != WalkResult::Malformed;
}

bool
IdCounter::Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
			  const JsonPath &path)
{
	Uuid other;
	bool user = ids_.Lookup(spelling.value, other) != IdMap::Found::No;
	if (!user && !sample_)
		return true;
	Finding &finding = findings_.At(column_, place, path.Text());
	if (!user) {
		finding.other_uuids++;
		return true;
	}
	if (finding.ids++ == 0) {
		finding.example_id = std::string(span.view().substr(at, size));
		if (findings_.row_name)
			finding.example_row = findings_.row_name();
	}
	return true;
}

void
IdCounter::Scalar(IdPlace place, const JsonPath &path)
{
	findings_.At(column_, place, path.Text()).values++;
}

} // namespace pgc::core
