/*
 * source_connection.cpp: the extension's libpq connection to the source (SourceConnection).
 *
 * Where the source is comes from server cutover_source and the current role's user mapping; every wait on
 * the network (connecting, sending, reading results and COPY data) also waits on the backend's latch, so a
 * query cancel or statement_timeout interrupts it. Errors of the source keep its SQLSTATE; libpq's messages
 * never show the password.
 */
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "core/nearby.hpp"
#include "pg/foreign.hpp"
#include "source.hpp"

namespace pgc {

namespace {

constexpr long kDefaultConnectTimeoutSeconds = 30;

const std::pair<const char *, const char *> kKeepalives[] = {
	{"keepalives", "1"}, {"keepalives_idle", "60"}, {"keepalives_interval", "10"}, {"keepalives_count", "6"}};

/* Options libpq knows; the server may also carry postgres_fdw's own options, which libpq must not see. */
const std::set<std::string> &
LibpqKeywords()
{
	static const std::set<std::string> keywords = [] {
		std::set<std::string> names;
		PQconninfoOption *defaults = PQconndefaults();
		if (defaults == nullptr)
			throw std::bad_alloc();
		for (PQconninfoOption *opt = defaults; opt->keyword != nullptr; opt++)
			names.insert(opt->keyword);
		PQconninfoFree(defaults);
		return names;
	}();
	return keywords;
}

std::string
TrimMessage(std::string text)
{
	while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
		text.pop_back();
	return text;
}

int
SqlstateFromText(const char *code)
{
	if (code == nullptr || std::strlen(code) != 5)
		return ERRCODE_CONNECTION_FAILURE;
	return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

/* Server cutover_source, or 42704 saying how to record it. */
ForeignServer *
SourceServer()
{
	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr)
		throw Error(ERRCODE_UNDEFINED_OBJECT, "no source is configured",
					"The foreign server \"cutover_source\" does not exist.",
					"Run `cutover init`, or SELECT migrate_source('host=... port=... dbname=... user=... "
					"password=...'), first.");
	return server;
}

/* The current role's user mapping for the server (or PUBLIC's), or 42704 naming the role. */
UserMapping *
SourceMapping(const ForeignServer *server)
{
	Oid user_id = GetUserId();
	if (!pg::HasUserMapping(user_id, server->serverid) && !pg::HasUserMapping(InvalidOid, server->serverid)) {
		const char *role = pg::Call([&] { return GetUserNameFromId(user_id, false); });
		throw Error(ERRCODE_UNDEFINED_OBJECT,
					std::string("no user mapping for role \"") + role + "\" on server \"cutover_source\"", "",
					"Run `cutover init` (or SELECT migrate_source(...)) as this role, or CREATE USER MAPPING for it.");
	}
	return pg::Call([&] { return GetUserMapping(user_id, server->serverid); });
}

/* The libpq options of a source connection, and what the extension reads among them. */
struct ConnectOptions {
	std::vector<std::string> keys;
	std::vector<std::string> values;
	std::string password;
	long connect_timeout = kDefaultConnectTimeoutSeconds;

	void
	Add(const std::string &key, const std::string &value)
	{
		keys.push_back(key);
		values.push_back(value);
	}
};

/* The options of the server and then of the user mapping that libpq knows, but those the extension sets. */
ConnectOptions
OptionsOf(const ForeignServer *server, const UserMapping *mapping)
{
	pg::OptionList options = pg::OptionPairs(server->options);
	for (auto &option : pg::OptionPairs(mapping->options))
		options.push_back(option);

	ConnectOptions connect;
	for (auto &[key, value] : options) {
		if (LibpqKeywords().count(key) == 0 || IsConnectionSetByExtension(key))
			continue;
		if (key == "password")
			connect.password = value;
		if (key == "connect_timeout")
			connect.connect_timeout = std::max(2L, std::strtol(value.c_str(), nullptr, 10));
		connect.Add(key, value);
	}
	return connect;
}

/* The options the extension adds to every connection: keepalives (unless given), its name, the encoding. */
void
AddOwnOptions(ConnectOptions &connect)
{
	/* A dead network shows up while waiting, rather than never, unless the connection string says otherwise. */
	for (const auto &[key, value] : kKeepalives)
		if (std::find(connect.keys.begin(), connect.keys.end(), key) == connect.keys.end())
			connect.Add(key, value);
	connect.Add("fallback_application_name", "pg_cutover");
	connect.Add("client_encoding", GetDatabaseEncodingName());
}

} // namespace

bool
IsConnectionSetByExtension(const std::string &keyword)
{
	return keyword == "client_encoding" || keyword == "fallback_application_name";
}

std::string
MaskSecret(std::string text, const std::string &secret)
{
	if (secret.empty())
		return text;
	for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 8))
		text.replace(pos, secret.size(), "********");
	return text;
}

Error
NamingTable(const Error &error, const std::string &context)
{
	if (error.message().rfind("on the source: ", 0) != 0)
		return error;
	return Error(error.sqlstate(), error.message(), error.detail().empty() ? context : error.detail() + " " + context,
				 error.hint());
}

SourceConnection
SourceConnection::Open()
{
	ForeignServer *server = SourceServer();
	ConnectOptions connect = OptionsOf(server, SourceMapping(server));

	/* As dblink and postgres_fdw: a non-superuser must authenticate with a password of its own. */
	bool is_superuser = pg::Call([] { return superuser(); });
	if (!is_superuser && connect.password.empty())
		throw Error(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED, "password is required to connect to the source",
					"Non-superusers must give a password in their user mapping for server \"cutover_source\".",
					"Run `cutover init` (or SELECT migrate_source('... password=...')) as this role.");
	AddOwnOptions(connect);

	PGconn *raw = StartConnecting(connect.keys, connect.values);
	if (raw == nullptr)
		throw std::bad_alloc();
	SourceConnection conn(raw, connect.password, std::move(connect.keys), std::move(connect.values));
	if (PQstatus(raw) == CONNECTION_BAD)
		conn.ThrowConnectError();
	conn.AwaitConnected(connect.connect_timeout);

	if (!is_superuser && !PQconnectionUsedPassword(raw))
		throw Error(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED, "password is required to connect to the source",
					"The source did not ask for the password of the user mapping.",
					"The source must authenticate non-superusers by password (md5 or scram-sha-256 in pg_hba.conf).");

	/* Names in the answers (format_type, reg* values) are printed as they are on the target: schema-qualified. */
	conn.Exec("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)");
	return conn;
}

void
SourceConnection::AwaitConnected(long timeout_seconds)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK) {
		if (status == PGRES_POLLING_FAILED)
			ThrowConnectError();
		long left =
			std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0)
			throw Error(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
						"could not connect to the source server \"cutover_source\"",
						"No answer within " + std::to_string(timeout_seconds) + " seconds.",
						"Check host and port of server cutover_source, or raise its connect_timeout option.");
		WaitSocket(status == PGRES_POLLING_WRITING, left);
		status = PQconnectPoll(conn_);
	}
}

SourceConnection::SourceConnection(PGconn *conn, std::string password, std::vector<std::string> keys,
								   std::vector<std::string> values)
	: conn_(conn), password_(std::move(password))
{
	try {
		link_ = new SourceLink{conn, std::move(keys), std::move(values)};
		TrackLink(link_);
	} catch (...) {
		delete link_;
		PQfinish(conn_);
		throw;
	}
}

SourceConnection::SourceConnection(SourceConnection &&other) noexcept
	: conn_(other.conn_), password_(std::move(other.password_)), link_(other.link_)
{
	other.conn_ = nullptr;
	other.link_ = nullptr;
}

SourceConnection::~SourceConnection()
{
	if (link_ == nullptr)
		return;
	/* A query still running on the source (we were cancelled, or failed on the target side) is cancelled. */
	CloseLink(link_);
}

std::string
SourceConnection::Message(const char *text) const
{
	return MaskSecret(TrimMessage(text ? text : ""), password_);
}

void
SourceConnection::ThrowConnectError() const
{
	std::string detail = Message(PQerrorMessage(conn_));
	bool auth = PQconnectionNeedsPassword(conn_) || detail.find("authentication failed") != std::string::npos ||
				detail.find("no password supplied") != std::string::npos;
	if (auth)
		throw Error(ERRCODE_INVALID_PASSWORD, "authentication to the source failed", detail,
					"Check user and password in the user mapping for server \"cutover_source\": after a password "
					"change, run `cutover init` (or SELECT migrate_source(...)) with the new one.");
	throw Error(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
				"could not connect to the source server \"cutover_source\"", detail,
				"Check that the source is running and that host, port and dbname of server cutover_source are right.");
}

void
SourceConnection::ThrowConnectionLost(const std::string &what) const
{
	throw Error(ERRCODE_CONNECTION_FAILURE, what, Message(PQerrorMessage(conn_)),
				"The source closed the connection or the network failed; nothing was changed. Run the call again.");
}

PGconn *
SourceConnection::Lend(ConnectionBorrower *borrower)
{
	link_->borrower = borrower;
	return conn_;
}

void
SourceConnection::Reclaim()
{
	link_->borrower = nullptr;
}

bool
SourceConnection::IsNearby() const
{
	const char *host = PQhost(conn_);
	const char *address = PQhostaddr(conn_);
	return core::IsNearby(host ? host : "", address ? address : "");
}

void
SourceConnection::WaitSocket(bool for_write, long timeout_ms)
{
	int events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE);
	if (timeout_ms >= 0)
		events |= WL_TIMEOUT;
	pgsocket sock = PQsocket(conn_);
	if (sock == PGINVALID_SOCKET)
		ThrowConnectionLost("lost the connection to the source");
	int rc = pg::Call([&] { return WaitLatchOrSocket(MyLatch, events, sock, timeout_ms, PG_WAIT_EXTENSION); });
	if (rc & WL_LATCH_SET) {
		ResetLatch(MyLatch);
		pg::CheckForInterrupts();
	}
}

void
SourceConnection::Send(const std::string &sql)
{
	if (!PQsendQuery(conn_, sql.c_str()))
		ThrowConnectionLost("could not send a query to the source");
}

void
SourceConnection::SendParams(const std::string &sql, const std::vector<std::optional<std::string>> &params)
{
	std::vector<const char *> values;
	for (const auto &param : params)
		values.push_back(param ? param->c_str() : nullptr);
	if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
						   nullptr, 0))
		ThrowConnectionLost("could not send a query to the source");
}

void
SourceConnection::AwaitResult()
{
	while (PQisBusy(conn_)) {
		WaitSocket(false, -1);
		if (!PQconsumeInput(conn_))
			ThrowConnectionLost("lost the connection to the source");
	}
}

void
SourceConnection::ThrowResultError(const PGresult *res) const
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	if (primary == nullptr)
		ThrowConnectionLost("lost the connection to the source");
	throw Error(SqlstateFromText(PQresultErrorField(res, PG_DIAG_SQLSTATE)), "on the source: " + Message(primary),
				Message(detail), Message(hint));
}

void
SourceConnection::StartCopy(const std::string &sql)
{
	Send(sql);
	for (;;) {
		AwaitResult();
		SourceResult result(PQgetResult(conn_));
		if (!result)
			throw Error(ERRCODE_PROTOCOL_VIOLATION, "the source did not start the COPY");
		switch (PQresultStatus(result.get())) {
		case PGRES_COPY_OUT:
			return;
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			break;
		default:
			ThrowResultError(result.get());
		}
	}
}

int
SourceConnection::GetCopyLine(char **line, bool wait)
{
	bool read_without_wait = false;
	for (;;) {
		int len = PQgetCopyData(conn_, line, 1);
		if (len > 0)
			return len;
		if (len == -2)
			ThrowConnectionLost("lost the connection to the source during the COPY");
		if (len == -1) {
			/* the end of the data: the COPY's own result says whether it ended well */
			AwaitResult();
			SourceResult result(PQgetResult(conn_));
			if (result && PQresultStatus(result.get()) != PGRES_COMMAND_OK)
				ThrowResultError(result.get());
			return -1;
		}
		if (!wait) {
			/* take what the socket already holds, without waiting for more */
			if (read_without_wait)
				return 0;
			read_without_wait = true;
		} else {
			WaitSocket(false, -1);
		}
		if (!PQconsumeInput(conn_))
			ThrowConnectionLost("lost the connection to the source during the COPY");
	}
}

void
SourceConnection::FinishCopy()
{
	for (;;) {
		AwaitResult();
		SourceResult result(PQgetResult(conn_));
		if (!result)
			return;
		ExecStatusType status = PQresultStatus(result.get());
		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
			ThrowResultError(result.get());
	}
}

std::string
SourceConnection::Literal(const std::string &value) const
{
	char *escaped = PQescapeLiteral(conn_, value.data(), value.size());
	if (escaped == nullptr)
		throw Error(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, "the snapshot name cannot be sent to the source",
					Message(PQerrorMessage(conn_)));
	std::string literal = escaped;
	PQfreemem(escaped);
	return literal;
}

SourceResult
SourceConnection::Wait()
{
	SourceResult rows;
	SourceResult error;
	for (;;) {
		AwaitResult();
		SourceResult result(PQgetResult(conn_));
		if (!result)
			break;
		switch (PQresultStatus(result.get())) {
		case PGRES_TUPLES_OK:
			rows = std::move(result);
			break;
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			break;
		default:
			if (!error)
				error = std::move(result);
			break;
		}
	}
	if (error)
		ThrowResultError(error.get());
	return rows;
}

} // namespace pgc
