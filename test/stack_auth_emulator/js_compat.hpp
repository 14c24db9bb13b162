// test/stack_auth_emulator/js_compat.hpp: helpers that make the emulator answer like the real Stack Auth backend,
// which is Node.js + yup + PostgreSQL. Where the real server's behaviour comes from a JavaScript or PostgreSQL rule
// (how a number prints, how long a string is, what ILIKE matches, what yup calls an email), the rule lives here,
// written by hand: std::regex is recursive in libstdc++ and overflows the stack on long inputs a client may send.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace emulator {

// Ordered, so that objects keep the key order of the request (as JSON.parse does) and of our own responses.
using Json = nlohmann::ordered_json;

// Serializes like JSON.stringify(value, null, indent): invalid UTF-8 is replaced rather than thrown on.
std::string Dump(const Json &value, int indent = -1);

// Number.prototype.toString for a double ("1e-7", "100", "NaN", "Infinity").
std::string JsNumberToString(double value);

// yup's printValue(value, true), used in "must be a `string` type, but the final value was: `...`".
std::string YupPrintValue(const Json &value);

// The unary plus of JavaScript applied to a string after yup removed its whitespace: "" and garbage give NaN.
double JsStringToNumber(std::string_view text);

// Makes numbers look like JSON.parse left them: integral doubles become integers, integers beyond 2^53 lose
// precision the way a JavaScript number does.
Json NormalizeJsNumbers(Json value);

// String.prototype.length: UTF-16 code units, which is what yup's max() counts.
std::size_t Utf16Length(std::string_view utf8);

// The checks behind yup and Stack Auth's schema fields.
bool IsYupEmail(std::string_view text);	   // yup .email(): the WHATWG "valid e-mail address" regex
bool IsYupUuid(std::string_view text);	   // yup .uuid(): versions 1-5 with RFC variant, or the nil UUID, any case
bool IsStackUuidV4(std::string_view text); // stack-shared isUuid(): lower-case v4 only
bool IsStackBase64(std::string_view text); // stack-shared isBase64(): padded standard base64
bool IsParsableUrl(std::string_view text); // an approximation of `new URL(text)` succeeding
bool IsImportableBcryptHash(std::string_view hash); // getPasswordHashAlgorithm(hash) === "bcrypt"

// PostgreSQL `haystack ILIKE '%' || needle || '%'`: `%` and `_` in the needle stay wildcards (Prisma does not
// escape them), a backslash escapes the next character, and letters compare case-insensitively.
bool IlikeContains(std::string_view haystack, std::string_view needle);

// Lower-cases ASCII letters (what normalizeEmail and PostgreSQL's uuid parsing do to the text we see).
std::string AsciiLower(std::string_view text);

// String.prototype.trim(): strips ASCII whitespace and the Unicode spaces JavaScript knows.
std::string JsTrim(std::string_view text);

} // namespace emulator
