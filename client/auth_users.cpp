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

/* The source's auth schema as this client reads it; older Supabase schemas lack some columns. */
struct AuthSchema {
	std::string users_columns;	/* the columns of auth.users read, as text; those missing as NULL or false */
	std::string digest_columns; /* the same columns as they are, for hashing */
	bool bans = true;			/* auth.users.banned_until exists */
	bool provider_id = true;	/* auth.identities.provider_id exists (before 2023 the subject was the text id) */
	bool record_hashes = true;	/* PostgreSQL 14 or later: hash_record_extended and bit_xor */
};

AuthSchema
ReadAuthSchema(const pg::Connection &source)
{
	pg::Result columns =
		source.Exec("SELECT table_name::text || '.' || column_name::text FROM information_schema.columns "
					"WHERE table_schema = 'auth' AND table_name IN ('users', 'identities')");
	std::set<std::string> present;
	for (int row = 0; row < columns.Rows(); row++)
		present.insert(columns.Text(row, 0));
	if (present.count("users.id") == 0)
		throw pg::Error("42P01", "on the source: table auth.users does not exist or cannot be read", "",
						"Connect to the Supabase database as a role that can read the auth schema (postgres).");
	AuthSchema schema;
	for (const char *name : {"id", "email", "encrypted_password", "email_confirmed_at", "phone", "phone_confirmed_at",
							 "raw_user_meta_data", "raw_app_meta_data", "created_at", "last_sign_in_at", "banned_until",
							 "deleted_at", "is_sso_user", "is_anonymous"}) {
		bool flag = std::string(name).rfind("is_", 0) == 0;
		bool there = present.count(std::string("users.") + name) != 0;
		std::string separator = schema.users_columns.empty() ? "" : ", ";
		schema.users_columns +=
			separator + (!there ? (flag ? "false" : "NULL") : "u." + std::string(name) + (flag ? "" : "::text"));
		schema.digest_columns += separator + (!there ? (flag ? "false" : "NULL::text") : "u." + std::string(name));
	}
	schema.bans = present.count("users.banned_until") != 0;
	schema.provider_id = present.count("identities.provider_id") != 0;
	schema.record_hashes = PQserverVersion(source.raw()) >= 140000;
	return schema;
}

/*
 * Each user's ID and digest: a hash of its row as read, whether its ban is still on, and its identities; for a
 * user whose email (lowercased and trimmed) others share, a hash of the digests of them all, so that a change
 * to one of them is a change to all (the collisions settle their plans together), and that email. Hashes of
 * the values as stored (hash_record_extended, 64 bits: a changed user goes unnoticed once in 2^64), no text
 * made; before PostgreSQL 14 no digest at all ('': every user planned).
 */
std::string
DigestsQuery(const AuthSchema &schema)
{
	if (!schema.record_hashes)
		return "SELECT u.id::text, '', NULL FROM auth.users AS u";
	std::string subject = schema.provider_id ? "i.provider_id" : "i.id::text";
	return "WITH i AS (SELECT i.user_id, pg_catalog.bit_xor(pg_catalog.hash_record_extended(ROW(i.provider, " +
		   subject +
		   ", i.identity_data, i.last_sign_in_at, i.created_at), 0)) AS t FROM auth.identities AS i GROUP BY "
		   "i.user_id), "
		   "r AS (SELECT u.id, pg_catalog.hash_record_extended(ROW(" +
		   schema.digest_columns + ", " + (schema.bans ? "u.banned_until > pg_catalog.now()" : "false") +
		   ", i.t), 0) AS d, NULLIF(pg_catalog.lower(pg_catalog.btrim(u.email::text)), '') AS e "
		   "FROM auth.users AS u LEFT JOIN i ON i.user_id = u.id), "
		   "g AS (SELECT r.e, pg_catalog.hash_record_extended(ROW(pg_catalog.bit_xor(r.d), pg_catalog.count(*)), 0) AS "
		   "d "
		   "FROM r WHERE r.e IS NOT NULL GROUP BY r.e HAVING pg_catalog.count(*) > 1) "
		   "SELECT r.id::text, coalesce(g.d, r.d)::text, g.e FROM r LEFT JOIN g ON g.e = r.e";
}

/* `sql` on auth.users; a role the table's row-level security hides rows from is told which role to use. */
pg::Result
SelectUsers(const pg::Connection &source, const std::string &sql, const pg::Params &params = {})
{
	try {
		return source.Exec(sql, params);
	} catch (const pg::Error &error) {
		if (error.sqlstate() != "42501")
			throw;
		throw pg::Error(error.sqlstate(), error.what(), error.detail(),
						"Connect to the source (CUTOVER_SOURCE_URL) as a role that may read auth.users whole: "
						"Supabase's postgres, or a role with BYPASSRLS and SELECT on the auth schema.");
	}
}

/* `ids` as a uuid[] parameter, or none for every user. */
std::string
IdsFilter(const char *column, const std::optional<std::set<std::string>> &ids, pg::Params &params)
{
	if (!ids)
		return "";
	params.emplace_back(pg::ArrayLiteral(std::vector<std::optional<std::string>>(ids->begin(), ids->end())));
	return std::string(" WHERE ") + column + " = ANY ($1::uuid[])";
}

void
ReadUsers(const pg::Connection &source, const AuthSchema &schema, const std::optional<std::set<std::string>> &ids,
		  std::vector<SupabaseUser> &out)
{
	pg::Params params;
	std::string filter = IdsFilter("u.id", ids, params);
	pg::Result users = SelectUsers(
		source, "SELECT " + schema.users_columns + " FROM auth.users AS u" + filter + " ORDER BY u.id", params);
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
ReadIdentities(const pg::Connection &source, const AuthSchema &schema, const std::optional<std::set<std::string>> &ids,
			   std::map<std::string, std::vector<SupabaseIdentity>> &out)
{
	pg::Params params;
	std::string filter = IdsFilter("i.user_id", ids, params);
	pg::Result identities = source.Exec(
		std::string("SELECT i.user_id::text, i.provider, ") + (schema.provider_id ? "i.provider_id" : "i.id::text") +
			", i.identity_data::text, i.identity_data->>'email' FROM auth.identities AS i" + filter +
			" ORDER BY i.user_id, i.last_sign_in_at DESC NULLS LAST, i.created_at DESC NULLS LAST",
		params);
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
ReadSourceUsers(const pg::Connection &source, const UserSelection &select)
{
	SourceUsers out;
	/* one snapshot for both tables and both reads */
	source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	/* auth.users has row-level security: a role it applies to must get an error, not zero users */
	source.Exec("SET LOCAL row_security = off");
	AuthSchema schema = ReadAuthSchema(source);
	pg::Result digests = SelectUsers(source, DigestsQuery(schema));
	std::multimap<std::string, std::string> shared; /* an email several users have -> each of them */
	for (int row = 0; row < digests.Rows(); row++) {
		out.digests.emplace(digests.Text(row, 0), digests.Text(row, 1));
		if (!digests.IsNull(row, 2))
			shared.emplace(digests.Text(row, 2), digests.Text(row, 0));
	}
	std::optional<std::set<std::string>> ids = select(out.digests);
	if (ids) {
		/* a user planned with all those sharing its email, or the collisions would be settled without them */
		std::set<std::string> emails;
		for (const auto &[email, id] : shared)
			if (ids->count(id) != 0)
				emails.insert(email);
		for (const auto &[email, id] : shared)
			if (emails.count(email) != 0)
				ids->insert(id);
	}
	if (!ids || !ids->empty()) {
		ReadUsers(source, schema, ids, out.users);
		ReadIdentities(source, schema, ids, out.identities);
	}
	source.Exec("COMMIT");
	return out;
}

} // namespace cutover
