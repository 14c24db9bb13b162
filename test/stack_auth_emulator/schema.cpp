// test/stack_auth_emulator/schema.cpp: the yup rules behind Stack Auth's request validation (schema.hpp), and the
// users endpoints' schemas written with them.
#include "schema.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace emulator::schema {

namespace {

// String(value) in JavaScript, for the values yup coerces.
std::string
JsString(const Json &value)
{
	if (value.is_string())
		return value.get<std::string>();
	if (value.is_boolean())
		return value.get<bool>() ? "true" : "false";
	if (value.is_number())
		return JsNumberToString(value.get<double>());
	if (value.is_array()) {
		std::string out;
		for (std::size_t i = 0; i < value.size(); ++i) {
			if (i > 0)
				out += ',';
			if (!value[i].is_null())
				out += JsString(value[i]);
		}
		return out;
	}
	if (value.is_object())
		return "[object Object]";
	if (value.is_binary())
		return "[object ArrayBuffer]";
	return "null";
}

// parseFloat(String(value)): the longest decimal prefix after leading whitespace.
double
JsParseFloat(const Json &value)
{
	std::string text = JsTrim(JsString(value));
	std::size_t end = 0;
	if (end < text.size() && (text[end] == '+' || text[end] == '-'))
		++end;
	if (text.compare(end, 8, "Infinity") == 0)
		return text[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
	std::size_t digits = 0;
	auto eat_digits = [&] {
		std::size_t n = 0;
		while (end < text.size() && text[end] >= '0' && text[end] <= '9')
			++end, ++n;
		return n;
	};
	digits += eat_digits();
	if (end < text.size() && text[end] == '.') {
		++end;
		digits += eat_digits();
	}
	if (digits == 0)
		return std::numeric_limits<double>::quiet_NaN();
	if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
		std::size_t mark = end++;
		if (end < text.size() && (text[end] == '+' || text[end] == '-'))
			++end;
		if (eat_digits() == 0)
			end = mark;
	}
	return std::strtod(text.substr(0, end).c_str(), nullptr);
}

// A Json holding a JavaScript number (NaN and the infinities included, which JSON cannot spell).
Json
JsNumber(double value)
{
	return NormalizeJsNumbers(Json(value));
}

std::string
KindName(Node::Kind kind)
{
	switch (kind) {
	case Node::Kind::String:
		return "string";
	case Node::Kind::Boolean:
		return "boolean";
	case Node::Kind::Number:
		return "number";
	case Node::Kind::Object:
		return "object";
	case Node::Kind::Array:
		return "array";
	case Node::Kind::Mixed:
		break;
	}
	return "mixed";
}

std::string
ChildPath(const std::string &parent, const std::string &key)
{
	return parent.empty() ? key : parent + "." + key;
}

} // namespace

Node
Node::String()
{
	return Node(Kind::String);
}

Node
Node::Boolean()
{
	return Node(Kind::Boolean);
}

Node
Node::Number()
{
	return Node(Kind::Number);
}

Node
Node::Mixed()
{
	return Node(Kind::Mixed);
}

Node
Node::Object(std::vector<std::pair<std::string, Node>> fields)
{
	Node node(Kind::Object);
	node.fields_ = std::move(fields);
	return node;
}

Node
Node::Array(Node item)
{
	Node node(Kind::Array);
	node.item_.push_back(std::move(item));
	return node;
}

Node
Node::Nullable() const
{
	Node copy = *this;
	copy.nullable_ = true;
	return copy;
}

Node
Node::Defined() const
{
	Node copy = *this;
	copy.defined_ = true;
	return copy;
}

Node
Node::Default(Json value) const
{
	Node copy = *this;
	copy.default_ = std::move(value);
	return copy;
}

Node
Node::OneOf(std::vector<Json> values) const
{
	Node copy = *this;
	copy.one_of_ = std::move(values);
	return copy;
}

Node
Node::Transform(std::function<Json(Json)> transform) const
{
	Node copy = *this;
	copy.transforms_.push_back(std::move(transform));
	return copy;
}

Node
Node::Test(Check check) const
{
	Node copy = *this;
	copy.checks_.push_back(std::move(check));
	return copy;
}

Node
Node::MaxLength(std::size_t max) const
{
	return Test([max](const Json &value, const std::string &path) -> std::optional<std::string> {
		if (Utf16Length(value.get<std::string>()) <= max)
			return std::nullopt;
		return path + " must be at most " + std::to_string(max) + " characters";
	});
}

Node
Node::Email() const
{
	// yup's email() skips the empty string (excludeEmptyString); nonEmpty() is what rejects it.
	return Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
		const auto &text = value.get<std::string>();
		if (text.empty() || IsYupEmail(text))
			return std::nullopt;
		return path + " must be a valid email";
	});
}

Node
Node::Uuid() const
{
	return Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
		if (IsYupUuid(value.get<std::string>()))
			return std::nullopt;
		return path + " must be a valid UUID";
	});
}

Node
Node::NonEmpty() const
{
	return Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
		if (!value.get<std::string>().empty())
			return std::nullopt;
		return path + " must not be empty";
	});
}

Node
Node::Integer() const
{
	return Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
		double number = value.get<double>();
		if (std::isfinite(number) && std::trunc(number) == number)
			return std::nullopt;
		return path + " must be an integer";
	});
}

Node
Node::Min(double min) const
{
	return Test([min](const Json &value, const std::string &path) -> std::optional<std::string> {
		if (value.get<double>() >= min)
			return std::nullopt;
		return path + " must be greater than or equal to " + JsNumberToString(min);
	});
}

Node
Node::Max(double max) const
{
	return Test([max](const Json &value, const std::string &path) -> std::optional<std::string> {
		if (value.get<double>() <= max)
			return std::nullopt;
		return path + " must be less than or equal to " + JsNumberToString(max);
	});
}

bool
Node::HasType(const Json &value) const
{
	switch (kind_) {
	case Kind::String:
		return value.is_string();
	case Kind::Boolean:
		return value.is_boolean();
	case Kind::Number:
		return value.is_number() && !std::isnan(value.get<double>());
	case Kind::Object:
		return value.is_object();
	case Kind::Array:
		return value.is_array();
	case Kind::Mixed:
		break;
	}
	return true;
}

// yup's transforms: coercion for the primitive types (spec.coerce is on), then the schema's own transforms.
Json
Node::Cast(const Json &value) const
{
	Json cast = value;
	if (!value.is_null() && !HasType(value)) {
		switch (kind_) {
		case Kind::String:
			if (!value.is_array() && !value.is_object())
				cast = JsString(value);
			break;
		case Kind::Boolean: {
			std::string text = AsciiLower(JsString(value));
			if (text == "true" || text == "1")
				cast = true;
			else if (text == "false" || text == "0")
				cast = false;
			break;
		}
		case Kind::Number:
			cast = JsNumber(value.is_string() ? JsStringToNumber(value.get<std::string>()) : JsParseFloat(value));
			break;
		case Kind::Mixed:
		case Kind::Object:
		case Kind::Array:
			break;
		}
	}
	if (kind_ == Kind::Mixed)
		cast = NormalizeJsNumbers(std::move(cast)); // jsonSchema's JSON.parse(JSON.stringify(value))
	for (const auto &transform : transforms_)
		cast = transform(std::move(cast));
	return cast;
}

std::optional<Json>
Node::Validate(const Json *value, const std::string &path, Errors &errors) const
{
	if (value == nullptr && default_)
		value = &*default_;
	if (value == nullptr) {
		if (defined_)
			errors.push_back({path, path + " must be defined"});
		return std::nullopt;
	}

	// yup's "initial tests": type, nullability, definedness, oneOf. The first failure ends the validation.
	Json cast = Cast(*value);
	if (cast.is_null()) {
		if (!nullable_)
			errors.push_back({path, path + " cannot be null"});
		return cast;
	}
	if (!HasType(cast)) {
		std::string message =
			path + " must be a `" + KindName(kind_) + "` type, but the final value was: `" + YupPrintValue(cast) + "`";
		bool was_cast = !value->is_null() && !(cast == *value);
		message += was_cast ? " (cast from the value `" + YupPrintValue(*value) + "`)." : ".";
		errors.push_back({path, message});
		return cast;
	}
	if (!one_of_.empty() && std::find(one_of_.begin(), one_of_.end(), cast) == one_of_.end()) {
		std::string values;
		for (const auto &allowed : one_of_)
			values += (values.empty() ? "" : ", ") + JsString(allowed);
		errors.push_back({path, path + " must be one of the following values: " + values});
		return cast;
	}

	if (kind_ == Kind::Object)
		cast = ValidateObject(cast, path, errors);
	else if (kind_ == Kind::Array)
		cast = ValidateArray(cast, path, errors);
	for (const auto &check : checks_)
		if (auto message = check(cast, path))
			errors.push_back({path, *message});
	return cast;
}

Json
Node::ValidateObject(const Json &value, const std::string &path, Errors &errors) const
{
	// Fields are validated in yup's _nodes order (the reverse of definition order), then sorted by key order.
	Errors field_errors;
	Json cast = value;
	std::vector<std::string> keys;
	for (const auto &[key, field] : fields_)
		keys.push_back(key);
	for (auto it = fields_.rbegin(); it != fields_.rend(); ++it) {
		const auto &[key, field] = *it;
		const Json *child = value.contains(key) ? &value[key] : nullptr;
		auto child_cast = field.Validate(child, ChildPath(path, key), field_errors);
		if (child_cast)
			cast[key] = std::move(*child_cast);
	}
	SortByKeyOrder(field_errors, keys);
	errors.insert(errors.end(), field_errors.begin(), field_errors.end());

	// Stack Auth's yupObject test: keys the schema does not know are an error for body, query and params.
	std::string unknown;
	for (const auto &[key, item] : value.items())
		if (std::find(keys.begin(), keys.end(), key) == keys.end())
			unknown += (unknown.empty() ? "" : ", ") + key;
	if (!unknown.empty())
		errors.push_back({path, (path.empty() ? "Object" : path) + " contains unknown properties: " + unknown});
	return cast;
}

Json
Node::ValidateArray(const Json &value, const std::string &path, Errors &errors) const
{
	Json cast = Json::array();
	for (std::size_t i = 0; i < value.size(); ++i) {
		auto item_cast = item_.front().Validate(&value[i], path + "[" + std::to_string(i) + "]", errors);
		cast.push_back(item_cast ? *item_cast : Json());
	}
	return cast;
}

void
SortByKeyOrder(Errors &errors, const std::vector<std::string> &keys)
{
	auto index = [&keys](const Error &error) {
		for (std::size_t i = 0; i < keys.size(); ++i)
			if (error.path.find(keys[i]) != std::string::npos)
				return i;
		return keys.size();
	};
	std::stable_sort(errors.begin(), errors.end(), [&](const Error &a, const Error &b) { return index(a) < index(b); });
}

namespace {

Node
DisplayName()
{
	return Node::String().Nullable().MaxLength(256);
}

// urlSchema (no spaces, parses as a URL) capped at MAX_IMAGE_SIZE_BASE64_BYTES.
Node
ProfileImageUrl()
{
	return Node::String()
		.Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
			if (value.get<std::string>().find(' ') == std::string::npos)
				return std::nullopt;
			return path + " contains spaces";
		})
		.Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
			if (IsParsableUrl(value.get<std::string>()))
				return std::nullopt;
			return path + " is not a valid URL";
		})
		.MaxLength(1000000)
		.Nullable();
}

Node
Metadata()
{
	return Node::Mixed().Nullable();
}

Node
PrimaryEmail()
{
	return Node::String().Email().Nullable().NonEmpty();
}

Node
TotpSecret()
{
	return Node::String()
		.Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
			if (IsStackBase64(value.get<std::string>()))
				return std::nullopt;
			return path + " is not valid base64";
		})
		.Nullable();
}

Node
CountryCode()
{
	return Node::String()
		.Transform([](Json value) -> Json {
			if (!value.is_string())
				return value;
			std::string code = JsTrim(value.get<std::string>());
			for (char &c : code)
				if (c >= 'a' && c <= 'z')
					c = static_cast<char>(c - 32);
			return code;
		})
		.Test([](const Json &value, const std::string &path) -> std::optional<std::string> {
			const auto &code = value.get<std::string>();
			if (code.size() == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z')
				return std::nullopt;
			return path + " must be a 2-letter country code";
		})
		.Nullable();
}

Node
RiskScores()
{
	Node score = Node::Number().Integer().Min(0).Max(100).Defined();
	return Node::Object({{"sign_up", Node::Object({{"bot", score}, {"free_trial_abuse", score}}).Defined()}});
}

// usersCrudServerUpdateSchema's test: a reason or private details need restricted_by_admin === true.
std::optional<std::string>
RestrictedByAdminConsistency(const Json &value, const std::string &)
{
	if (value.contains("restricted_by_admin") && value["restricted_by_admin"] == true)
		return std::nullopt;
	for (const char *key : {"restricted_by_admin_reason", "restricted_by_admin_private_details"})
		if (value.contains(key) && !value[key].is_null())
			return std::string(key) + " must be null when restricted_by_admin is not true";
	return std::nullopt;
}

using Fields = std::vector<std::pair<std::string, Node>>;

// usersCrudServerUpdateSchema's fields, in its key order (which decides how errors sort).
Fields
UpdateFields()
{
	return {
		{"display_name", DisplayName()},
		{"profile_image_url", ProfileImageUrl()},
		{"client_metadata", Metadata()},
		{"client_read_only_metadata", Metadata()},
		{"server_metadata", Metadata()},
		{"primary_email", PrimaryEmail()},
		{"primary_email_verified", Node::Boolean()},
		{"primary_email_auth_enabled", Node::Boolean()},
		{"passkey_auth_enabled", Node::Boolean()},
		{"password", Node::String().MaxLength(70).Nullable()},
		{"password_hash", Node::String().NonEmpty()},
		{"otp_auth_enabled", Node::Boolean()},
		{"totp_secret_base64", TotpSecret()},
		{"selected_team_id", Node::String().Uuid().Nullable()},
		{"is_anonymous", Node::Boolean().OneOf({false})},
		{"restricted_by_admin", Node::Boolean()},
		{"restricted_by_admin_reason", Node::String().Nullable()},
		{"restricted_by_admin_private_details", Node::String().Nullable()},
		{"country_code", CountryCode()},
		{"risk_scores", RiskScores()},
	};
}

} // namespace

const Node &
UserCreateBody()
{
	// usersCrudServerUpdateSchema.omit(['selected_team_id']).concat({oauth_providers, is_anonymous}). yup's concat
	// starts from the added object, so its two keys come first and is_anonymous takes the added definition.
	static const Node node = [] {
		Node oauth_provider = Node::Object({
			{"id", Node::String().Defined()},
			{"account_id", Node::String().Defined()},
			{"email", Node::String().Nullable().Defined().Default(nullptr)},
		});
		Fields fields{{"oauth_providers", Node::Array(oauth_provider.Defined())}, {"is_anonymous", Node::Boolean()}};
		for (auto &field : UpdateFields())
			if (field.first != "selected_team_id" && field.first != "is_anonymous")
				fields.push_back(std::move(field));
		return Node::Object(std::move(fields)).Test(RestrictedByAdminConsistency).Defined();
	}();
	return node;
}

const Node &
UserUpdateBody()
{
	static const Node node = Node::Object(UpdateFields()).Test(RestrictedByAdminConsistency).Defined();
	return node;
}

const Node &
UsersQuery()
{
	static const Node node = [] {
		Node true_or_false = Node::String().OneOf({"true", "false"});
		return Node::Object({
			{"team_id", Node::String().Uuid()},
			{"limit", Node::Number().Integer().Min(1)},
			{"cursor", Node::String().Uuid()},
			{"order_by", Node::String().OneOf({"signed_up_at"})},
			{"desc", true_or_false},
			{"query", Node::String()},
			{"include_anonymous", true_or_false},
			{"only_anonymous", true_or_false},
			{"include_restricted", true_or_false},
		});
	}();
	return node;
}

const Node &
UserIdParams()
{
	static const Node node = Node::Object({{"user_id", Node::String().Uuid().Defined()}});
	return node;
}

} // namespace emulator::schema
