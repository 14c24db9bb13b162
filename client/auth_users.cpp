/*
 * auth_users.cpp: Supabase's auth.users and auth.identities read from the source, in one snapshot, as the
 * rows supabase_user.hpp plans. Older Supabase schemas lack some columns; those read as NULL.
 */
#include "auth_users.hpp"

#include <optional>
#include <set>
#include <utility>

namespace cutover {

namespace {

using nlohmann::json;

json
ParseJsonColumn(const std::optional<std::string> &text)
{
	if (!text)
		return json();
	return json::parse(*text, nullptr, false);
}

/* The columns of auth.users this client reads; older Supabase schemas lack some, which read as NULL. */
std::string
UsersQuery(const pg::Connection &source)
{
	pg::Result columns = source.Exec("SELECT column_name::text FROM information_schema.columns "
									 "WHERE table_schema = 'auth' AND table_name = 'users'");
	std::set<std::string> present;
	for (int row = 0; row < columns.Rows(); row++)
		present.insert(columns.Text(row, 0));
	if (present.empty())
		throw pg::Error("42P01", "on the source: table auth.users does not exist or cannot be read", "",
						"Connect to the Supabase database as a role that can read the auth schema (postgres).");
	auto column = [&](const std::string &name, const std::string &fallback) {
		return present.count(name) != 0 ? "u." + name + (fallback == "NULL" ? "::text" : "") : fallback;
	};
	return "SELECT u.id::text, u.email::text, u.encrypted_password::text, " + column("email_confirmed_at", "NULL") +
		   ", u.phone::text, " + column("phone_confirmed_at", "NULL") +
		   ", u.raw_user_meta_data::text, u.raw_app_meta_data::text, u.created_at::text, u.last_sign_in_at::text, " +
		   column("banned_until", "NULL") + ", " + column("deleted_at", "NULL") + ", " +
		   column("is_sso_user", "false") + ", " + column("is_anonymous", "false") +
		   " FROM auth.users AS u ORDER BY u.id";
}

/* The rows of auth.users; a role the table's row-level security hides rows from is told which role to use. */
pg::Result
SelectUsers(const pg::Connection &source)
{
	try {
		return source.Exec(UsersQuery(source));
	} catch (const pg::Error &error) {
		if (error.sqlstate() != "42501")
			throw;
		throw pg::Error(error.sqlstate(), error.what(), error.detail(),
						"Connect to the source (CUTOVER_SOURCE_URL) as a role that may read auth.users whole: "
						"Supabase's postgres, or a role with BYPASSRLS and SELECT on the auth schema.");
	}
}

void
ReadUsers(const pg::Connection &source, std::vector<SupabaseUser> &out)
{
	pg::Result users = SelectUsers(source);
	for (int row = 0; row < users.Rows(); row++) {
		SupabaseUser user;
		user.id = users.Text(row, 0);
		user.email = users.Optional(row, 1);
		user.encrypted_password = users.Optional(row, 2);
		user.email_confirmed_at = users.Optional(row, 3);
		user.phone = users.Optional(row, 4);
		user.phone_confirmed_at = users.Optional(row, 5);
		user.raw_user_meta_data = ParseJsonColumn(users.Optional(row, 6));
		user.raw_app_meta_data = ParseJsonColumn(users.Optional(row, 7));
		user.created_at = users.Optional(row, 8);
		user.last_sign_in_at = users.Optional(row, 9);
		user.banned_until = users.Optional(row, 10);
		user.deleted_at = users.Optional(row, 11);
		user.is_sso_user = users.Bool(row, 12);
		user.is_anonymous = users.Bool(row, 13);
		out.push_back(std::move(user));
	}
}

void
ReadIdentities(const pg::Connection &source, std::map<std::string, std::vector<SupabaseIdentity>> &out)
{
	/* before 2023 the provider's subject was the text column id, now provider_id */
	bool has_provider_id = source
							   .Exec("SELECT 1 FROM information_schema.columns WHERE table_schema = 'auth' "
									 "AND table_name = 'identities' AND column_name = 'provider_id'")
							   .Rows() > 0;
	pg::Result identities = source.Exec(
		std::string("SELECT i.user_id::text, i.provider, ") + (has_provider_id ? "i.provider_id" : "i.id::text") +
		", i.identity_data::text, i.identity_data->>'email' FROM auth.identities AS i "
		"ORDER BY i.user_id, i.last_sign_in_at DESC NULLS LAST, i.created_at DESC NULLS LAST");
	for (int row = 0; row < identities.Rows(); row++) {
		SupabaseIdentity identity;
		identity.provider = identities.Text(row, 1);
		identity.provider_id = identities.Text(row, 2);
		identity.identity_data = ParseJsonColumn(identities.Optional(row, 3));
		identity.email = identities.Optional(row, 4);
		out[identities.Text(row, 0)].push_back(std::move(identity));
	}
}

} // namespace

SourceUsers
ReadSourceUsers(const pg::Connection &source)
{
	SourceUsers out;
	/* one snapshot for both tables */
	source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	/* auth.users has row-level security: a role it applies to must get an error, not zero users */
	source.Exec("SET LOCAL row_security = off");
	ReadUsers(source, out.users);
	ReadIdentities(source, out.identities);
	source.Exec("COMMIT");
	return out;
}

} // namespace cutover
