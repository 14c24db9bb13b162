/*
 * copy_text.cpp: user IDs rewritten in COPY text lines.
 */
#include "core/copy_text.hpp"

#include <algorithm>

#include "core/pure.hpp"

namespace pgc::core {

namespace {

/*
 * The value of each hex digit, -1 for any other byte, and which letter case it has (kSmall, kCapital): one
 * table lookup per character, no branches.
 */
constexpr int kSmall = 1;
constexpr int kCapital = 2;
struct HexTable {
	signed char value[256];
	unsigned char letter_case[256];
	constexpr HexTable() : value(), letter_case()
	{
		for (int i = 0; i < 256; i++)
			value[i] = -1;
		for (int i = 0; i < 10; i++)
			value['0' + i] = static_cast<signed char>(i);
		for (int i = 0; i < 6; i++) {
			value['a' + i] = static_cast<signed char>(10 + i);
			value['A' + i] = static_cast<signed char>(10 + i);
			letter_case['a' + i] = kSmall;
			letter_case['A' + i] = kCapital;
		}
	}
};
constexpr HexTable kHex;

/*
 * The 128-bit value of a canonical UUID in any letter case, and the letter cases it uses (kSmall | kCapital);
 * false if `text` is no such UUID.
 */
bool
ParseUuid(std::string_view text, std::uint64_t &high, std::uint64_t &low, int *cases = nullptr)
{
	if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
		return false;
	/* the two halves are independent chains, so the CPU works on both at once */
	static constexpr int kHigh[16] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17};
	static constexpr int kLow[16] = {19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
	std::uint64_t words[2] = {0, 0};
	int bad = 0;
	int letters = 0;
	for (int i = 0; i < 16; i++) {
		unsigned char high_char = static_cast<unsigned char>(text[kHigh[i]]);
		unsigned char low_char = static_cast<unsigned char>(text[kLow[i]]);
		int high_digit = kHex.value[high_char];
		int low_digit = kHex.value[low_char];
		bad |= high_digit | low_digit;
		letters |= kHex.letter_case[high_char] | kHex.letter_case[low_char];
		words[0] = (words[0] << 4) | static_cast<std::uint64_t>(high_digit & 0xf);
		words[1] = (words[1] << 4) | static_cast<std::uint64_t>(low_digit & 0xf);
	}
	if (bad < 0)
		return false;
	high = words[0];
	low = words[1];
	if (cases != nullptr)
		*cases = letters;
	return true;
}

/* Each byte's two hex digits, in small letters. */
struct ByteHex {
	char pair[256][2];
	constexpr ByteHex() : pair()
	{
		constexpr char kDigits[] = "0123456789abcdef";
		for (int i = 0; i < 256; i++) {
			pair[i][0] = kDigits[i >> 4];
			pair[i][1] = kDigits[i & 0xf];
		}
	}
};
constexpr ByteHex kByteHex;

constexpr const char *kUnmappedReason = "has no target ID";
constexpr const char *kMixedCaseReason = "is written in mixed letter case that a target ID cannot keep";
constexpr const char *kOtherFormReason =
	"is a UUID written in another form than 8-4-4-4-12 hex digits (braces, hyphens missing or moved), which a "
	"target ID cannot keep";

/*
 * Whether `text` is a UUID that PostgreSQL reads (uuid_in) but not in the canonical form ParseUuid takes: in
 * braces, or with hyphens missing or after other groups of four hex digits. Such a text in a user-ID column is
 * a user ID all the same, and must not pass unmapped.
 */
bool
IsOtherUuidForm(std::string_view text)
{
	if (text.size() < 32 || text.size() > 41)
		return false;
	if (text.front() == '{') {
		if (text.back() != '}')
			return false;
		text = text.substr(1, text.size() - 2);
	}
	int digits = 0;
	for (std::size_t i = 0; i < text.size(); i++) {
		if (kHex.value[static_cast<unsigned char>(text[i])] >= 0)
			digits++;
		else if (text[i] != '-' || digits % 4 != 0 || digits == 0 || digits == 32 || text[i - 1] == '-')
			return false;
	}
	return digits == 32;
}

/*
 * Appends the target of one UUID: in capitals when the source text has capital letters and no small ones,
 * else in small letters (the verification maps back by the same rule). Returns why it could not, or nullptr;
 * `is_uuid` says whether `value` was a UUID at all.
 */
const char *
Remap(std::string_view value, const IdMap &map, std::string &out, bool &is_uuid)
{
	int cases = 0;
	char target[36];
	bool found = map.Find(value, target, &cases, &is_uuid);
	if (!is_uuid && IsOtherUuidForm(value)) {
		is_uuid = true;
		return kOtherFormReason;
	}
	if (!is_uuid)
		return nullptr; /* the caller decides what text that is no UUID means */
	if (cases == (kSmall | kCapital))
		return kMixedCaseReason;
	if (!found)
		return kUnmappedReason;
	if (cases == kCapital)
		for (char &ch : target)
			if (ch >= 'a' && ch <= 'f')
				ch = static_cast<char>(ch - 'a' + 'A');
	out.append(target, 36);
	return nullptr;
}

/*
 * An array literal (as array_out prints it, inside a COPY text field) rewritten element by element. The field
 * is read as COPY escapes it (a backslash pair stands for one character) only to follow the array's quoting;
 * everything but the remapped elements is copied byte for byte. Unquoted elements that are UUIDs are
 * remapped; with `all` (uuid[]) any other unquoted element but NULL is an error. A leading dimension header
 * ("[0:1]=") is copied as it is: elsewhere "[", ":" and "=" are parts of elements ("user:<uuid>" is no UUID).
 */
const char *
RemapArray(std::string_view field, bool all, const IdMap &map, std::string &out, std::string &unmapped)
{
	if (!field.empty() && field[0] == '[') {
		std::size_t equals = field.find('=');
		if (equals == std::string_view::npos) {
			unmapped = std::string(field);
			return "is no array";
		}
		out.append(field.substr(0, equals + 1));
		field.remove_prefix(equals + 1);
	}
	const char *reason = nullptr;
	bool in_quotes = false;
	bool escaped = false; /* the previous character was an array-level backslash */
	std::size_t token = std::string_view::npos;
	auto finish_token = [&](std::size_t end) {
		if (token == std::string_view::npos)
			return true;
		std::string_view element = field.substr(token, end - token);
		token = std::string_view::npos;
		bool is_uuid = false;
		reason = Remap(element, map, out, is_uuid);
		if (!is_uuid) {
			/* NULL, or text that is no UUID: kept (a uuid[] holds nothing else) */
			if (all && element != "NULL")
				reason = kUnmappedReason;
			else
				out.append(element);
		}
		if (reason != nullptr)
			unmapped = std::string(element);
		return reason == nullptr;
	};
	for (std::size_t i = 0; i < field.size();) {
		/* one character as COPY wrote it: a backslash pair is one character */
		std::size_t width = field[i] == '\\' && i + 1 < field.size() ? 2 : 1;
		char ch = width == 2 ? (field[i + 1] == '\\' ? '\\' : '\0') : field[i];
		bool structural = !in_quotes && !escaped && (ch == '{' || ch == '}' || ch == ',');
		if (structural) {
			if (!finish_token(i))
				return reason;
			out.push_back(ch);
		} else if (in_quotes || escaped || ch == '"' || ch == '\\') {
			if (!finish_token(i))
				return reason;
			out.append(field.substr(i, width));
			if (escaped)
				escaped = false;
			else if (ch == '\\')
				escaped = true;
			else if (ch == '"')
				in_quotes = !in_quotes;
		} else if (token == std::string_view::npos) {
			token = i;
		}
		i += width;
	}
	finish_token(field.size());
	return reason;
}

} // namespace

void
FormatUuid(std::uint64_t high, std::uint64_t low, char (&text)[36])
{
	/* where each byte's two digits go: 8-4-4-4-12 */
	static constexpr int kAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
	for (int i = 0; i < 8; i++) {
		const char *high_pair = kByteHex.pair[(high >> (56 - 8 * i)) & 0xff];
		const char *low_pair = kByteHex.pair[(low >> (56 - 8 * i)) & 0xff];
		text[kAt[i]] = high_pair[0];
		text[kAt[i] + 1] = high_pair[1];
		text[kAt[i + 8]] = low_pair[0];
		text[kAt[i + 8] + 1] = low_pair[1];
	}
	text[8] = text[13] = text[18] = text[23] = '-';
}

std::size_t
IdMap::Home(std::uint64_t high, std::uint64_t low) const
{
	std::uint64_t hash = (high ^ (low * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	return static_cast<std::size_t>(hash >> 32) & (slots_.size() - 1);
}

void
IdMap::Put(const Slot &pair)
{
	if (pair.high == 0 && pair.low == 0) {
		count_ += has_nil_ ? 0 : 1;
		has_nil_ = true;
		nil_ = pair;
		return;
	}
	for (std::size_t i = Home(pair.high, pair.low);; i = (i + 1) & (slots_.size() - 1)) {
		Slot &slot = slots_[i];
		if (slot.high == 0 && slot.low == 0) {
			slot = pair;
			count_++;
			return;
		}
		if (slot.high == pair.high && slot.low == pair.low) {
			slot = pair;
			return;
		}
	}
}

void
IdMap::reserve(std::size_t count)
{
	std::size_t size = 16;
	while (size * 3 < count * 4 + 4)
		size *= 2;
	if (size <= slots_.size())
		return;
	std::vector<Slot> old;
	old.swap(slots_);
	slots_.assign(size, Slot());
	count_ = has_nil_ ? 1 : 0;
	for (const auto &slot : old)
		if (slot.high != 0 || slot.low != 0)
			Put(slot);
}

bool
IdMap::Add(std::string_view source, std::string_view target)
{
	Slot pair;
	if (!ParseUuid(source, pair.high, pair.low) || !ParseUuid(target, pair.target_high, pair.target_low))
		return false;
	reserve(count_ + 1);
	Put(pair);
	return true;
}

bool
IdMap::Find(std::string_view source, char (&target)[36], int *cases, bool *is_uuid) const
{
	std::uint64_t high, low, target_high, target_low;
	bool parsed = ParseUuid(source, high, low, cases);
	if (is_uuid != nullptr)
		*is_uuid = parsed;
	if (!parsed || !FindValue(high, low, target_high, target_low))
		return false;
	FormatUuid(target_high, target_low, target);
	return true;
}

bool
IdMap::FindValue(std::uint64_t high, std::uint64_t low, std::uint64_t &target_high, std::uint64_t &target_low) const
{
	if (count_ == 0)
		return false;
	const Slot *found = nullptr;
	if (high == 0 && low == 0) {
		found = has_nil_ ? &nil_ : nullptr;
	} else {
		for (std::size_t i = Home(high, low);; i = (i + 1) & (slots_.size() - 1)) {
			const Slot &slot = slots_[i];
			if (slot.high == 0 && slot.low == 0)
				break;
			if (slot.high == high && slot.low == low) {
				found = &slot;
				break;
			}
		}
	}
	if (found == nullptr)
		return false;
	target_high = found->target_high;
	target_low = found->target_low;
	return true;
}

const char *
RemapUuidTextInPlace(char *text, std::size_t size, const IdMap &map, bool &is_uuid)
{
	static thread_local std::string out; /* reused: no allocation per value */
	out.clear();
	const char *reason = Remap(std::string_view(text, size), map, out, is_uuid);
	if (reason == nullptr && is_uuid)
		std::copy(out.begin(), out.end(), text);
	return reason;
}

bool
IsCanonicalUuid(std::string_view text)
{
	std::uint64_t high, low;
	return ParseUuid(text, high, low);
}

bool
RemapCopyLine(std::string_view line, const std::vector<RemapField> &fields, const IdMap &map, std::string &out,
			  RemapFailure &failure)
{
	std::size_t start = 0;
	std::size_t index = 0;
	auto next = fields.begin();
	while (next != fields.end()) {
		std::size_t end = line.find('\t', start);
		if (end == std::string_view::npos)
			end = line.size();
		if (index == next->index) {
			std::string_view field = line.substr(start, end - start);
			const char *reason = nullptr;
			bool is_uuid = false;
			std::string unmapped;
			if (field == "\\N") {
				out.append(field);
			} else {
				switch (next->kind) {
				case UserIdKind::Uuid:
					/* uuid_out prints every value as a UUID: anything else cannot be mapped */
					reason = Remap(field, map, out, is_uuid);
					if (!is_uuid)
						reason = kUnmappedReason;
					break;
				case UserIdKind::Text:
					/* text that is no UUID ('system') stays as it is */
					reason = Remap(field, map, out, is_uuid);
					if (!is_uuid)
						out.append(field);
					break;
				case UserIdKind::UuidArray:
				case UserIdKind::TextArray:
					reason = RemapArray(field, next->kind == UserIdKind::UuidArray, map, out, unmapped);
					break;
				case UserIdKind::None:
					out.append(field);
					break;
				}
			}
			if (reason != nullptr) {
				failure = {next->column, unmapped.empty() ? std::string(field) : unmapped, reason,
						   reason == kUnmappedReason};
				return false;
			}
			++next;
		} else {
			out.append(line.substr(start, end - start));
		}
		if (end == line.size()) {
			if (next != fields.end()) {
				failure = {next->column, "", "is missing from the line"};
				return false;
			}
			return true;
		}
		out.push_back('\t');
		start = end + 1;
		index++;
	}
	out.append(line.substr(start));
	return true;
}

} // namespace pgc::core
