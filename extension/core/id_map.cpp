/*
 * id_map.cpp: UUID spellings and the ID map.
 */
#include "core/id_map.hpp"

#include "core/pure.hpp"

namespace pgc::core {

namespace {

/* Each byte's two hex digits, in small and in capital letters. */
struct ByteHex {
	char small[256][2];
	char capital[256][2];
	constexpr ByteHex() : small(), capital()
	{
		constexpr char kSmall[] = "0123456789abcdef";
		constexpr char kCapital[] = "0123456789ABCDEF";
		for (int i = 0; i < 256; i++) {
			small[i][0] = kSmall[i >> 4];
			small[i][1] = kSmall[i & 0xf];
			capital[i][0] = kCapital[i >> 4];
			capital[i][1] = kCapital[i & 0xf];
		}
	}
};
constexpr ByteHex kByteHex;

/* Where the 32 digits of a UUID stand: in 8-4-4-4-12, and without hyphens. */
constexpr int kCanonicalHigh[16] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17};
constexpr int kCanonicalLow[16] = {19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
constexpr int kPlainHigh[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
constexpr int kPlainLow[16] = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/*
 * The 128 bits of the hex digits of `text` at the given places, and the letter cases they use; false if any
 * is no hex digit. The two halves are independent chains, so the CPU works on both at once.
 */
bool
ParseDigits(const char *text, const int (&high)[16], const int (&low)[16], Uuid &out, int &cases)
{
	std::uint64_t words[2] = {0, 0};
	int bad = 0;
	int letters = 0;
	for (int i = 0; i < 16; i++) {
		auto high_char = static_cast<unsigned char>(text[high[i]]);
		auto low_char = static_cast<unsigned char>(text[low[i]]);
		int high_digit = kHexDigits.value[high_char];
		int low_digit = kHexDigits.value[low_char];
		bad |= high_digit | low_digit;
		letters |= kHexDigits.letter_case[high_char] | kHexDigits.letter_case[low_char];
		words[0] = (words[0] << 4) | static_cast<std::uint64_t>(high_digit & 0xf);
		words[1] = (words[1] << 4) | static_cast<std::uint64_t>(low_digit & 0xf);
	}
	if (bad < 0)
		return false;
	out = {words[0], words[1]};
	cases = letters;
	return true;
}

std::size_t
Hash(Uuid key)
{
	std::uint64_t hash = (key.high ^ (key.low * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	return static_cast<std::size_t>(hash >> 32);
}

bool
IsNil(Uuid key)
{
	return key.high == 0 && key.low == 0;
}

} // namespace

bool
ParseCanonicalUuid(std::string_view text, Uuid &out, int *cases)
{
	if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
		return false;
	int letters = 0;
	if (!ParseDigits(text.data(), kCanonicalHigh, kCanonicalLow, out, letters))
		return false;
	if (cases != nullptr)
		*cases = letters;
	return true;
}

bool
ParseUuidSpelling(std::string_view text, UuidSpelling &out)
{
	if (text.size() < 32 || text.size() > 41)
		return false;
	bool braced = text.front() == '{';
	if (braced) {
		if (text.back() != '}')
			return false;
		text = text.substr(1, text.size() - 2);
	}
	if (text.size() == 36 && ParseCanonicalUuid(text, out.value, &out.cases)) {
		out.form = braced ? UuidForm::Braced : UuidForm::Canonical;
		return true;
	}
	if (text.size() == 32) {
		if (!ParseDigits(text.data(), kPlainHigh, kPlainLow, out.value, out.cases))
			return false;
		out.form = braced ? UuidForm::BracedPlain : UuidForm::Plain;
		return true;
	}
	/* uuid_in also reads a hyphen after any group of four digits but the last: collect the digits */
	char digits[32];
	int count = 0;
	for (std::size_t i = 0; i < text.size(); i++) {
		if (HexValue(static_cast<unsigned char>(text[i])) >= 0) {
			if (count == 32)
				return false;
			digits[count++] = text[i];
		} else if (text[i] != '-' || count % 4 != 0 || count == 0 || count == 32 || text[i - 1] == '-') {
			return false;
		}
	}
	if (count != 32 || !ParseDigits(digits, kPlainHigh, kPlainLow, out.value, out.cases))
		return false;
	out.form = UuidForm::Other;
	return true;
}

void
SpellUuid(Uuid value, UuidForm form, bool upper, char *out)
{
	const char(*pairs)[2] = upper ? kByteHex.capital : kByteHex.small;
	bool braced = form == UuidForm::Braced || form == UuidForm::BracedPlain;
	bool hyphens = form == UuidForm::Canonical || form == UuidForm::Braced;
	char *at = out;
	if (braced)
		*at++ = '{';
	for (int i = 0; i < 16; i++) {
		std::uint64_t word = i < 8 ? value.high : value.low;
		const char *pair = pairs[(word >> (56 - 8 * (i % 8))) & 0xff];
		*at++ = pair[0];
		*at++ = pair[1];
		if (hyphens && (i == 3 || i == 5 || i == 7 || i == 9))
			*at++ = '-';
	}
	if (braced)
		*at = '}';
}

void
FormatUuid(std::uint64_t high, std::uint64_t low, char (&text)[36])
{
	SpellUuid({high, low}, UuidForm::Canonical, false, text);
}

bool
IsCanonicalUuid(std::string_view text)
{
	Uuid value;
	return ParseCanonicalUuid(text, value);
}

void
IdMap::Table::Reserve(std::size_t wanted)
{
	std::size_t size = 16;
	while (size * 3 < wanted * 4 + 4)
		size *= 2;
	if (size <= slots.size())
		return;
	std::vector<Slot> old;
	old.swap(slots);
	slots.assign(size, Slot());
	count = has_nil ? 1 : 0;
	for (const auto &slot : old)
		if (!IsNil(slot.key))
			Put(slot);
}

void
IdMap::Table::Put(const Slot &slot)
{
	if (IsNil(slot.key)) {
		count += has_nil ? 0 : 1;
		has_nil = true;
		nil = slot;
		return;
	}
	Reserve(count + 1);
	std::size_t mask = slots.size() - 1;
	for (std::size_t i = Hash(slot.key) & mask;; i = (i + 1) & mask) {
		Slot &here = slots[i];
		if (IsNil(here.key)) {
			here = slot;
			count++;
			return;
		}
		if (here.key == slot.key) {
			here = slot;
			return;
		}
	}
}

const IdMap::Slot *
IdMap::Table::Get(Uuid key) const
{
	if (IsNil(key))
		return has_nil ? &nil : nullptr;
	if (slots.empty())
		return nullptr;
	std::size_t mask = slots.size() - 1;
	for (std::size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
		const Slot &here = slots[i];
		if (IsNil(here.key))
			return nullptr;
		if (here.key == key)
			return &here;
	}
}

void
IdMap::reserve(std::size_t count)
{
	pairs_.Reserve(count);
}

void
IdMap::Add(Uuid from, Uuid to)
{
	pairs_.Put({from, to});
}

bool
IdMap::Add(std::string_view from, std::string_view to)
{
	Uuid a, b;
	if (!ParseCanonicalUuid(from, a) || !ParseCanonicalUuid(to, b))
		return false;
	Add(a, b);
	return true;
}

void
IdMap::AddAlone(Uuid id)
{
	alone_.Put({id, Uuid()});
}

IdMap::Found
IdMap::Lookup(Uuid id, Uuid &to) const
{
	if (const Slot *pair = pairs_.Get(id)) {
		to = pair->value;
		return Found::Pair;
	}
	return alone_.Get(id) != nullptr ? Found::Alone : Found::No;
}

bool
IdMap::Find(std::string_view from, char (&to)[36], int *cases, bool *is_uuid) const
{
	Uuid id, counterpart;
	bool parsed = ParseCanonicalUuid(from, id, cases);
	if (is_uuid != nullptr)
		*is_uuid = parsed;
	if (!parsed || Lookup(id, counterpart) != Found::Pair)
		return false;
	SpellUuid(counterpart, UuidForm::Canonical, false, to);
	return true;
}

bool
IdMap::FindValue(std::uint64_t high, std::uint64_t low, std::uint64_t &to_high, std::uint64_t &to_low) const
{
	Uuid counterpart;
	if (Lookup({high, low}, counterpart) != Found::Pair)
		return false;
	to_high = counterpart.high;
	to_low = counterpart.low;
	return true;
}

} // namespace pgc::core
