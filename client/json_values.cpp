/*
 * json_values.cpp: PostgreSQL text forms as typed JSON (json_values.hpp).
 */
#include "json_values.hpp"

#include <stdexcept>

namespace cutover {

namespace {

/* pg_type OIDs (catalog/pg_type_d.h), fixed since PostgreSQL 7 */
enum TypeOid : unsigned {
	kBool = 16,
	kInt8 = 20,
	kInt2 = 21,
	kInt4 = 23,
	kOid = 26,
	kJson = 114,
	kFloat4 = 700,
	kFloat8 = 701,
	kNumeric = 1700,
	kJsonb = 3802,
};

/* The element type of the array types the client's queries return; 0 for any other type. */
unsigned
ElementType(unsigned type)
{
	switch (type) {
	case 1000:
		return kBool;
	case 1005:
		return kInt2;
	case 1007:
		return kInt4;
	case 1016:
		return kInt8;
	case 1028:
		return kOid;
	case 199:
		return kJson;
	case 1021:
		return kFloat4;
	case 1022:
		return kFloat8;
	case 1231:
		return kNumeric;
	case 3807:
		return kJsonb;
	case 1009:	   /* text[] */
	case 1015:	   /* varchar[] */
	case 1014:	   /* bpchar[] */
	case 1003:	   /* name[] */
	case 2951:	   /* uuid[] */
	case 2211:	   /* regtype[] */
	case 2210:	   /* regclass[] */
		return 25; /* text */
	default:
		return 0;
	}
}

nlohmann::json
Number(const std::string &text, bool integer)
{
	if (text.empty() || text == "NaN" || text == "Infinity" || text == "-Infinity")
		return text;
	nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
	if (number.is_discarded() || !number.is_number() || (integer && !number.is_number_integer()))
		return text;
	return number;
}

/* Reads array literals: `{` elements `}`, an element being a nested array, a quoted string or a bare word. */
class ArrayParser
{
  public:
	ArrayParser(unsigned element_type, std::string_view text) : type_(element_type), text_(text) {}

	nlohmann::json
	Parse()
	{
		/* explicit bounds: "[1:2][0:1]={{...}}" */
		if (!text_.empty() && text_[0] == '[') {
			std::size_t equals = text_.find('=');
			if (equals == std::string_view::npos)
				Fail("bounds without '='");
			at_ = equals + 1;
		}
		nlohmann::json result = Array();
		if (at_ != text_.size())
			Fail("text after the closing brace");
		return result;
	}

  private:
	[[noreturn]] void
	Fail(const char *what) const
	{
		throw std::invalid_argument("malformed array literal (" + std::string(what) + "): " + std::string(text_));
	}

	nlohmann::json
	Array()
	{
		if (at_ >= text_.size() || text_[at_] != '{')
			Fail("no opening brace");
		at_++;
		nlohmann::json elements = nlohmann::json::array();
		if (at_ < text_.size() && text_[at_] == '}') {
			at_++;
			return elements;
		}
		for (;;) {
			if (at_ >= text_.size())
				Fail("no closing brace");
			if (text_[at_] == '{')
				elements.push_back(Array());
			else
				elements.push_back(Element());
			if (at_ >= text_.size())
				Fail("no closing brace");
			char next = text_[at_++];
			if (next == '}')
				return elements;
			if (next != ',')
				Fail("no comma between elements");
		}
	}

	nlohmann::json
	Element()
	{
		std::string value;
		if (text_[at_] == '"') {
			at_++;
			while (at_ < text_.size() && text_[at_] != '"') {
				if (text_[at_] == '\\' && at_ + 1 < text_.size())
					at_++;
				value.push_back(text_[at_++]);
			}
			if (at_ >= text_.size())
				Fail("an unterminated quoted element");
			at_++;
			return ValueJson(type_, value);
		}
		while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}')
			value.push_back(text_[at_++]);
		if (value == "NULL")
			return nullptr;
		return ValueJson(type_, value);
	}

	unsigned type_;
	std::string_view text_;
	std::size_t at_ = 0;
};

} // namespace

nlohmann::json
ValueJson(unsigned type, const std::optional<std::string> &text)
{
	if (!text)
		return nullptr;
	switch (type) {
	case kBool:
		if (*text == "t" || *text == "f")
			return *text == "t";
		return *text;
	case kInt2:
	case kInt4:
	case kInt8:
	case kOid:
		return Number(*text, true);
	case kFloat4:
	case kFloat8:
	case kNumeric:
		return Number(*text, false);
	case kJson:
	case kJsonb: {
		nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
		return parsed.is_discarded() ? nlohmann::json(*text) : parsed;
	}
	default:
		break;
	}
	if (unsigned element = ElementType(type)) {
		try {
			return ArrayJson(element, *text);
		} catch (const std::invalid_argument &) {
			return *text;
		}
	}
	return *text;
}

nlohmann::json
ArrayJson(unsigned element_type, std::string_view literal)
{
	return ArrayParser(element_type, literal).Parse();
}

} // namespace cutover
