/*
 * supabase_user.cpp: a Supabase Auth user mapped to a Stack Auth create body, step by step (kind, email,
 * password, what the kind becomes, profile, OAuth accounts, metadata). The email collisions between users are
 * resolved in email_collisions.cpp, the timestamps read in timestamptz.cpp.
 */
#include "supabase_user.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "text.hpp"

namespace cutover {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxDisplayName = 256;		 /* UTF-16 code units, Stack Auth's userDisplayNameSchema */
constexpr std::size_t kMaxProfileImageUrl = 1000000; /* characters, Stack Auth's profileImageUrlSchema */

bool
StartsWith(std::string_view s, std::string_view prefix)
{
	return s.substr(0, prefix.size()) == prefix;
}

bool
StartsWithIgnoringCase(std::string_view s, std::string_view prefix)
{
	if (s.size() < prefix.size())
		return false;
	for (std::size_t i = 0; i < prefix.size(); i++) {
		char a = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
		if (a != prefix[i])
			return false;
	}
	return true;
}

/*
 * The length in bytes of the UTF-8 sequence starting with `lead`, or 0 for a continuation byte or an invalid
 * lead. Input here comes from json strings, which nlohmann has already checked to be UTF-8.
 */
std::size_t
Utf8SequenceLength(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if ((lead & 0xE0) == 0xC0)
		return 2;
	if ((lead & 0xF0) == 0xE0)
		return 3;
	if ((lead & 0xF8) == 0xF0)
		return 4;
	return 0;
}

/*
 * The longest prefix of `s` that is at most `max_units` UTF-16 code units long (a code point above U+FFFF
 * counts two, as in a JavaScript string's length), ending at a code point boundary; `units` receives the
 * length of all of `s` in UTF-16 code units.
 */
std::string_view
Utf16Prefix(std::string_view s, std::size_t max_units, std::size_t &units)
{
	std::size_t cut = std::string_view::npos;
	units = 0;
	for (std::size_t i = 0; i < s.size();) {
		std::size_t length = Utf8SequenceLength(static_cast<unsigned char>(s[i]));
		if (length == 0)
			length = 1; /* not UTF-8: counted as one unit, never split further */
		std::size_t width = length == 4 ? 2 : 1;
		if (cut == std::string_view::npos && units + width > max_units)
			cut = i;
		units += width;
		i += length;
	}
	return cut == std::string_view::npos ? s : s.substr(0, cut);
}

/* A non-blank string member of a json object, trimmed. */
std::optional<std::string>
MetadataString(const json &metadata, const char *key)
{
	if (!metadata.is_object())
		return std::nullopt;
	auto it = metadata.find(key);
	if (it == metadata.end() || !it->is_string())
		return std::nullopt;
	std::string_view value = Trim(it->get_ref<const std::string &>());
	if (value.empty())
		return std::nullopt;
	return std::string(value);
}

/* An http(s) URL with a host part and no whitespace or control character, as Stack Auth's urlSchema wants. */
bool
IsHttpUrl(std::string_view url)
{
	std::size_t rest;
	if (StartsWithIgnoringCase(url, "https://"))
		rest = 8;
	else if (StartsWithIgnoringCase(url, "http://"))
		rest = 7;
	else
		return false;
	if (url.size() == rest || url[rest] == '/')
		return false;
	return std::none_of(url.begin(), url.end(), [](char c) {
		auto u = static_cast<unsigned char>(c);
		return u <= 0x20 || u == 0x7F;
	});
}

/* Why an encrypted_password cannot be imported, or std::nullopt when it can. Never quotes the hash. */
std::optional<std::string>
PasswordHashProblem(std::string_view hash)
{
	const std::string reset = ": the user must reset the password";
	for (const char *argon : {"argon2id", "argon2i", "argon2d"}) {
		if (StartsWith(hash, std::string("$") + argon + "$"))
			return std::string(argon) + " hash cannot be imported" + reset;
	}
	bool bcrypt_prefix = StartsWith(hash, "$2a$") || StartsWith(hash, "$2b$") || StartsWith(hash, "$2y$");
	if (!bcrypt_prefix)
		return "unsupported hash format" + reset;
	/* Stack Auth: ^\$2[ayb]\$.{56}$ and bcryptjs must load it, so: cost, '$', 22 salt + 31 hash characters
	 * of bcrypt's base64 alphabet. */
	auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
	auto is_bcrypt64 = [](char c) {
		return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
	};
	if (hash.size() != 60 || !is_digit(hash[4]) || !is_digit(hash[5]) || hash[6] != '$' ||
		!std::all_of(hash.begin() + 7, hash.end(), is_bcrypt64))
		return "unsupported hash format (a truncated or malformed bcrypt hash)" + reset;
	int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	if (cost > 16)
		return "bcrypt cost " + std::to_string(cost) + " above 16" + reset;
	if (cost < 4)
		return "bcrypt cost " + std::to_string(cost) + " below 4" + reset;
	return std::nullopt;
}

/* Parses an optional timestamp column; sets `error` (if not yet set) when it is present but unreadable. */
std::optional<std::int64_t>
TimestampColumn(const std::optional<std::string> &text, const char *column, std::optional<std::string> &error)
{
	if (!text)
		return std::nullopt;
	auto parsed = ParsePgTimestamp(*text);
	if (!parsed && !error)
		error = std::string(column) + " is not a timestamp: \"" + *text + "\"";
	return parsed;
}

/* The oauth_providers entries and their notes. */
json
OAuthProviders(const std::vector<SupabaseIdentity> &identities, UserKind kind, const UserPlanOptions &options,
			   std::vector<std::string> &notes)
{
	json providers = json::array();
	std::set<std::string> linked, unconfigured;
	for (const auto &identity : identities) {
		const std::string &name = identity.provider;
		if (name == "email" || name == "phone" || name == "anonymous" || StartsWith(name, "sso:"))
			continue;
		if (kind == UserKind::SoftDeleted)
			continue; /* its identities hold hashes; the soft-delete note says no OAuth is linked */
		std::string id = StackProviderId(name);
		std::string shown = id == name ? id : id + " (" + name + " in Supabase)";
		if (kind == UserKind::Anonymous) {
			notes.push_back(shown + " identity not linked: anonymous users get no OAuth accounts");
			continue;
		}
		if (options.oauth_providers.count(id) == 0) {
			if (unconfigured.insert(id).second)
				notes.push_back(shown + " sign-in not configured in Stack Auth: the user can no longer sign in with " +
								id);
			continue;
		}
		if (identity.provider_id.empty()) {
			notes.push_back(shown + " identity without a provider account ID: not linked");
			continue;
		}
		if (!linked.insert(id).second) {
			notes.push_back("another " + id + " account (" + identity.provider_id +
							") not linked: Stack Auth allows one " + id + " account per user");
			continue;
		}
		json entry = {{"id", id}, {"account_id", identity.provider_id}, {"email", nullptr}};
		if (identity.email)
			entry["email"] = *identity.email;
		providers.push_back(std::move(entry));
	}
	return providers;
}

/* Kinds, first match wins: soft_deleted > anonymous > sso > banned > phone_only > regular. */
UserKind
KindOf(const SupabaseUser &user, const std::string &email, const std::string &phone, bool ban_active)
{
	if (user.deleted_at)
		return UserKind::SoftDeleted;
	if (user.is_anonymous)
		return UserKind::Anonymous;
	if (user.is_sso_user)
		return UserKind::Sso;
	if (ban_active)
		return UserKind::Banned;
	if (email.empty() && !phone.empty())
		return UserKind::PhoneOnly;
	return UserKind::Regular;
}

/* Email: regular, banned and SSO users keep theirs; the others have none (or a hash of it). */
void
PlanEmail(const SupabaseUser &user, const std::string &email, PlannedUser &plan, json &server)
{
	const UserKind kind = plan.kind;
	if ((kind != UserKind::Regular && kind != UserKind::Banned && kind != UserKind::Sso) || email.empty())
		return;
	if (IsAcceptedEmail(email)) {
		plan.body["primary_email"] = email;
		plan.body["primary_email_verified"] = user.email_confirmed_at.has_value();
		plan.body["primary_email_auth_enabled"] = kind != UserKind::Sso;
		plan.email = NormalizeEmail(email);
	} else {
		server["supabase_email"] = email;
		plan.notes.push_back("email \"" + email +
							 "\" is not an address Stack Auth accepts: kept in server_metadata.supabase_email only, "
							 "so the user cannot sign in with it");
	}
}

/* Password: only where there is email sign-in to use it with. */
void
PlanPassword(const SupabaseUser &user, bool email_sign_in, const UserPlanOptions &options, PlannedUser &plan)
{
	std::vector<std::string> &notes = plan.notes;
	const std::string password = user.encrypted_password.value_or("");
	if (!email_sign_in) {
		if (!password.empty())
			notes.push_back("password not imported: the user has no email sign-in in Stack Auth");
	} else if (password.empty()) {
		notes.push_back("no password in Supabase");
	} else if (!options.password_sign_in) {
		notes.push_back("password not imported: password sign-in disabled in the project");
	} else if (auto problem = PasswordHashProblem(password)) {
		notes.push_back(*problem);
	} else {
		plan.body["password_hash"] = password;
	}
}

/* What each special kind becomes; a ban restricts users of the other kinds too, but soft_deleted. */
void
PlanKind(const SupabaseUser &user, bool ban_active, PlannedUser &plan, json &server)
{
	json &body = plan.body;
	std::vector<std::string> &notes = plan.notes;
	switch (plan.kind) {
	case UserKind::SoftDeleted:
		body["restricted_by_admin"] = true;
		body["restricted_by_admin_reason"] = "deleted in Supabase at " + *user.deleted_at;
		server["supabase_deleted_at"] = *user.deleted_at;
		notes.push_back("soft-deleted in Supabase at " + *user.deleted_at +
						": created without email, password or OAuth accounts and restricted by admin, so that its "
						"ID can still be remapped");
		break;
	case UserKind::Anonymous:
		body["is_anonymous"] = true;
		notes.push_back("anonymous user: created as an anonymous Stack Auth user, without email or password");
		break;
	case UserKind::Sso:
		notes.push_back("SSO user: the email is kept without sign-in; SSO (SAML) sign-in must be set up again in "
						"Stack Auth");
		break;
	case UserKind::PhoneOnly:
		notes.push_back(
			"phone-only user: Stack Auth has no phone sign-in; the phone number is kept in server_metadata");
		break;
	case UserKind::Banned:
	case UserKind::Regular:
		break;
	}
	if (ban_active && plan.kind != UserKind::SoftDeleted) {
		body["restricted_by_admin"] = true;
		body["restricted_by_admin_reason"] = "banned in Supabase until " + *user.banned_until;
		server["supabase_banned_until"] = *user.banned_until;
		notes.push_back("banned in Supabase until " + *user.banned_until + ": created restricted by admin");
	}
}

/* Profile, from the user metadata the sign-up form and the identity providers filled. */
void
PlanProfile(const json &user_meta, json &body, std::vector<std::string> &notes)
{
	for (const char *key : {"full_name", "name", "display_name", "user_name"}) {
		auto name = MetadataString(user_meta, key);
		if (!name)
			continue;
		std::size_t units = 0;
		std::string_view kept = Utf16Prefix(*name, kMaxDisplayName, units);
		if (kept.size() < name->size())
			notes.push_back("display name cut to " + std::to_string(kMaxDisplayName) + " characters (it had " +
							std::to_string(units) + ")");
		body["display_name"] = std::string(kept);
		break;
	}
	for (const char *key : {"avatar_url", "picture"}) {
		auto url = MetadataString(user_meta, key);
		if (!url)
			continue;
		std::size_t units = 0;
		Utf16Prefix(*url, kMaxProfileImageUrl, units);
		if (!IsHttpUrl(*url))
			notes.push_back(std::string("profile image URL dropped: user metadata ") + key +
							" is not an http(s) URL without whitespace");
		else if (units > kMaxProfileImageUrl)
			notes.push_back(std::string("profile image URL dropped: user metadata ") + key + " is longer than " +
							"1,000,000 characters");
		else
			body["profile_image_url"] = *url;
		break;
	}
}

/* Metadata: the user's own (client_metadata), the claims apps read (client_read_only_metadata). */
void
PlanClientMetadata(const SupabaseUser &user, json &body)
{
	const json &user_meta = user.raw_user_meta_data;
	if (!user_meta.is_null() && !(user_meta.is_object() && user_meta.empty()))
		body["client_metadata"] = user_meta;
	json app_meta = user.raw_app_meta_data;
	if (app_meta.is_object()) {
		app_meta.erase("provider");
		app_meta.erase("providers");
	}
	if (!app_meta.is_null() && !(app_meta.is_object() && app_meta.empty()))
		body["client_read_only_metadata"] = std::move(app_meta);
}

/* What Supabase knew of the user and Stack Auth has no field for, in server_metadata. */
void
PlanServerMetadata(const SupabaseUser &user, UserKind kind, const std::string &phone, json &server)
{
	server["supabase_user_id"] = user.id;
	server["supabase_kind"] = UserKindName(kind);
	server["supabase_created_at"] = user.created_at ? json(*user.created_at) : json(nullptr);
	if (user.last_sign_in_at)
		server["supabase_last_sign_in_at"] = *user.last_sign_in_at;
	if (!phone.empty() && kind != UserKind::SoftDeleted) { /* a soft-deleted user's phone is a hash */
		server["supabase_phone"] = phone;
		if (user.phone_confirmed_at)
			server["supabase_phone_confirmed_at"] = *user.phone_confirmed_at;
	}
}

/* A body Stack Auth would refuse is the plan's error (the first one found stays). */
void
CheckBody(const UserPlanOptions &options, PlannedUser &plan)
{
	try {
		std::size_t size = plan.body.dump().size();
		if (size > options.max_body_bytes && !plan.error)
			plan.error = "metadata too large (" + std::to_string(size) + " bytes)";
	} catch (const json::exception &) {
		/* nlohmann refuses to serialize a string that is not UTF-8, and so would Stack Auth */
		if (!plan.error)
			plan.error = "the user's email or phone is not valid UTF-8";
	}
}

} // namespace

const char *
UserKindName(UserKind kind)
{
	switch (kind) {
	case UserKind::Regular:
		return "regular";
	case UserKind::PhoneOnly:
		return "phone_only";
	case UserKind::Anonymous:
		return "anonymous";
	case UserKind::Banned:
		return "banned";
	case UserKind::SoftDeleted:
		return "soft_deleted";
	case UserKind::Sso:
		return "sso";
	}
	return "unknown";
}

std::string
StackProviderId(std::string_view supabase_provider)
{
	static const std::map<std::string_view, std::string_view> kRenamed = {
		{"azure", "microsoft"}, {"twitter", "x"}, {"linkedin_oidc", "linkedin"}, {"slack_oidc", "slack"}};
	auto it = kRenamed.find(supabase_provider);
	return std::string(it == kRenamed.end() ? supabase_provider : it->second);
}

std::string
NormalizeEmail(std::string_view email)
{
	return AsciiLower(Trim(email));
}

bool
IsAcceptedEmail(std::string_view email)
{
	/* ^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?
	 *   (?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$ */
	auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
	std::size_t at = email.find('@');
	if (at == std::string_view::npos || at == 0)
		return false;
	std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
	const std::string_view local_specials = ".!#$%&'*+/=?^_`{|}~-";
	for (char c : local)
		if (!is_alnum(c) && local_specials.find(c) == std::string_view::npos)
			return false;
	std::size_t start = 0;
	while (true) {
		std::size_t dot = domain.find('.', start);
		std::string_view label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
		if (label.empty() || label.size() > 63 || !is_alnum(label.front()) || !is_alnum(label.back()))
			return false;
		for (char c : label)
			if (!is_alnum(c) && c != '-')
				return false;
		if (dot == std::string_view::npos)
			return true;
		start = dot + 1;
	}
}

PlannedUser
PlanUser(const SupabaseUser &user, const std::vector<SupabaseIdentity> &identities, const UserPlanOptions &options)
{
	PlannedUser plan;
	plan.source_id = user.id;
	plan.body = json::object();
	json server = json::object();

	plan.created_at_us = TimestampColumn(user.created_at, "created_at", plan.error);
	plan.last_sign_in_at_us = TimestampColumn(user.last_sign_in_at, "last_sign_in_at", plan.error);
	auto banned_until = TimestampColumn(user.banned_until, "banned_until", plan.error);
	const std::int64_t now_us =
		std::chrono::duration_cast<std::chrono::microseconds>(options.now.time_since_epoch()).count();
	const bool ban_active = banned_until && *banned_until > now_us;

	const std::string email(user.email ? Trim(*user.email) : std::string_view());
	const std::string phone(user.phone ? Trim(*user.phone) : std::string_view());
	plan.kind = KindOf(user, email, phone, ban_active);
	const UserKind kind = plan.kind;

	PlanEmail(user, email, plan, server);
	const bool email_sign_in = plan.body.value("primary_email_auth_enabled", false);
	PlanPassword(user, email_sign_in, options, plan);
	PlanKind(user, ban_active, plan, server);
	PlanProfile(user.raw_user_meta_data, plan.body, plan.notes);

	json providers = OAuthProviders(identities, kind, options, plan.notes);
	if (!providers.empty())
		plan.body["oauth_providers"] = std::move(providers);
	if ((kind == UserKind::Regular || kind == UserKind::Banned) && !email_sign_in &&
		!plan.body.contains("oauth_providers"))
		plan.notes.push_back("no email and no configured OAuth provider: the user cannot sign in to Stack Auth");

	PlanClientMetadata(user, plan.body);
	PlanServerMetadata(user, kind, phone, server);
	plan.body["server_metadata"] = std::move(server);
	CheckBody(options, plan);
	return plan;
}

} // namespace cutover
