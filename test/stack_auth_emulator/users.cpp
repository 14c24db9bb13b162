// test/stack_auth_emulator/users.cpp: the users endpoints' rules, in the order crud.tsx applies them (so that a
// request that breaks two rules gets the same error as from the real server).
#include "users.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <vector>

#include "api_error.hpp"

namespace emulator {

namespace {

std::int64_t
NowMillis()
{
	using namespace std::chrono;
	return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool
IsTrue(const Json &body, const char *key)
{
	return body.contains(key) && body[key] == true;
}

std::optional<std::string>
OptionalString(const Json &body, const char *key)
{
	if (body.contains(key) && body[key].is_string())
		return body[key].get<std::string>();
	return std::nullopt;
}

// A string field where "" means null (display_name, restricted_by_admin_reason: `data.x || null`).
std::optional<std::string>
NonEmptyString(const Json &body, const char *key)
{
	auto text = OptionalString(body, key);
	return text && !text->empty() ? text : std::nullopt;
}

// normalizeEmail (apps/backend/src/lib/emails.tsx). The schema only lets ASCII e-mails through.
std::string
NormalizeEmail(const std::string &email)
{
	return AsciiLower(JsTrim(email));
}

// The outcome of getPasswordHashFromData: nothing to change, remove the password, or set one.
struct PasswordChange {
	bool requested = false;
	PasswordSource source = PasswordSource::None;
	std::optional<std::string> hash;
};

PasswordChange
PasswordFromData(const Json &body)
{
	if (body.contains("password")) {
		if (body.contains("password_hash"))
			throw ApiError::Status(400, "Cannot set both password and password_hash at the same time.");
		if (body["password"].is_null())
			return {true, PasswordSource::None, std::nullopt};
		// hashPassword refuses what bcrypt would truncate, with an assertion, so the real server answers 500.
		if (body["password"].get<std::string>().size() >= 72)
			throw std::runtime_error("password is too long for bcrypt");
		return {true, PasswordSource::Password, std::nullopt};
	}
	if (body.contains("password_hash")) {
		const auto &hash = body["password_hash"].get<std::string>();
		if (!IsImportableBcryptHash(hash))
			throw ApiError::Status(400, "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt "
										"Format.");
		return {true, PasswordSource::PasswordHash, hash};
	}
	return {};
}

void
ApplyPassword(User &user, const PasswordChange &change)
{
	user.password_source = change.source;
	user.password_hash = change.hash;
}

// uploadAndGetUrl (apps/backend/src/s3.tsx): http(s) URLs are kept, base64 images would be uploaded to S3 (the
// emulator keeps the data URL as it is), anything else is refused.
std::optional<std::string>
ProfileImageUrl(const Json &value)
{
	if (!value.is_string() || value.get<std::string>().empty())
		return std::nullopt;
	const auto &url = value.get<std::string>();
	auto starts_with = [&url](const char *prefix) { return url.rfind(prefix, 0) == 0; };
	bool base64_image = false;
	if (starts_with("data:image/")) {
		std::size_t pos = 11, start = pos;
		while (pos < url.size() && std::isalnum(static_cast<unsigned char>(url[pos])))
			++pos;
		base64_image = pos > start && url.compare(pos, 8, ";base64,") == 0;
	}
	if (base64_image || starts_with("http://") || starts_with("https://"))
		return url;
	throw ApiError::Status(400, "Invalid profile image URL");
}

void
ApplyRiskScores(User &user, const Json &body)
{
	if (!body.contains("risk_scores") || !body["risk_scores"].is_object())
		return;
	const Json &sign_up = body["risk_scores"]["sign_up"];
	user.risk_score_bot = sign_up["bot"].get<int>();
	user.risk_score_free_trial_abuse = sign_up["free_trial_abuse"].get<int>();
}

// restricted_by_admin_reason and _private_details: `undefined` stays undefined, "" becomes null.
struct RestrictionText {
	bool given = false;
	std::optional<std::string> value;
};

RestrictionText
ReadRestrictionText(const Json &body, const char *key)
{
	return {body.contains(key), NonEmptyString(body, key)};
}

void
CheckRestrictionTexts(bool restricted, const RestrictionText &reason, const RestrictionText &details)
{
	if (restricted)
		return;
	if (reason.value)
		throw ApiError::Status(400, "restricted_by_admin_reason requires restricted_by_admin=true");
	if (details.value)
		throw ApiError::Status(400, "restricted_by_admin_private_details requires restricted_by_admin=true");
}

void
DemotePrimaryEmails(User &user)
{
	for (auto &channel : user.contact_channels)
		channel.is_primary = false;
}

} // namespace

UsersCrud::UsersCrud(const ProjectConfig &project) : project_(project), id_rng_(std::random_device{}()) {}

std::string
UsersCrud::NewUserId(const UserStore::Guard &guard)
{
	while (true) {
		std::uint64_t high = id_rng_(), low = id_rng_();
		high = (high & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull; // version 4
		low = (low & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;   // RFC 4122 variant
		char text[37];
		std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
					  static_cast<unsigned>((high >> 16) & 0xFFFF), static_cast<unsigned>(high & 0xFFFF),
					  static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
		if (store_.Find(guard, text) == nullptr)
			return text;
	}
}

void
UsersCrud::CheckAuthData(const UserStore::Guard &guard, const std::optional<std::string> &old_primary_email,
						 const std::optional<std::string> &primary_email, bool primary_email_verified,
						 bool primary_email_auth_enabled)
{
	if (!primary_email && primary_email_auth_enabled)
		throw ApiError::Status(400, "primary_email_auth_enabled cannot be true without primary_email");
	if (!primary_email && primary_email_verified)
		throw ApiError::Status(400, "primary_email_verified cannot be true without primary_email");
	if (!primary_email_auth_enabled || old_primary_email == primary_email)
		return;
	// Any channel used for auth counts, the user's own demoted ones included, as in the real query.
	if (store_.AuthEmailOwner(guard, *primary_email))
		throw known_errors::UserEmailAlreadyExists(*primary_email);
}

Json
UsersCrud::Create(const Json &body)
{
	std::optional<std::string> primary_email;
	if (auto email = NonEmptyString(body, "primary_email"))
		primary_email = NormalizeEmail(*email);
	PasswordChange password = PasswordFromData(body);

	auto guard = store_.Lock();
	CheckAuthData(guard, std::nullopt, primary_email, IsTrue(body, "primary_email_verified"),
				  IsTrue(body, "primary_email_auth_enabled"));

	bool restricted = IsTrue(body, "restricted_by_admin");
	RestrictionText reason = ReadRestrictionText(body, "restricted_by_admin_reason");
	RestrictionText details = ReadRestrictionText(body, "restricted_by_admin_private_details");
	CheckRestrictionTexts(restricted, reason, details);

	User user;
	user.id = NewUserId(guard);
	user.signed_up_at_millis = user.last_active_at_millis = NowMillis();
	user.display_name = NonEmptyString(body, "display_name");
	user.client_metadata = body.value("client_metadata", Json());
	user.client_read_only_metadata = body.value("client_read_only_metadata", Json());
	user.server_metadata = body.value("server_metadata", Json());
	user.totp_secret_base64 = OptionalString(body, "totp_secret_base64");
	user.is_anonymous = IsTrue(body, "is_anonymous");
	user.profile_image_url = ProfileImageUrl(body.value("profile_image_url", Json()));
	user.restricted_by_admin = restricted;
	user.restricted_by_admin_reason = reason.value;
	user.restricted_by_admin_private_details = details.value;
	user.country_code = OptionalString(body, "country_code");
	ApplyRiskScores(user, body);

	for (const auto &provider : body.value("oauth_providers", Json::array())) {
		auto provider_id = provider["id"].get<std::string>();
		auto account_id = provider["account_id"].get<std::string>();
		if (project_.oauth_providers.count(provider_id) == 0)
			throw ApiError::Status(400, "OAuth provider " + provider_id + " not found");
		// The database's unique indexes, which crud.tsx does not check first: Prisma's P2002 becomes a 500.
		if (store_.OAuthAccountOwner(guard, provider_id, account_id))
			throw std::runtime_error("unique constraint: OAuth account already belongs to another user");
		for (const auto &existing : user.oauth_accounts)
			if (existing.provider_id == provider_id)
				throw std::runtime_error("unique constraint: two OAuth accounts of one provider for one user");
		user.oauth_accounts.push_back({provider_id, account_id, OptionalString(provider, "email")});
	}

	if (primary_email)
		user.contact_channels.push_back(
			{*primary_email, true, IsTrue(body, "primary_email_verified"), IsTrue(body, "primary_email_auth_enabled")});

	if (password.source != PasswordSource::None) {
		if (!project_.password_sign_in)
			throw ApiError::Status(400, "Password auth not enabled in the project");
		ApplyPassword(user, password);
	}
	if (IsTrue(body, "otp_auth_enabled")) {
		if (!project_.otp_sign_in)
			throw ApiError::Status(400, "OTP auth not enabled in the project");
		user.otp_auth_enabled = true;
	}

	Json shape = UserReadShape(user, project_);
	store_.Save(guard, std::move(user));
	return shape;
}

Json
UsersCrud::Read(const std::string &user_id)
{
	auto guard = store_.Lock();
	const User *user = store_.Find(guard, AsciiLower(user_id));
	if (user == nullptr)
		throw known_errors::UserNotFound();
	return UserReadShape(*user, project_);
}

Json
UsersCrud::Update(const std::string &user_id, const Json &body)
{
	// primary_email: absent leaves it, null removes it, a string replaces it.
	bool email_given = body.contains("primary_email");
	std::optional<std::string> primary_email;
	if (auto email = NonEmptyString(body, "primary_email"))
		primary_email = NormalizeEmail(*email);
	PasswordChange password = PasswordFromData(body);

	auto guard = store_.Lock();
	const User *old = store_.Find(guard, AsciiLower(user_id));
	if (old == nullptr)
		throw known_errors::UserNotFound();
	if (auto team_id = OptionalString(body, "selected_team_id"))
		throw known_errors::TeamMembershipNotFound(*team_id, old->id); // the emulator has no teams

	// Work on a copy and save it at the end: the real update is one transaction.
	User user = *old;
	const ContactChannel *old_primary = old->PrimaryEmail();
	std::optional<std::string> old_email = old_primary ? std::optional<std::string>(old_primary->value) : std::nullopt;
	std::optional<std::string> effective_email = email_given ? primary_email : old_email;
	bool removing_email = email_given && !primary_email;
	bool auth_enabled = removing_email								  ? false
						: body.contains("primary_email_auth_enabled") ? IsTrue(body, "primary_email_auth_enabled")
																	  : old_primary && old_primary->used_for_auth;
	bool verified = removing_email							  ? false
					: body.contains("primary_email_verified") ? IsTrue(body, "primary_email_verified")
															  : old_primary && old_primary->is_verified;
	CheckAuthData(guard, old_email, effective_email, verified, auth_enabled);

	if (email_given && !primary_email) {
		DemotePrimaryEmails(user); // the channel stays, no longer primary
	} else if (email_given) {
		ContactChannel *existing = nullptr;
		for (auto &channel : user.contact_channels)
			if (channel.value == *primary_email)
				existing = &channel;
		DemotePrimaryEmails(user);
		if (existing) {
			existing->is_primary = true;
			existing->used_for_auth = auth_enabled;
			if (body.contains("primary_email_verified"))
				existing->is_verified = verified;
		} else {
			user.contact_channels.push_back(
				{*primary_email, true, IsTrue(body, "primary_email_verified"), auth_enabled});
		}
	} else if (old_primary) {
		for (auto &channel : user.contact_channels) {
			if (!channel.is_primary)
				continue;
			if (body.contains("primary_email_verified"))
				channel.is_verified = verified;
			if (body.contains("primary_email_auth_enabled"))
				channel.used_for_auth = auth_enabled;
		}
	}

	if (body.contains("otp_auth_enabled")) {
		bool enable = IsTrue(body, "otp_auth_enabled");
		if (enable && !user.otp_auth_enabled && !project_.otp_sign_in)
			throw ApiError::Status(400, "OTP auth not enabled in the project");
		user.otp_auth_enabled = enable;
	}
	if (IsTrue(body, "passkey_auth_enabled"))
		throw ApiError::Status(400, "Cannot manually enable passkey auth, it is enabled iff there is a passkey auth "
									"method");

	if (password.requested) {
		bool adding = password.source != PasswordSource::None && user.password_source == PasswordSource::None;
		if (adding && user.PrimaryEmail() == nullptr)
			throw std::runtime_error("password is set but primary_email is not set");
		if (adding && !project_.password_sign_in)
			throw ApiError::Status(400, "Password auth not enabled in the project");
		ApplyPassword(user, password);
	}

	if (old->is_anonymous && body.contains("is_anonymous") && body["is_anonymous"] == false) {
		user.is_anonymous = false;
		user.signed_up_at_millis = NowMillis(); // the first real sign-up
	}

	RestrictionText reason = ReadRestrictionText(body, "restricted_by_admin_reason");
	RestrictionText details = ReadRestrictionText(body, "restricted_by_admin_private_details");
	bool restricted =
		body.contains("restricted_by_admin") ? IsTrue(body, "restricted_by_admin") : old->restricted_by_admin;
	CheckRestrictionTexts(restricted, reason, details);
	user.restricted_by_admin = restricted;
	if (!restricted) {
		user.restricted_by_admin_reason.reset();
		user.restricted_by_admin_private_details.reset();
	} else {
		if (reason.given)
			user.restricted_by_admin_reason = reason.value;
		if (details.given)
			user.restricted_by_admin_private_details = details.value;
	}

	if (body.contains("display_name"))
		user.display_name = NonEmptyString(body, "display_name");
	std::pair<const char *, Json *> metadata[] = {{"client_metadata", &user.client_metadata},
												  {"client_read_only_metadata", &user.client_read_only_metadata},
												  {"server_metadata", &user.server_metadata}};
	for (auto [key, field] : metadata)
		if (body.contains(key))
			*field = body[key];
	if (body.contains("totp_secret_base64")) {
		user.totp_secret_base64 = OptionalString(body, "totp_secret_base64");
		user.requires_totp_mfa = user.totp_secret_base64.has_value();
	}
	if (body.contains("profile_image_url") &&
		!(body["profile_image_url"].is_string() && body["profile_image_url"].get<std::string>().empty()))
		user.profile_image_url = ProfileImageUrl(body["profile_image_url"]);
	if (body.contains("country_code"))
		user.country_code = OptionalString(body, "country_code");
	ApplyRiskScores(user, body);

	Json shape = UserReadShape(user, project_);
	store_.Save(guard, std::move(user));
	return shape;
}

void
UsersCrud::Delete(const std::string &user_id)
{
	auto guard = store_.Lock();
	if (!store_.Erase(guard, AsciiLower(user_id)))
		throw known_errors::UserNotFound();
}

Json
UsersCrud::List(const Json &query)
{
	auto flag = [&query](const char *key) { return query.contains(key) && query[key] == "true"; };
	bool only_anonymous = flag("only_anonymous");
	bool include_anonymous = flag("include_anonymous");
	if (only_anonymous && !include_anonymous)
		throw ApiError::Status(400, "only_anonymous=true requires include_anonymous=true");
	bool include_restricted = flag("include_restricted") || include_anonymous;
	bool descending = flag("desc");
	std::optional<double> limit;
	if (query.contains("limit"))
		limit = query["limit"].get<double>();

	// query: the id when the text (stripped of other characters) is a UUID, or ILIKE on the display name or on
	// any of the user's e-mails.
	std::string text = OptionalString(query, "query").value_or("");
	std::string id_text;
	for (char c : text)
		if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
			id_text += c;
	bool match_id = IsStackUuidV4(id_text);
	auto matches_text = [&](const User &user) {
		if (text.empty() || (match_id && user.id == id_text))
			return true;
		if (user.display_name && IlikeContains(*user.display_name, text))
			return true;
		for (const auto &channel : user.contact_channels)
			if (IlikeContains(channel.value, text))
				return true;
		return false;
	};
	auto visible = [&](const User &user) {
		if (only_anonymous ? !user.is_anonymous : !include_anonymous && user.is_anonymous)
			return false;
		if (!include_restricted && project_.require_email_verification) {
			const ContactChannel *primary = user.PrimaryEmail();
			if (!(primary && primary->is_verified))
				return false;
		}
		if (!include_restricted && user.restricted_by_admin)
			return false;
		return matches_text(user);
	};

	Json page{{"items", Json::array()}, {"is_paginated", true}, {"pagination", {{"next_cursor", nullptr}}}};
	auto guard = store_.Lock();

	// A Prisma cursor starts at the cursor's own row, found by id whatever the filters; an id that is not there
	// (a user deleted between two pages) gives an empty page.
	std::optional<UserStore::SortKey> from;
	if (auto cursor = OptionalString(query, "cursor")) {
		const User *start = store_.Find(guard, AsciiLower(*cursor));
		if (start == nullptr)
			return page;
		from = UserStore::SortKey{start->signed_up_at_millis, start->id};
	}

	// Fetch limit + 1 rows: the extra one is the next page's first row and its id the next cursor.
	double take = limit ? *limit + 1 : std::numeric_limits<double>::infinity();
	std::vector<const User *> rows;
	store_.Scan(guard, descending, from, [&](const User &user) {
		if (visible(user))
			rows.push_back(&user);
		return static_cast<double>(rows.size()) < take;
	});
	bool has_more = limit && static_cast<double>(rows.size()) >= take;
	std::size_t count = has_more ? rows.size() - 1 : rows.size();
	for (std::size_t i = 0; i < count; ++i)
		page["items"].push_back(UserReadShape(*rows[i], project_));
	if (has_more)
		page["pagination"]["next_cursor"] = rows.back()->id;
	return page;
}

Json
UsersCrud::InternalDump()
{
	Json users = Json::array();
	auto guard = store_.Lock();
	store_.Scan(guard, false, std::nullopt, [&](const User &user) {
		users.push_back(UserInternalShape(user, project_));
		return true;
	});
	return users;
}

std::size_t
UsersCrud::Count()
{
	auto guard = store_.Lock();
	return store_.Size(guard);
}

void
UsersCrud::Reset()
{
	auto guard = store_.Lock();
	store_.Clear(guard);
}

} // namespace emulator
