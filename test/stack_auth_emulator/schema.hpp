// test/stack_auth_emulator/schema.hpp: request validation the way Stack Auth's yup schemas do it.
//
// The real backend validates {auth, url, method, body, params, query} with yup (abortEarly: false, coercion on)
// and answers SCHEMA_ERROR with one "  - <message>" line per failure. A Node here is one yup schema: the same
// casts (a number given for a string becomes a string, "true" for a boolean becomes true), the same default
// messages, the same order of errors, and Stack Auth's extra rule that objects reject unknown keys.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js_compat.hpp"

namespace emulator::schema {

struct Error {
	std::string path;
	std::string message;
};
using Errors = std::vector<Error>;

// A test on a present, non-null value of the right type. Returns the failure message, or nothing.
using Check = std::function<std::optional<std::string>(const Json &value, const std::string &path)>;

class Node
{
  public:
	enum class Kind { String, Boolean, Number, Mixed, Object, Array };

	static Node String();
	static Node Boolean();
	static Node Number();
	static Node Mixed();
	static Node Object(std::vector<std::pair<std::string, Node>> fields);
	static Node Array(Node item);

	Node Nullable() const;
	Node Defined() const;
	Node Default(Json value) const;
	Node OneOf(std::vector<Json> values) const;
	Node Transform(std::function<Json(Json)> transform) const;
	Node Test(Check check) const;

	// yup's built-in tests with their default messages.
	Node MaxLength(std::size_t max) const;
	Node Email() const;
	Node Uuid() const;
	Node NonEmpty() const;
	Node Integer() const;
	Node Min(double min) const;
	Node Max(double max) const;

	// Validates `value` (nullptr: the key is absent, i.e. undefined) and returns it cast the way yup casts it.
	std::optional<Json> Validate(const Json *value, const std::string &path, Errors &errors) const;

  private:
	explicit Node(Kind kind) : kind_(kind) {}

	bool HasType(const Json &value) const;
	Json Cast(const Json &value) const;
	Json ValidateObject(const Json &value, const std::string &path, Errors &errors) const;
	Json ValidateArray(const Json &value, const std::string &path, Errors &errors) const;

	Kind kind_;
	bool nullable_ = false;
	bool defined_ = false;
	std::optional<Json> default_;
	std::vector<Json> one_of_;
	std::vector<std::function<Json(Json)>> transforms_;
	std::vector<Check> checks_;
	std::vector<std::pair<std::string, Node>> fields_; // Object, in definition order
	std::vector<Node> item_;						   // Array: exactly one element
};

// Sorts errors as yup does for an object with these keys: by the first key the error's path contains (a plain
// substring test, so "body.oauth_providers" sorts with "auth"), keeping the incoming order for ties.
void SortByKeyOrder(Errors &errors, const std::vector<std::string> &keys);

// The schemas of the users endpoints (packages/stack-shared/src/interface/crud/users.ts and crud.tsx).
const Node &UserCreateBody();
const Node &UserUpdateBody();
const Node &UsersQuery();
const Node &UserIdParams();

} // namespace emulator::schema
