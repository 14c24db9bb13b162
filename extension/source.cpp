/*
 * source.cpp: the SQL functions about the source itself: migrate_source() records where it is,
 * migrate_source_differs() compares a connection string with what is recorded, cutover.source_sequences()
 * reads its sequences. The connection they open is SourceConnection (source_connection.cpp).
 *
 * migrate_source(conninfo) splits a connection string the way postgres_fdw wants it: user, password and
 * client certificates go to the current role's user mapping (which only that role and superusers can read),
 * everything else to the foreign server cutover_source. The nodes are built in C++ and handed to the same
 * functions CREATE/ALTER SERVER and USER MAPPING use (pg/foreign.cpp), so the password is never part of any
 * SQL text.
 */
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pg/datum.hpp"
#include "pg/foreign.hpp"
#include "source.hpp"

using namespace pgc;

namespace {

/* Options of a connection string that belong in the user mapping rather than the server. */
bool
IsUserMappingOption(const std::string &keyword)
{
	return keyword == "user" || keyword == "password" || keyword == "sslcert" || keyword == "sslkey" ||
		   keyword == "sslpassword";
}

/*
 * The options a connection string sets, in libpq's order, or 22023 with `hint`: libpq's message may quote part
 * of the string, password included, so the error says only what to fix.
 */
pg::OptionList
ParseConnInfo(const char *conninfo, const std::string &hint)
{
	char *parse_error = nullptr;
	PQconninfoOption *parsed = PQconninfoParse(conninfo, &parse_error);
	if (parsed == nullptr) {
		PQfreemem(parse_error);
		throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid connection string for the source",
					"It is neither a list of key=value pairs nor a postgresql:// URI.", hint);
	}
	pg::OptionList options;
	for (PQconninfoOption *opt = parsed; opt->keyword != nullptr; opt++)
		if (opt->val != nullptr)
			options.emplace_back(opt->keyword, opt->val);
	PQconninfoFree(parsed);
	return options;
}

/* Splits a connection string's options between the server and the user mapping (see the top of the file). */
void
SplitConnInfo(const pg::OptionList &options, pg::OptionList &server_options, pg::OptionList &mapping_options)
{
	for (const auto &[keyword, value] : options) {
		if (IsConnectionSetByExtension(keyword))
			throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
						"connection option \"" + keyword + "\" cannot be given for the source",
						"pg_cutover sets client_encoding to the target database's encoding and names itself "
						"\"pg_cutover\" unless application_name is given.",
						"Leave " + keyword + " out of the connection string.");
		if (IsUserMappingOption(keyword))
			mapping_options.emplace_back(keyword, value);
		else
			server_options.emplace_back(keyword, value);
	}
}

/* Creates server cutover_source with `options`, or gives it these options if it has others. */
void
StoreServer(const pg::OptionList &options)
{
	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr)
		pg::CreateServer(kSourceServerName, "postgres_fdw", options);
	else if (pg::OptionPairs(server->options) != options)
		/* Only a change needs the server's owner: other roles may add their own user mapping. */
		pg::ReplaceServerOptions(server, options);
	pg::Call([] { CommandCounterIncrement(); });
}

/* Creates the current role's user mapping for server cutover_source with `options`, or replaces its options. */
void
StoreUserMapping(const pg::OptionList &options)
{
	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, false); });
	Oid user_id = GetUserId();
	if (!pg::HasUserMapping(user_id, server->serverid)) {
		pg::CreateCurrentUserMapping(kSourceServerName, options);
	} else {
		UserMapping *mapping = pg::Call([&] { return GetUserMapping(user_id, server->serverid); });
		pg::ReplaceCurrentUserMappingOptions(kSourceServerName, mapping, options);
	}
	pg::Call([] { CommandCounterIncrement(); });
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

	pg::OptionList server_options;
	pg::OptionList mapping_options;
	SplitConnInfo(ParseConnInfo(conninfo, "Example: SELECT migrate_source('host=db.example.com port=5432 "
										  "dbname=postgres user=postgres password=...');"),
				  server_options, mapping_options);
	StoreServer(server_options);
	StoreUserMapping(mapping_options);

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

	std::map<std::string, std::string> given;
	for (const auto &[key, value] : ParseConnInfo(conninfo.c_str(), ""))
		if (!value.empty())
			given[key] = value;

	ForeignServer *server = pg::Call([] { return GetForeignServerByName(kSourceServerName, true); });
	if (server == nullptr)
		PG_RETURN_NULL();
	std::map<std::string, std::string> stored;
	for (auto &[key, value] : pg::OptionPairs(server->options))
		stored[key] = value;
	Oid user_id = GetUserId();
	if (pg::HasUserMapping(user_id, server->serverid) || pg::HasUserMapping(InvalidOid, server->serverid)) {
		UserMapping *mapping = pg::Call([&] { return GetUserMapping(user_id, server->serverid); });
		for (auto &[key, value] : pg::OptionPairs(mapping->options))
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

/* cutover.source_sequences() -> setof (schema_name, sequence_name, last_value): the source's sequences. */
PGC_FUNCTION(source_sequences)
{
	SourceConnection source = SourceConnection::Open();
	SourceResult result = source.Exec("SELECT schemaname::text, sequencename::text, last_value FROM "
									  "pg_catalog.pg_sequences ORDER BY 1, 2");
	pg::ResultSet set(fcinfo);
	for (int row = 0; row < PQntuples(result.get()); row++) {
		bool no_value = PQgetisnull(result.get(), row, 2);
		int64_t last_value = no_value ? 0 : std::stoll(PQgetvalue(result.get(), row, 2));
		Datum values[3] = {pg::TextDatum(PQgetvalue(result.get(), row, 0)),
						   pg::TextDatum(PQgetvalue(result.get(), row, 1)), Int64GetDatum(last_value)};
		bool nulls[3] = {false, false, no_value};
		set.Add(values, nulls);
	}
	return Datum(0);
}
