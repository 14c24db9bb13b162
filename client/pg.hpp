/*
 * pg.hpp: libpq for the client, RAII: a connection that closes itself, results that free themselves, COPY in
 * both directions, and errors that carry the server's SQLSTATE and message (never the conninfo, which may hold a
 * password).
 */
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/sql.hpp"
#include "interrupt.hpp"

namespace cutover::pg {

/* An error from PostgreSQL or libpq: the SQLSTATE ("08006" when the connection failed) and the message. */
class Error : public std::runtime_error
{
  public:
	Error(std::string sqlstate, const std::string &message, std::string detail = "", std::string hint = "")
		: std::runtime_error(message), sqlstate_(std::move(sqlstate)), detail_(std::move(detail)),
		  hint_(std::move(hint))
	{
	}
	const std::string &
	sqlstate() const
	{
		return sqlstate_;
	}
	const std::string &
	detail() const
	{
		return detail_;
	}
	const std::string &
	hint() const
	{
		return hint_;
	}
	/* The message, then "detail: ..." and "hint: ..." lines when there are any. */
	std::string
	Described() const
	{
		return what() + (detail_.empty() ? "" : "\ndetail: " + detail_) + (hint_.empty() ? "" : "\nhint: " + hint_);
	}
	/* The server or the network failed rather than the request (08: connection, 53: resources, 57P: shutdown). */
	bool
	Unreachable() const
	{
		return sqlstate_.rfind("08", 0) == 0 || sqlstate_.rfind("53", 0) == 0 || sqlstate_.rfind("57P", 0) == 0;
	}

  private:
	std::string sqlstate_;
	std::string detail_;
	std::string hint_;
};

/* A query's rows, read as text; NULL is std::nullopt. */
class Result
{
  public:
	explicit Result(PGresult *result) : result_(result, &PQclear) {}
	int
	Rows() const
	{
		return PQntuples(result_.get());
	}
	int
	Columns() const
	{
		return PQnfields(result_.get());
	}
	std::string Name(int column) const;
	/* The column's type (its pg_type OID). */
	unsigned
	Type(int column) const
	{
		return PQftype(result_.get(), column);
	}
	bool
	IsNull(int row, int column) const
	{
		return PQgetisnull(result_.get(), row, column) != 0;
	}
	/* The value as text ("" for NULL). */
	std::string Text(int row, int column) const;
	std::optional<std::string> Optional(int row, int column) const;
	long long Int(int row, int column) const;
	bool Bool(int row, int column) const;

	const PGresult *
	raw() const
	{
		return result_.get();
	}

  private:
	std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

/* One line of a COPY ... TO STDOUT without its newline, in libpq's buffer, which it frees. */
class CopyLine
{
  public:
	std::string_view
	text() const
	{
		return text_;
	}

  private:
	friend class Connection;
	std::unique_ptr<char, decltype(&PQfreemem)> buffer_{nullptr, &PQfreemem};
	std::string_view text_;
};

using Params = std::vector<std::optional<std::string>>;

class Connection
{
  public:
	/*
	 * Connects with a conninfo string or URI ("" takes everything from the PG* environment variables, as psql
	 * does). `what` names the side in errors ("target", "source").
	 */
	static Connection Open(const std::string &conninfo, const std::string &what);

	/* Runs one statement with text parameters ($1, ...); throws Error on failure. */
	Result Exec(const std::string &sql, const Params &params = {}) const;

	/*
	 * Sends a statement without waiting (for polling a long call); Finish waits for its result. As for Exec: none
	 * is sent after Ctrl-C, and one sent as the signal came is cancelled.
	 */
	void Send(const std::string &sql, const Params &params = {}) const;
	bool Busy() const;
	Result Finish() const;
	/*
	 * COPY, which Exec refuses. StartCopy runs a COPY ... TO STDOUT or FROM STDIN and throws the server's error
	 * unless the server is ready to send or take the data. TO STDOUT: NextCopyLine gives each line in turn and
	 * false at the end, when it throws if the COPY failed. FROM STDIN: PutCopyData sends `data` and empties
	 * it; EndCopy ends the data and returns the server's refusal as libpq prints it (none when it took the
	 * rows); AbortCopy ends it with an error instead, so that the server discards the rows. Copying: a COPY
	 * started is not ended yet.
	 */
	void StartCopy(const std::string &sql) const;
	bool NextCopyLine(CopyLine &line) const;
	void PutCopyData(std::string &data) const;
	std::optional<std::string> EndCopy() const;
	void AbortCopy(const std::string &reason) const;
	bool Copying() const;

	/* Asks the server to cancel what runs on this connection (best effort). */
	void Cancel() const;
	/*
	 * A connection is cancelled by Ctrl-C or SIGTERM (interrupt.hpp), and after one starts no statement: Exec
	 * and Send throw InterruptedError. KeepOnInterrupt exempts this one, for short writes that must land (the
	 * users' journal), the command stopping on its own.
	 */
	void KeepOnInterrupt();
	/* The primary message of each notice or warning the server sends from now on is also added to `into`
	 * (nullptr: no longer); they still go to the log as before. KeptNotices undoes it when it ends. */
	void KeepNotices(std::vector<std::string> *into) const;

	PGconn *
	raw() const
	{
		return conn_.get();
	}
	const std::string &
	what() const
	{
		return what_;
	}

  private:
	Connection(PGconn *conn, std::string what) : conn_(conn, &PQfinish), what_(std::move(what)) {}
	Error ErrorOf(const PGresult *result) const;
	/* The first result of what was sent, the others cleared. */
	Result Drain() const;
	void RefuseIfInterrupted() const;

	std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
	std::string what_;
	std::unique_ptr<CancelOnInterrupt> cancel_; /* after conn_: released first */
};

/* The notices and warnings the server sends on a connection while this lives, by their primary message (they
 * still go to the log as before). */
class KeptNotices
{
  public:
	explicit KeptNotices(const Connection &conn) : conn_(conn) { conn_.KeepNotices(&messages_); }
	~KeptNotices() { conn_.KeepNotices(nullptr); }
	KeptNotices(const KeptNotices &) = delete;
	KeptNotices &operator=(const KeptNotices &) = delete;

	const std::vector<std::string> &
	Messages() const
	{
		return messages_;
	}

  private:
	const Connection &conn_;
	std::vector<std::string> messages_;
};

/* A string literal for SQL, quoted by libpq for this connection (for the rare text that cannot be a $n). */
std::string QuoteLiteral(const Connection &conn, const std::string &value);
/* An array literal ('{"a","b",NULL}') for a text[] or uuid[] parameter; std::nullopt is NULL (the extension's
 * rule: core::TextArrayLiteral). */
inline std::string
ArrayLiteral(const std::vector<std::optional<std::string>> &values)
{
	return pgc::core::TextArrayLiteral(values);
}
inline std::string
ArrayLiteral(const std::vector<std::string> &values)
{
	return pgc::core::TextArrayLiteral(values);
}
/* A text parameter that is NULL when `value` is empty. */
inline std::optional<std::string>
NullIfEmpty(const std::string &value)
{
	return value.empty() ? std::nullopt : std::optional<std::string>(value);
}
/* An identifier, quoted by libpq (PQescapeIdentifier). */
std::string QuoteIdentifier(const Connection &conn, const std::string &name);
/* A table's name qualified by its schema, both quoted: "schema"."name". */
std::string QuoteQualified(const Connection &conn, const std::string &schema, const std::string &name);

} // namespace cutover::pg
