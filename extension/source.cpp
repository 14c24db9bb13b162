/*
 * source.cpp: migrate_source() and the extension's libpq connection to the source.
 *
 * migrate_source(conninfo) splits a connection string the way postgres_fdw wants it: user, password and
 * client certificates go to the current role's user mapping (which only that role and superusers can read),
 * everything else to the foreign server cutover_source. The nodes are built in C++ and handed to the same
 * functions CREATE/ALTER SERVER and USER MAPPING use, so the password is never part of any SQL text.
 */
#include "source.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace pgc {

namespace {

constexpr long kDefaultConnectTimeoutSeconds = 30;

const std::pair<const char *, const char *> kKeepalives[] = {
	{"keepalives", "1"}, {"keepalives_idle", "60"}, {"keepalives_interval", "10"}, {"keepalives_count", "6"}};

/* Options of a connection string that belong in the user mapping rather than the server. */
bool
IsUserMappingOption(const std::string &keyword)
{
	return keyword == "user" || keyword == "password" || keyword == "sslcert" || keyword == "sslkey" ||
		   keyword == "sslpassword";
}

/* Options the extension sets on every source connection itself. */
bool
IsConnectionSetByExtension(const std::string &keyword)
{
	return keyword == "client_encoding" || keyword == "fallback_application_name";
}

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

/* Reads every option (as key, value) of a catalog options list. */
std::vector<std::pair<std::string, std::string>>
OptionPairs(List *options)
{
	std::vector<std::pair<std::string, std::string>> pairs;
	ListCell *cell;
	foreach (cell, options) {
		DefElem *def = lfirst_node(DefElem, cell);
		const char *value = pg::Call([&] { return defGetString(def); });
		pairs.emplace_back(def->defname, value);
	}
	return pairs;
}

/* Whether `user_id` (InvalidOid: PUBLIC) has a user mapping of its own for the server. */
bool
HasUserMapping(Oid user_id, Oid server_id)
{
	return pg::Call([&] {
		return SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(user_id), ObjectIdGetDatum(server_id));
	});
}

} // namespace

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
	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr)
		throw Error(ERRCODE_UNDEFINED_OBJECT, "no source is configured",
					"The foreign server \"cutover_source\" does not exist.",
					"Run `cutover init`, or SELECT migrate_source('host=... port=... dbname=... user=... "
					"password=...'), first.");

	Oid user_id = GetUserId();
	if (!HasUserMapping(user_id, server->serverid) && !HasUserMapping(InvalidOid, server->serverid)) {
		const char *role = pg::Call([&] { return GetUserNameFromId(user_id, false); });
		throw Error(ERRCODE_UNDEFINED_OBJECT,
					std::string("no user mapping for role \"") + role + "\" on server \"cutover_source\"", "",
					"Run `cutover init` (or SELECT migrate_source(...)) as this role, or CREATE USER MAPPING for it.");
	}
	UserMapping *mapping = pg::Call([&] { return GetUserMapping(user_id, server->serverid); });

	std::vector<std::pair<std::string, std::string>> options = OptionPairs(server->options);
	for (auto &option : OptionPairs(mapping->options))
		options.push_back(option);

	std::vector<std::string> keys;
	std::vector<std::string> values;
	std::string password;
	long connect_timeout = kDefaultConnectTimeoutSeconds;
	for (auto &[key, value] : options) {
		if (LibpqKeywords().count(key) == 0 || IsConnectionSetByExtension(key))
			continue;
		if (key == "password")
			password = value;
		if (key == "connect_timeout")
			connect_timeout = std::max(2L, std::strtol(value.c_str(), nullptr, 10));
		keys.push_back(key);
		values.push_back(value);
	}

	/* As dblink and postgres_fdw: a non-superuser must authenticate with a password of its own. */
	bool is_superuser = pg::Call([] { return superuser(); });
	if (!is_superuser && password.empty())
		throw Error(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED, "password is required to connect to the source",
					"Non-superusers must give a password in their user mapping for server \"cutover_source\".",
					"Run `cutover init` (or SELECT migrate_source('... password=...')) as this role.");

	/* A dead network shows up while waiting, rather than never, unless the connection string says otherwise. */
	for (const auto &[key, value] : kKeepalives)
		if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
			keys.push_back(key);
			values.push_back(value);
		}
	keys.push_back("fallback_application_name");
	values.push_back("pg_cutover");
	keys.push_back("client_encoding");
	values.push_back(GetDatabaseEncodingName());

	std::vector<const char *> key_ptrs;
	std::vector<const char *> value_ptrs;
	for (size_t i = 0; i < keys.size(); i++) {
		key_ptrs.push_back(keys[i].c_str());
		value_ptrs.push_back(values[i].c_str());
	}
	key_ptrs.push_back(nullptr);
	value_ptrs.push_back(nullptr);

	PGconn *raw = PQconnectStartParams(key_ptrs.data(), value_ptrs.data(), 0);
	if (raw == nullptr)
		throw std::bad_alloc();
	SourceConnection conn(raw, password, keys, values);
	if (PQstatus(raw) == CONNECTION_BAD)
		conn.ThrowConnectError();

	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(connect_timeout);
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK) {
		if (status == PGRES_POLLING_FAILED)
			conn.ThrowConnectError();
		long left =
			std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0)
			throw Error(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
						"could not connect to the source server \"cutover_source\"",
						"No answer within " + std::to_string(connect_timeout) + " seconds.",
						"Check host and port of server cutover_source, or raise its connect_timeout option.");
		conn.WaitSocket(status == PGRES_POLLING_WRITING, left);
		status = PQconnectPoll(raw);
	}

	if (!is_superuser && !PQconnectionUsedPassword(raw))
		throw Error(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED, "password is required to connect to the source",
					"The source did not ask for the password of the user mapping.",
					"The source must authenticate non-superusers by password (md5 or scram-sha-256 in pg_hba.conf).");

	/* Names in the answers (format_type, reg* values) are printed as they are on the target: schema-qualified. */
	conn.Exec("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)");
	return conn;
}

namespace {

constexpr int kCancelSeconds = 5;

/* Waits until fd is ready or the deadline passes; plain poll(), usable while an error unwinds. */
bool
WaitReady(int fd, bool for_write, std::chrono::steady_clock::time_point deadline)
{
	for (;;) {
		long left =
			std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0 || fd < 0)
			return false;
		struct pollfd wait_for = {fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
		int rc = poll(&wait_for, 1, static_cast<int>(left));
		if (rc > 0)
			return true;
		if (rc == 0 || errno != EINTR)
			return false;
	}
}

/*
 * Cancels the query running on `link`'s connection within kCancelSeconds, whatever the network does. libpq
 * 15's PQcancel can wait forever (a connect and a read without timeouts), and a backend stuck there ignores
 * cancel and terminate requests; so the cancel goes through a second connection to the same source,
 * opened and used without ever blocking: SELECT pg_cancel_backend(pid). Plain libpq and poll(): safe in
 * destructors and in exit and abort callbacks.
 */
void
CancelWithin(const SourceLink &link)
{
	if (PQtransactionStatus(link.conn) != PQTRANS_ACTIVE)
		return;
	/* a backend the source already ended (pg_terminate_backend there) needs no cancel: reading shows it */
	if (!PQconsumeInput(link.conn) || PQstatus(link.conn) == CONNECTION_BAD)
		return;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kCancelSeconds);
	std::vector<const char *> keys, values;
	for (std::size_t i = 0; i < link.keys.size(); i++) {
		keys.push_back(link.keys[i].c_str());
		values.push_back(link.values[i].c_str());
	}
	keys.push_back(nullptr);
	values.push_back(nullptr);
	PGconn *cancel = PQconnectStartParams(keys.data(), values.data(), 0);
	if (cancel == nullptr)
		return;
	/* the source's warning for a backend that ended meanwhile would go to the server log without a prefix */
	PQsetNoticeProcessor(
		cancel, [](void *, const char *) {}, nullptr);
	PostgresPollingStatusType status =
		PQstatus(cancel) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
		if (!WaitReady(PQsocket(cancel), status == PGRES_POLLING_WRITING, deadline)) {
			status = PGRES_POLLING_FAILED;
			break;
		}
		status = PQconnectPoll(cancel);
	}
	std::string sql = "SELECT pg_catalog.pg_cancel_backend(" + std::to_string(PQbackendPID(link.conn)) + ")";
	if (status == PGRES_POLLING_OK && PQsendQuery(cancel, sql.c_str())) {
		while (PQisBusy(cancel) && WaitReady(PQsocket(cancel), false, deadline) && PQconsumeInput(cancel)) {
		}
		if (!PQisBusy(cancel))
			while (PGresult *result = PQgetResult(cancel))
				PQclear(result);
	}
	PQfinish(cancel);
}

/*
 * Every open source connection. A FATAL error (pg_terminate_backend) ends the process without unwinding C++
 * frames, so destructors do not run; the exit and abort callbacks below close what is left, cancelling a
 * query that still runs on the source, as postgres_fdw does for its connections. The links live on the heap,
 * owned by this list, so a callback never reads a C++ frame that is gone.
 */
std::vector<SourceLink *> open_links;

void
CancelAndClose(SourceLink *link)
{
	try {
		CancelWithin(*link);
	} catch (...) {
		/* out of memory while cancelling: closing is all that is left */
	}
	PQfinish(link->conn);
	delete link;
}

void
CloseAllConnections()
{
	while (!open_links.empty()) {
		SourceLink *link = open_links.back();
		open_links.pop_back();
		CancelAndClose(link);
	}
}

void
CloseConnectionsAtExit(int, Datum)
{
	CloseAllConnections();
}

void
CloseConnectionsAtAbort(XactEvent event, void *)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		CloseAllConnections();
}

void
Track(SourceLink *link)
{
	static bool hooks_registered = false;
	if (!hooks_registered) {
		pg::Call([] {
			before_shmem_exit(CloseConnectionsAtExit, 0);
			RegisterXactCallback(CloseConnectionsAtAbort, nullptr);
		});
		hooks_registered = true;
	}
	open_links.push_back(link);
}

} // namespace

SourceConnection::SourceConnection(PGconn *conn, std::string password, std::vector<std::string> keys,
								   std::vector<std::string> values)
	: conn_(conn), password_(std::move(password))
{
	try {
		link_ = new SourceLink{conn, std::move(keys), std::move(values)};
		Track(link_);
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
	auto it = std::find(open_links.begin(), open_links.end(), link_);
	if (it != open_links.end()) {
		open_links.erase(it);
		CancelAndClose(link_);
	}
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

using namespace pgc;

namespace {

DefElem *
MakeOption(const std::string &key, const std::string &value, DefElemAction action)
{
	return pg::Call([&] {
		DefElem *def = makeDefElem(
			pstrdup(key.c_str()),
			value.empty() && action == DEFELEM_DROP ? nullptr : (Node *) makeString(pstrdup(value.c_str())), -1);
		def->defaction = action;
		return def;
	});
}

List *
Append(List *list, DefElem *def)
{
	return pg::Call([&] { return lappend(list, def); });
}

/* Replaces every option of an existing server or user mapping: DROP each old one, then ADD each new one. */
List *
ReplaceOptions(List *current, const std::vector<std::pair<std::string, std::string>> &wanted)
{
	List *options = NIL;
	ListCell *cell;
	foreach (cell, current)
		options = Append(options, MakeOption(lfirst_node(DefElem, cell)->defname, "", DEFELEM_DROP));
	for (const auto &[key, value] : wanted)
		options = Append(options, MakeOption(key, value, DEFELEM_ADD));
	return options;
}

List *
NewOptions(const std::vector<std::pair<std::string, std::string>> &wanted)
{
	List *options = NIL;
	for (const auto &[key, value] : wanted)
		options = Append(options, MakeOption(key, value, DEFELEM_UNSPEC));
	return options;
}

RoleSpec *
CurrentUserSpec()
{
	return pg::Call([] {
		RoleSpec *role = makeNode(RoleSpec);
		role->roletype = ROLESPEC_CURRENT_USER;
		role->location = -1;
		return role;
	});
}

} // namespace

/*
 * migrate_source(conninfo text) -> text
 *
 * Records where the source is (server cutover_source + the current role's user mapping), connects once to
 * prove it, and says what it reached. Errors never repeat the connection string or the statement.
 */
PGC_FUNCTION(migrate_source)
{
	HideStatementOnError();
	text *conninfo_text = pg::Call([&] { return PG_GETARG_TEXT_PP(0); });
	char *conninfo = pg::Call([&] { return text_to_cstring(conninfo_text); });

	char *parse_error = nullptr;
	PQconninfoOption *parsed = PQconninfoParse(conninfo, &parse_error);
	if (parsed == nullptr) {
		/* libpq's message may quote part of the string, password included: say only what to fix. */
		PQfreemem(parse_error);
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid connection string for the source",
					"It is neither a list of key=value pairs nor a postgresql:// URI.",
					"Example: SELECT migrate_source('host=db.example.com port=5432 dbname=postgres user=postgres "
					"password=...');");
	}
	std::vector<std::pair<std::string, std::string>> server_options;
	std::vector<std::pair<std::string, std::string>> mapping_options;
	for (PQconninfoOption *opt = parsed; opt->keyword != nullptr; opt++) {
		if (opt->val == nullptr)
			continue;
		if (IsConnectionSetByExtension(opt->keyword)) {
			std::string keyword = opt->keyword;
			PQconninfoFree(parsed);
			throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
						"connection option \"" + keyword + "\" cannot be given for the source",
						"pg_cutover sets client_encoding to the target database's encoding and names itself "
						"\"pg_cutover\" unless application_name is given.",
						"Leave " + keyword + " out of the connection string.");
		}
		if (IsUserMappingOption(opt->keyword))
			mapping_options.emplace_back(opt->keyword, opt->val);
		else
			server_options.emplace_back(opt->keyword, opt->val);
	}
	PQconninfoFree(parsed);

	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr) {
		CreateForeignServerStmt *stmt = pg::Call([] { return makeNode(CreateForeignServerStmt); });
		stmt->servername = const_cast<char *>(kSourceServerName);
		stmt->fdwname = const_cast<char *>("postgres_fdw");
		stmt->options = NewOptions(server_options);
		pg::Call([&] { CreateForeignServer(stmt); });
	} else if (OptionPairs(server->options) != server_options) {
		/* Only a change needs the server's owner: other roles may add their own user mapping. */
		AlterForeignServerStmt *stmt = pg::Call([] { return makeNode(AlterForeignServerStmt); });
		stmt->servername = const_cast<char *>(kSourceServerName);
		stmt->options = ReplaceOptions(server->options, server_options);
		pg::Call([&] { AlterForeignServer(stmt); });
	}
	pg::Call([] { CommandCounterIncrement(); });

	server = pg::Call([] { return GetForeignServerByName(kSourceServerName, false); });
	Oid user_id = GetUserId();
	if (!HasUserMapping(user_id, server->serverid)) {
		CreateUserMappingStmt *stmt = pg::Call([] { return makeNode(CreateUserMappingStmt); });
		stmt->user = CurrentUserSpec();
		stmt->servername = const_cast<char *>(kSourceServerName);
		stmt->options = NewOptions(mapping_options);
		pg::Call([&] { CreateUserMapping(stmt); });
	} else {
		UserMapping *mapping = pg::Call([&] { return GetUserMapping(user_id, server->serverid); });
		AlterUserMappingStmt *stmt = pg::Call([] { return makeNode(AlterUserMappingStmt); });
		stmt->user = CurrentUserSpec();
		stmt->servername = const_cast<char *>(kSourceServerName);
		stmt->options = ReplaceOptions(mapping->options, mapping_options);
		pg::Call([&] { AlterUserMapping(stmt); });
	}
	pg::Call([] { CommandCounterIncrement(); });

	SourceConnection source = SourceConnection::Open();
	SourceResult result = source.Exec("SELECT pg_catalog.current_database(), current_user");
	std::string summary = "source \"cutover_source\" configured: database \"" +
						  std::string(PQgetvalue(result.get(), 0, 0)) + "\" as role \"" +
						  std::string(PQgetvalue(result.get(), 0, 1)) + "\" on PostgreSQL " +
						  std::to_string(source.ServerVersion() / 10000);
	PG_RETURN_TEXT_P(pg::Call([&] { return cstring_to_text(summary.c_str()); }));
}

namespace {

/* The SHA-256 of `text`, in lower-case hex. */
std::string
Sha256Hex(const std::string &text)
{
	uint8 digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *context = pg::Call([] { return pg_cryptohash_create(PG_SHA256); });
	bool ok = pg_cryptohash_init(context) == 0 &&
			  pg_cryptohash_update(context, reinterpret_cast<const uint8 *>(text.data()), text.size()) == 0 &&
			  pg_cryptohash_final(context, digest, sizeof digest) == 0;
	pg_cryptohash_free(context);
	if (!ok)
		throw Error(ERRCODE_INTERNAL_ERROR, "could not compute a SHA-256");
	static const char kHex[] = "0123456789abcdef";
	std::string hex;
	for (uint8 byte : digest) {
		hex += kHex[byte >> 4];
		hex += kHex[byte & 15];
	}
	return hex;
}

} // namespace

/*
 * migrate_source_differs(conninfo, password_sha256) -> text[]: the settings that differ between a connection
 * string and the source stored for the current role (the server's options and its user mapping), among host,
 * hostaddr, port, dbname, user and password; {} when none do, NULL when no source is stored. The password is
 * compared by its SHA-256 only, so that it is in no statement. A port left out is libpq's default.
 */
PGC_FUNCTION(migrate_source_differs)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	std::string conninfo = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
	std::optional<std::string> password_sha256;
	if (!PG_ARGISNULL(1))
		password_sha256 = pg::Call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });

	char *parse_error = nullptr;
	PQconninfoOption *parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
	if (parsed == nullptr) {
		PQfreemem(parse_error);
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid connection string for the source",
					"It is neither a list of key=value pairs nor a postgresql:// URI.");
	}
	std::map<std::string, std::string> given;
	for (PQconninfoOption *opt = parsed; opt->keyword != nullptr; opt++)
		if (opt->val != nullptr && opt->val[0] != '\0')
			given[opt->keyword] = opt->val;
	PQconninfoFree(parsed);

	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr)
		PG_RETURN_NULL();
	std::map<std::string, std::string> stored;
	for (auto &[key, value] : OptionPairs(server->options))
		stored[key] = value;
	Oid user_id = GetUserId();
	if (HasUserMapping(user_id, server->serverid) || HasUserMapping(InvalidOid, server->serverid)) {
		UserMapping *mapping = pg::Call([&] { return GetUserMapping(user_id, server->serverid); });
		for (auto &[key, value] : OptionPairs(mapping->options))
			stored[key] = value;
	}
	auto value = [](const std::map<std::string, std::string> &options, const std::string &key) {
		auto found = options.find(key);
		std::string setting = found != options.end() ? found->second : "";
		return key == "port" && setting.empty() ? std::string(DEF_PGPORT_STR) : setting;
	};
	std::vector<std::string> differ;
	for (const char *key : {"host", "hostaddr", "port", "dbname", "user"})
		if (value(given, key) != value(stored, key))
			differ.push_back(key);
	std::string stored_password = value(stored, "password");
	std::optional<std::string> stored_sha256;
	if (!stored_password.empty())
		stored_sha256 = Sha256Hex(stored_password);
	if (stored_sha256 != password_sha256)
		differ.push_back("password");

	PG_RETURN_ARRAYTYPE_P(pg::Call([&] {
		std::vector<Datum> items;
		for (const auto &name : differ)
			items.push_back(CStringGetTextDatum(name.c_str()));
		return construct_array(items.data(), static_cast<int>(items.size()), TEXTOID, -1, false, TYPALIGN_INT);
	}));
}
