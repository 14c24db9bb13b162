/*
 * source.hpp: the extension's own libpq connection to the source database (source_connection.cpp), and the
 * list of open connections that closes them however a call ends (source_links.cpp).
 *
 * Where the source is lives in PostgreSQL's catalogs: the postgres_fdw foreign server `cutover_source`
 * (host, port, dbname, ...) and the current role's user mapping for it (user, password). Every wait on the
 * network also waits on the backend's latch, so a query cancel or statement_timeout interrupts it; the
 * destructor cancels a query still running on the source and closes the connection.
 */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "guard.hpp"

namespace pgc {

constexpr const char *kSourceServerName = "cutover_source";

struct ResultDeleter {
	void
	operator()(PGresult *result) const
	{
		PQclear(result);
	}
};
using SourceResult = std::unique_ptr<PGresult, ResultDeleter>;

/*
 * A thread that reads a connection lent to it (copy_reader.hpp). Return() stops it and waits for it: the link's
 * close calls it first, also from the exit and abort callbacks, so that no thread reads a closed connection.
 */
class ConnectionBorrower
{
  public:
	virtual void Return() noexcept = 0;

  protected:
	~ConnectionBorrower() = default;
};

/* A connection and the options that opened it (to open a second one for a cancel). */
struct SourceLink {
	PGconn *conn;
	std::vector<std::string> keys;
	std::vector<std::string> values;
	ConnectionBorrower *borrower = nullptr; /* the thread reading the connection, if one is */
};

/* PQconnectStartParams with the options as two lists of the same length. */
PGconn *StartConnecting(const std::vector<std::string> &keys, const std::vector<std::string> &values);
/*
 * Adds `link` (on the heap) to the open connections, which the exit and abort callbacks close; the list owns
 * it from then on.
 */
void TrackLink(SourceLink *link);
/* Cancels the query still running on `link`, if any, closes its connection and frees it (if still open). */
void CloseLink(SourceLink *link) noexcept;

/* Options the extension sets on every source connection itself (migrate_source refuses them). */
bool IsConnectionSetByExtension(const std::string &keyword);

class SourceConnection
{
  public:
	/* Connects with the options of server cutover_source and the current role's user mapping. */
	static SourceConnection Open();

	SourceConnection(SourceConnection &&other) noexcept;
	SourceConnection &operator=(SourceConnection &&) = delete;
	SourceConnection(const SourceConnection &) = delete;
	~SourceConnection();

	/* Sends a query (several statements allowed) without waiting for it. */
	void Send(const std::string &sql);
	/* Sends a one-statement query with text parameters without waiting for it. */
	void SendParams(const std::string &sql, const std::vector<std::optional<std::string>> &params);
	/*
	 * Waits for every result of the query sent last and returns the last one that holds rows. An error on
	 * the source is thrown with the source's SQLSTATE and message, prefixed "on the source: ".
	 */
	SourceResult Wait();

	SourceResult
	Exec(const std::string &sql, const std::vector<std::optional<std::string>> &params = {})
	{
		SendParams(sql, params);
		return Wait();
	}

	/* Sends a script whose last statement is COPY ... TO STDOUT; returns once the COPY data starts. */
	void StartCopy(const std::string &sql);
	/*
	 * The next line of the COPY (malloc'd by libpq: PQfreemem it), with its length; -1 at the end of the data;
	 * 0 when `wait` is false and no whole line has arrived yet. An error of the source ends the data with a
	 * throw.
	 */
	int GetCopyLine(char **line, bool wait);
	/* After the last line: reads what the source says about the COPY, throwing its error if any. */
	void FinishCopy();
	/* `value` as an SQL string literal, escaped for the source. */
	std::string Literal(const std::string &value) const;

	/*
	 * The libpq connection, lent to a thread that reads a COPY's data while this backend works on (copy_reader.cpp):
	 * nothing else uses the connection until Reclaim(); closing it first calls borrower->Return().
	 */
	PGconn *Lend(ConnectionBorrower *borrower);
	void Reclaim();
	/* Whether the source is near (core/nearby.hpp): a Unix socket, a loopback or a private address. */
	bool IsNearby() const;
	/* An established connection failed: 08006, with libpq's message (the password masked). */
	[[noreturn]] void ThrowConnectionLost(const std::string &what) const;

	/* Server version of the source, as server_version_num (150020 for 15.20). */
	int
	ServerVersion() const
	{
		return PQserverVersion(conn_);
	}

  private:
	SourceConnection(PGconn *conn, std::string password, std::vector<std::string> keys,
					 std::vector<std::string> values);

	/* Completes the connection started, within `timeout_seconds`, serving interrupts meanwhile. */
	void AwaitConnected(long timeout_seconds);
	/* Waits until the next result is complete, serving interrupts meanwhile. */
	void AwaitResult();
	/* Waits until the socket is readable (or writable), serving interrupts meanwhile. */
	void WaitSocket(bool for_write, long timeout_ms);
	/* libpq's message with the password masked, should it ever be echoed. */
	std::string Message(const char *text) const;
	/* Connecting failed: 28P01 for authentication, otherwise 08001. */
	[[noreturn]] void ThrowConnectError() const;
	/* Throws the error of a failed result with the source's SQLSTATE, prefixed "on the source: ". */
	[[noreturn]] void ThrowResultError(const PGresult *result) const;

	PGconn *conn_;
	std::string password_;
	struct SourceLink *link_ = nullptr; /* owned by the list of open connections (source_links.cpp) */
};

/* Masks every occurrence of `secret` in `text`. */
std::string MaskSecret(std::string text, const std::string &secret);

/*
 * `error` with `context` (a sentence naming the table) added to its detail when the source raised it: the
 * source's own message ("invalid byte sequence for encoding \"UTF8\": 0xff") may not say which table it was
 * reading. Other errors come back unchanged.
 */
Error NamingTable(const Error &error, const std::string &context);

} // namespace pgc
