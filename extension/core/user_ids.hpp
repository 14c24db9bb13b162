/*
 * user_ids.hpp: finding user IDs inside a value's text, wherever they are. Pure C++.
 *
 * A value is walked as its type prints it: a string as a whole, an array literal element by element (any
 * dimension, with or without explicit bounds), a json or jsonb document string by string (values and object
 * keys, at any depth, with the JSON path of each). Every UUID found, in any spelling uuid_in reads, is shown
 * to a visitor, which decides: rewrite it in place (the pull, the verification), count it (the audit, the
 * plan's sample), or stop with an error. Optionally, IDs inside longer strings ('avatars/<id>/a.png') are
 * shown too.
 *
 * Values often arrive escaped: a COPY text field, a quoted array element, a JSON string. A Span reads through
 * such a layer and writes a rewritten ID back to the bytes it came from; IDs never change length (a target ID
 * is written in the spelling of the source ID), so every rewrite happens in place, and a value without escapes
 * is never copied.
 *
 * The walk is user_ids.cpp; value types are value_types.cpp, spans spans.cpp, jsonb's key order
 * jsonb_key_order.cpp.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/id_map.hpp"

namespace pgc::core {

/* What a column's type can hold, as far as user IDs go (domains resolved to their base type). */
enum class ValueClass : std::uint8_t {
	None,	/* numbers, times, booleans, bytea, ...: no user ID can be in them */
	Uuid,	/* uuid */
	String, /* text, varchar, char, citext, name */
	Json,	/* json: its text is kept exactly, whitespace and key order */
	Jsonb,	/* jsonb: PostgreSQL sorts its keys */
	Other,	/* any other type with a text form (composites, xml, ...): IDs can only be embedded in it */
};

struct ValueType {
	ValueClass element = ValueClass::None;
	bool array = false; /* an array of `element`, of any dimension */
	bool
	operator==(const ValueType &other) const
	{
		return element == other.element && array == other.array;
	}
};

/*
 * The value type of a column from its base type as format_type prints it ("uuid", "text[]",
 * "character varying(20)", "extensions.citext", "jsonb").
 */
ValueType ValueTypeOf(std::string_view base_type);

/* Whether a whole value of this type can be a user ID (uuid and strings, and arrays of them). */
bool HoldsWholeIds(ValueType type);

/*
 * Whether a value's text may hold an ID a walk would find (a cheap test for callers that must copy a value
 * before walking it): a string of an ID's length (trailing blanks aside), or any JSON, array or, with
 * `embedded`, longer string.
 */
bool MayHoldId(std::string_view text, ValueType type, bool embedded);

/* Where in a value an ID sits. */
enum class IdPlace : std::uint8_t {
	Value,		  /* the whole value */
	ArrayElement, /* a whole element of an array */
	JsonValue,	  /* a string value inside json or jsonb */
	JsonKey,	  /* an object key inside json or jsonb */
	Embedded,	  /* inside a longer string (a path, a URL, 'user:<id>') */
};

/* The words for a place, as migrate_audit_ids and the plan print it: "value", "json key", ... */
const char *IdPlaceName(IdPlace place);

/*
 * The text a walker reads, writable back (same length) to the bytes it was read from. A Span over bytes
 * writes them; a part of another span writes through it; a DecodedSpan (below) through its escapes.
 */
class Span
{
  public:
	Span(char *data, std::size_t size) : data_(data), size_(size) {}
	/* [at, at + size) of `parent`, read as it is. */
	Span(Span &parent, std::size_t at, std::size_t size)
		: data_(parent.data_ + at), size_(size), parent_(&parent), offset_(at)
	{
	}
	virtual ~Span() = default;
	Span(const Span &) = delete;
	Span &operator=(const Span &) = delete;

	char *
	data() const
	{
		return data_;
	}
	std::size_t
	size() const
	{
		return size_;
	}
	std::string_view
	view() const
	{
		return {data_, size_};
	}

	/*
	 * Replaces the `n` characters at `at` with `chars`. False, and nothing written, when one of them was read
	 * through an escape sequence (which a plain character cannot replace without changing the length).
	 */
	virtual bool Write(std::size_t at, const char *chars, std::size_t n);

  protected:
	Span() = default;
	char *data_ = nullptr;
	std::size_t size_ = 0;
	Span *parent_ = nullptr;
	std::size_t offset_ = 0;
};

/* A span read through one level of escaping. */
class DecodedSpan : public Span
{
  public:
	enum class Escapes : std::uint8_t {
		CopyText,	  /* a COPY text field: \t, \n, \\, \NNN, \xHH, ... */
		ArrayElement, /* a quoted array element: \c stands for c */
		JsonString,	  /* the inside of a JSON string: \", \\, \n, \uXXXX, ... */
	};
	/* Decodes [at, at + size) of `parent`; ok() says whether the escapes were well formed. */
	DecodedSpan(Span &parent, std::size_t at, std::size_t size, Escapes escapes);
	bool
	ok() const
	{
		return ok_;
	}
	bool Write(std::size_t at, const char *chars, std::size_t n) override;

  private:
	std::string text_;
	/* where each decoded byte starts in the parent; the top bit marks a byte that came from an escape */
	std::vector<std::uint32_t> from_;
	bool ok_ = true;
};

/* The JSON path of a place inside a document: $.a.b[*], with .* for an object key that is a UUID. */
class JsonPath
{
  public:
	struct Segment {
		std::string_view key; /* as written in the document (escapes kept) */
		bool array = false;	  /* [*] */
		bool wild = false;	  /* .* (the key is a UUID) */
	};
	bool
	empty() const
	{
		return !in_json_;
	}
	/* "$.a.b[*]", or "" outside JSON. */
	std::string Text() const;

	/* The walker's side: a document entered and left, a container pushed and popped. */
	void
	Enter()
	{
		in_json_ = true;
		segments_.clear();
	}
	void
	Leave()
	{
		in_json_ = false;
		segments_.clear();
	}
	void
	Push(Segment segment)
	{
		segments_.push_back(segment);
	}
	void
	Pop()
	{
		segments_.pop_back();
	}
	Segment &
	Back()
	{
		return segments_.back();
	}
	std::size_t
	Depth() const
	{
		return segments_.size();
	}

  private:
	std::vector<Segment> segments_;
	bool in_json_ = false;
};

struct WalkOptions {
	bool embedded = false; /* also show IDs inside longer strings */
	bool scalars = false;  /* tell the visitor of every scalar, not only of the UUIDs (the plan's evidence) */
};

class IdVisitor
{
  public:
	virtual ~IdVisitor() = default;
	/*
	 * A UUID written at [at, at + size) of `span`, at `place` (`path` inside JSON). Returning false stops the
	 * walk (an error the visitor keeps).
	 */
	virtual bool Id(Span &span, std::size_t at, std::size_t size, const UuidSpelling &spelling, IdPlace place,
					const JsonPath &path) = 0;
	/* Every scalar (string, number, boolean) at a place, when WalkOptions::scalars is set. */
	virtual void
	Scalar(IdPlace, const JsonPath &)
	{
	}
};

enum class WalkResult : std::uint8_t {
	Done,
	Stopped,   /* the visitor returned false */
	Malformed, /* the text is not what the type prints (an escape, an array or a document cut short) */
};

/* Walks a value's text form (an array literal for an array type). */
WalkResult WalkText(Span &text, ValueType type, const WalkOptions &options, IdVisitor &visitor);

/* Walks one value that is no array (a whole value, or one element of a binary array) at `place`. */
WalkResult WalkScalar(Span &text, ValueClass element, IdPlace place, const WalkOptions &options, IdVisitor &visitor);

/*
 * The text of a jsonb value as jsonb_out prints it, from a text in that format whose object keys may be out
 * of jsonb's order (shorter keys first, then byte order of the unescaped keys) after some were rewritten.
 * False if `text` is no JSON.
 */
bool SortJsonbKeys(std::string_view text, std::string &out);

/* The same for each element of a jsonb[] as array_out prints it (elements quoted, \ and " escaped). */
bool SortJsonbArrayKeys(std::string_view text, std::string &out);

} // namespace pgc::core
