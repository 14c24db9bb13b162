/*
 * pg.cpp: libpq for the client.
 */
#include "pg.hpp"

#include <cstdlib>
#include <cstring>

#include "output.hpp"

namespace cutover::pg {

namespace {

/* libpq's messages end with a newline; the first line is the message. */
std::string
Trim(const char *text)
{
	std::string out = text != nullptr ? text : "";
	while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
		out.pop_back();
	return out;
}

std::vector<const char *>
Pointers(const Params &params)
{
	std::vector<const char *> values;
	values.reserve(params.size());
	for (const auto &param : params)
		values.push_back(param ? param->c_str() : nullptr);
	return values;
}

/*
 * Notices and warnings of the server go through Output (the log file, --quiet), not straight to stderr; and
 * into `kept` (a std::vector<std::string>) while Connection::KeepNotices gives one.
 */
void
ReceiveNotice(void *kept, const PGresult *result)
{
	const char *severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
	std::string text = message != nullptr ? message : "";
	if (kept != nullptr)
		static_cast<std::vector<std::string> *>(kept)->push_back(text);
	if (severity != nullptr && std::strcmp(severity, "WARNING") == 0)
		Out().Warn(text);
	else
		Out().Event("server notice", {{"message", text}});
}

} // namespace

std::string
Result::Name(int column) const
{
	return PQfname(result_.get(), column);
}

std::string
Result::Text(int row, int column) const
{
	return IsNull(row, column) ? std::string() : std::string(PQgetvalue(result_.get(), row, column));
}

std::optional<std::string>
Result::Optional(int row, int column) const
{
	if (IsNull(row, column))
		return std::nullopt;
	return std::string(PQgetvalue(result_.get(), row, column));
}

long long
Result::Int(int row, int column) const
{
	return IsNull(row, column) ? 0 : std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

bool
Result::Bool(int row, int column) const
{
	return !IsNull(row, column) && PQgetvalue(result_.get(), row, column)[0] == 't';
}

Connection
Connection::Open(const std::string &conninfo, const std::string &what)
{
	/*
	 * Parsed first: libpq's errors about a malformed string quote the part they choke on, which may be the
	 * password; and a password that parses is registered, so that no output can ever show it.
	 */
	if (!conninfo.empty()) {
		char *message = nullptr;
		PQconninfoOption *options = PQconninfoParse(conninfo.c_str(), &message);
		if (options == nullptr) {
			/* a bad setting, as a bad flag: exit code 2, nothing done */
			PQfreemem(message);
			throw std::invalid_argument(
				"the " + what + " connection string is not valid (it is not repeated here: it may hold a password)" +
				"\nhint: Check its syntax; in a URI, characters such as % @ : / in the password must be "
				"percent-encoded.");
		}
		for (PQconninfoOption *option = options; option->keyword != nullptr; option++)
			if (option->val != nullptr && std::strcmp(option->keyword, "password") == 0)
				Out().AddSecret(option->val);
		PQconninfoFree(options);
	}
	if (const char *password = std::getenv("PGPASSWORD"))
		Out().AddSecret(password);

	/* expand_dbname: a URI or key=value string; application_name unless the caller set one */
	const char *keys[] = {"dbname", "fallback_application_name", "client_encoding", nullptr};
	const char *values[] = {conninfo.c_str(), "cutover", "UTF8", nullptr};
	PGconn *raw = PQconnectdbParams(keys, values, 1);
	if (raw == nullptr)
		throw Error("08001", "out of memory connecting to the " + what);
	Connection conn(raw, what);
	PQsetNoticeReceiver(raw, &ReceiveNotice, nullptr);
	if (PQstatus(raw) != CONNECTION_OK)
		throw Error("08001", "could not connect to the " + what + " database: " + Trim(PQerrorMessage(raw)), "",
					what == "source" ? "Set CUTOVER_SOURCE_URL (or --source) to the source database."
									 : "Set the PG* environment variables (or --target) to the target database.");
	conn.cancel_ = std::make_unique<CancelOnInterrupt>(raw);
	conn.Exec("SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
			  "SET extra_float_digits = 3");
	return conn;
}

Error
Connection::ErrorOf(const PGresult *result) const
{
	auto field = [&](int code) {
		const char *value = result != nullptr ? PQresultErrorField(result, code) : nullptr;
		return std::string(value != nullptr ? value : "");
	};
	std::string sqlstate = field(PG_DIAG_SQLSTATE);
	std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
	if (message.empty())
		message = Trim(PQerrorMessage(conn_.get()));
	if (sqlstate.empty())
		sqlstate = PQstatus(conn_.get()) == CONNECTION_BAD ? "08006" : "XX000";
	return Error(sqlstate, "on the " + what_ + ": " + message, field(PG_DIAG_MESSAGE_DETAIL),
				 field(PG_DIAG_MESSAGE_HINT));
}

void
Connection::RefuseIfInterrupted() const
{
	if (cancel_ != nullptr && Interrupted())
		throw InterruptedError("interrupted (" + InterruptName() + "): no new statement on the " + what_);
}

void
Connection::KeepOnInterrupt()
{
	cancel_.reset();
}

void
Connection::KeepNotices(std::vector<std::string> *into) const
{
	PQsetNoticeReceiver(raw(), &ReceiveNotice, into);
}

Result
Connection::Exec(const std::string &sql, const Params &params) const
{
	Send(sql, params);
	/* as PQexec: the last result, or the first error (several statements in one string run in turn) */
	PGresult *kept = nullptr;
	while (PGresult *next = PQgetResult(conn_.get())) {
		ExecStatusType status = PQresultStatus(next);
		bool kept_failed =
			kept != nullptr && PQresultStatus(kept) != PGRES_COMMAND_OK && PQresultStatus(kept) != PGRES_TUPLES_OK;
		if (kept_failed) {
			PQclear(next);
		} else {
			PQclear(kept);
			kept = next;
		}
		if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
			break; /* not a statement for Exec: the error below says so */
	}
	Result result(kept);
	ExecStatusType status = PQresultStatus(kept);
	if (kept == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK))
		throw ErrorOf(kept);
	return result;
}

void
Connection::Send(const std::string &sql, const Params &params) const
{
	RefuseIfInterrupted();
	std::vector<const char *> values = Pointers(params);
	int sent = params.empty() ? PQsendQuery(conn_.get(), sql.c_str())
							  : PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
												  values.data(), nullptr, nullptr, 0);
	if (!sent)
		throw ErrorOf(nullptr);
	/* a signal between the check and the send found nothing to cancel: this statement is cancelled now */
	if (cancel_ != nullptr && Interrupted())
		Cancel();
}

bool
Connection::Busy() const
{
	if (!PQconsumeInput(conn_.get()))
		throw ErrorOf(nullptr);
	return PQisBusy(conn_.get()) != 0;
}

Result
Connection::Drain() const
{
	PGresult *first = nullptr;
	while (PGresult *next = PQgetResult(conn_.get())) {
		if (first == nullptr)
			first = next;
		else
			PQclear(next);
	}
	return Result(first);
}

Result
Connection::Finish() const
{
	Result result = Drain();
	ExecStatusType status = PQresultStatus(result.raw());
	if (result.raw() == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK))
		throw ErrorOf(result.raw());
	return result;
}

void
Connection::StartCopy(const std::string &sql) const
{
	Send(sql);
	Result started(PQgetResult(conn_.get()));
	ExecStatusType status = PQresultStatus(started.raw());
	if (status != PGRES_COPY_OUT && status != PGRES_COPY_IN) {
		Drain(); /* what follows the error, so that the connection takes the next statement */
		throw ErrorOf(started.raw());
	}
}

bool
Connection::NextCopyLine(CopyLine &line) const
{
	char *buffer = nullptr;
	int len = PQgetCopyData(conn_.get(), &buffer, 0);
	line.buffer_.reset(buffer);
	if (len == -1) {
		Finish(); /* the COPY's own result: throws if it failed */
		return false;
	}
	if (len < 0)
		throw ErrorOf(nullptr);
	line.text_ = std::string_view(buffer, static_cast<std::size_t>(len));
	if (!line.text_.empty() && line.text_.back() == '\n')
		line.text_.remove_suffix(1);
	return true;
}

void
Connection::PutCopyData(std::string &data) const
{
	if (!data.empty() && PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) != 1)
		throw ErrorOf(nullptr);
	data.clear();
}

std::optional<std::string>
Connection::EndCopy() const
{
	if (PQputCopyEnd(conn_.get(), nullptr) != 1)
		throw ErrorOf(nullptr);
	Result copied = Drain();
	if (PQresultStatus(copied.raw()) == PGRES_COMMAND_OK)
		return std::nullopt;
	return std::string(PQresultErrorMessage(copied.raw()));
}

void
Connection::AbortCopy(const std::string &reason) const
{
	PQputCopyEnd(conn_.get(), reason.c_str());
	Drain();
}

bool
Connection::Copying() const
{
	return PQtransactionStatus(conn_.get()) == PQTRANS_ACTIVE;
}

void
Connection::Cancel() const
{
	if (PGcancel *cancel = PQgetCancel(conn_.get())) {
		char message[256];
		PQcancel(cancel, message, sizeof message);
		PQfreeCancel(cancel);
	}
}

std::string
QuoteLiteral(const Connection &conn, const std::string &value)
{
	char *quoted = PQescapeLiteral(conn.raw(), value.c_str(), value.size());
	if (quoted == nullptr)
		throw Error("22021", "could not quote a value: " + Trim(PQerrorMessage(conn.raw())));
	std::string out = quoted;
	PQfreemem(quoted);
	return out;
}

std::string
QuoteIdentifier(const Connection &conn, const std::string &name)
{
	char *quoted = PQescapeIdentifier(conn.raw(), name.c_str(), name.size());
	if (quoted == nullptr)
		throw Error("22021", "could not quote a name: " + Trim(PQerrorMessage(conn.raw())));
	std::string out = quoted;
	PQfreemem(quoted);
	return out;
}

std::string
QuoteQualified(const Connection &conn, const std::string &schema, const std::string &name)
{
	return QuoteIdentifier(conn, schema) + "." + QuoteIdentifier(conn, name);
}

} // namespace cutover::pg
