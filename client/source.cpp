/*
 * source.cpp: the source's settings, read without the target's PG* variables and compared with the ones the
 * target stores.
 */
#include "source.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "output.hpp"
#include "json_values.hpp"
#include "sha256.hpp"
#include "text.hpp"

namespace cutover {

namespace {

/* The variables that name a server, a database or a role (and what runs in it): the target's. */
constexpr const char *kTargetVariables[] = {"PGHOST",	 "PGHOSTADDR", "PGPORT",	"PGDATABASE",		   "PGUSER",
											"PGSERVICE", "PGOPTIONS",  "PGAPPNAME", "PGTARGETSESSIONATTRS"};

/* The variables above unset while it lives, set back after (the client has one thread). */
class WithoutTargetVariables
{
  public:
	WithoutTargetVariables()
	{
		for (const char *name : kTargetVariables)
			if (const char *value = std::getenv(name)) {
				saved_.emplace_back(name, value);
				unsetenv(name);
			}
	}
	~WithoutTargetVariables()
	{
		for (const auto &[name, value] : saved_)
			setenv(name.c_str(), value.c_str(), 1);
	}
	WithoutTargetVariables(const WithoutTargetVariables &) = delete;
	WithoutTargetVariables &operator=(const WithoutTargetVariables &) = delete;

  private:
	std::vector<std::pair<std::string, std::string>> saved_;
};

using Options = std::map<std::string, std::string>;

/* The settings a string gives (empty when it does not parse: pg::Connection::Open says why). */
Options
Parse(const std::string &conninfo)
{
	Options options;
	PQconninfoOption *parsed = PQconninfoParse(conninfo.c_str(), nullptr);
	if (parsed == nullptr)
		return options;
	for (PQconninfoOption *option = parsed; option->keyword != nullptr; option++)
		if (option->val != nullptr && option->val[0] != '\0')
			options[option->keyword] = option->val;
	PQconninfoFree(parsed);
	return options;
}

/* `key='value'`, quoted as libpq reads it. */
std::string
Setting(const std::string &key, const std::string &value)
{
	std::string out = key + "='";
	for (char ch : value) {
		if (ch == '\'' || ch == '\\')
			out += '\\';
		out += ch;
	}
	return out + "' ";
}

/* Which server, database and role: the settings compared (the password apart). */
std::string
Identity(const Options &options)
{
	std::string out;
	for (const char *key : {"host", "hostaddr", "port", "dbname", "user"}) {
		auto found = options.find(key);
		if (found != options.end())
			out += Setting(key, found->second);
	}
	return out;
}

/* The settings libpq used for a live connection, without the ones it took from its compiled defaults. */
Options
Used(const pg::Connection &source)
{
	Options options;
	std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> used(PQconninfo(source.raw()), &PQconninfoFree);
	for (PQconninfoOption *option = used.get(); option != nullptr && option->keyword != nullptr; option++) {
		if (option->val == nullptr || option->val[0] == '\0')
			continue;
		if (option->compiled != nullptr && std::strcmp(option->compiled, option->val) == 0)
			continue;
		options[option->keyword] = option->val;
	}
	/* a password from ~/.pgpass is the connected host's, which PQpass reads */
	if (const char *password = PQpass(source.raw()); password != nullptr && password[0] != '\0') {
		Out().AddSecret(password); /* from ~/.pgpass too: never printed */
		options["password"] = password;
	} else
		options.erase("password");
	/* the extension sets these itself; a service and a password file are expanded above */
	for (const char *key : {"client_encoding", "fallback_application_name", "service", "passfile", "servicefile"})
		options.erase(key);
	return options;
}

/* migrate_source_differs: the settings that differ, or std::nullopt when the target stores no source. */
std::optional<std::vector<std::string>>
Differences(const pg::Connection &target, const std::string &identity, const std::optional<std::string> &password)
{
	std::optional<std::string> sha256;
	if (password && !password->empty())
		sha256 = Sha256Hex(*password);
	pg::Result result = target.Exec("SELECT migrate_source_differs($1, $2)", {identity, sha256});
	if (result.IsNull(0, 0))
		return std::nullopt;
	return ValueJson(result.Type(0), result.Optional(0, 0)).get<std::vector<std::string>>();
}

void
RequireSame(const std::optional<std::vector<std::string>> &differ)
{
	if (!differ)
		throw std::invalid_argument("the target stores no source for this role: run `cutover init` (with "
									"CUTOVER_SOURCE_URL set to the source) first");
	if (differ->empty())
		return;
	std::string names = Join(*differ, ", ");
	throw std::invalid_argument(
		"the source in CUTOVER_SOURCE_URL (or --source) is not the one the target stores: they differ in " + names +
		"\nhint: Run `cutover init` to store this one (after a password change, for instance), or set "
		"CUTOVER_SOURCE_URL to the source stored.");
}

/* A source string names its server, database and role itself, or a service that does. */
void
RequireNamed(const Options &given)
{
	if (given.empty() || given.count("service") != 0)
		return;
	std::string missing;
	if (given.count("host") == 0 && given.count("hostaddr") == 0)
		missing += "host";
	for (const char *key : {"dbname", "user"})
		if (given.count(key) == 0)
			missing += (missing.empty() ? "" : ", ") + std::string(key);
	if (!missing.empty())
		throw std::invalid_argument(
			"the source connection string (CUTOVER_SOURCE_URL or --source) does not name its " + missing +
			"\nhint: Give host, dbname and user in it (postgresql://user@host:port/dbname, or host=... dbname=... "
			"user=...): the PG* variables are the target's and are not read for the source. The password may be "
			"in it, in PGPASSWORD or in ~/.pgpass.");
}

} // namespace

pg::Connection
ConnectSource(const std::string &conninfo)
{
	if (conninfo.empty())
		throw std::invalid_argument("no source database: set CUTOVER_SOURCE_URL (or pass --source) to a connection "
									"string or URI naming its host, dbname and user");
	RequireNamed(Parse(conninfo));
	WithoutTargetVariables hidden;
	return pg::Connection::Open(conninfo, "source");
}

std::string
StoredSourceSettings(const pg::Connection &source)
{
	std::string out;
	for (const auto &[key, value] : Used(source))
		out += Setting(key, value);
	return out;
}

pg::Connection
ConnectStoredSource(const pg::Connection &target, const std::string &conninfo)
{
	/* a password given is compared before connecting: a wrong one is told as such, not as a refusal */
	Options given = Parse(conninfo);
	RequireNamed(given);
	std::optional<std::string> password;
	if (given.count("password") != 0)
		password = given["password"];
	else if (const char *variable = std::getenv("PGPASSWORD"))
		password = variable;
	bool early = password && given.count("service") == 0;
	if (early && !given.empty())
		RequireSame(Differences(target, Identity(given), password));
	pg::Connection source = ConnectSource(conninfo);
	if (!early) {
		Options used = Used(source);
		auto found = used.find("password");
		RequireSame(Differences(target, Identity(used),
								found != used.end() ? std::optional<std::string>(found->second) : std::nullopt));
	}
	return source;
}

} // namespace cutover
