// test/stack_auth_emulator/store.cpp: the user shapes the API returns, and the indexed user store (store.hpp).
#include "store.hpp"

namespace emulator {

namespace {

Json
OrNull(const std::optional<std::string> &value)
{
	return value ? Json(*value) : Json();
}

} // namespace

const ContactChannel *
User::PrimaryEmail() const
{
	for (const auto &channel : contact_channels)
		if (channel.is_primary)
			return &channel;
	return nullptr;
}

std::optional<std::string>
RestrictedReason(const User &user, const ProjectConfig &project)
{
	if (user.is_anonymous)
		return "anonymous";
	const ContactChannel *primary = user.PrimaryEmail();
	if (project.require_email_verification && !(primary && primary->is_verified))
		return "email_not_verified";
	if (user.restricted_by_admin)
		return "restricted_by_administrator";
	return std::nullopt;
}

Json
UserReadShape(const User &user, const ProjectConfig &project)
{
	const ContactChannel *primary = user.PrimaryEmail();
	bool has_password = user.password_source != PasswordSource::None;
	auto restricted_reason = RestrictedReason(user, project);

	Json oauth_providers = Json::array();
	for (const auto &account : user.oauth_accounts)
		oauth_providers.push_back(
			{{"id", account.provider_id}, {"account_id", account.account_id}, {"email", OrNull(account.email)}});

	// Field order of the reference's response body (shared/reference/stack-auth-api.md, section 2).
	return Json{
		{"id", user.id},
		{"primary_email", primary ? Json(primary->value) : Json()},
		{"primary_email_verified", primary && primary->is_verified},
		{"primary_email_auth_enabled", primary && primary->used_for_auth},
		{"display_name", OrNull(user.display_name)},
		{"profile_image_url", OrNull(user.profile_image_url)},
		{"signed_up_at_millis", user.signed_up_at_millis},
		{"last_active_at_millis", user.last_active_at_millis},
		{"has_password", has_password},
		{"otp_auth_enabled", user.otp_auth_enabled},
		{"passkey_auth_enabled", false},
		{"auth_with_email", has_password || user.otp_auth_enabled},
		{"requires_totp_mfa", user.requires_totp_mfa},
		{"client_metadata", user.client_metadata},
		{"client_read_only_metadata", user.client_read_only_metadata},
		{"server_metadata", user.server_metadata},
		{"oauth_providers", oauth_providers},
		{"selected_team_id", nullptr},
		{"selected_team", nullptr},
		{"is_anonymous", user.is_anonymous},
		{"is_restricted", restricted_reason.has_value()},
		{"restricted_reason", restricted_reason ? Json{{"type", *restricted_reason}} : Json()},
		{"restricted_by_admin", user.restricted_by_admin},
		{"restricted_by_admin_reason", OrNull(user.restricted_by_admin_reason)},
		{"restricted_by_admin_private_details", OrNull(user.restricted_by_admin_private_details)},
		{"country_code", OrNull(user.country_code)},
		{"risk_scores",
		 {{"sign_up", {{"bot", user.risk_score_bot}, {"free_trial_abuse", user.risk_score_free_trial_abuse}}}}},
	};
}

Json
UserInternalShape(const User &user, const ProjectConfig &project)
{
	Json shape = UserReadShape(user, project);
	const char *source = user.password_source == PasswordSource::Password		? "password"
						 : user.password_source == PasswordSource::PasswordHash ? "password_hash"
																				: nullptr;
	Json channels = Json::array();
	for (const auto &channel : user.contact_channels)
		channels.push_back({{"type", "EMAIL"},
							{"value", channel.value},
							{"is_primary", channel.is_primary},
							{"is_verified", channel.is_verified},
							{"used_for_auth", channel.used_for_auth}});
	Json accounts = Json::array();
	for (const auto &account : user.oauth_accounts)
		accounts.push_back({{"provider_id", account.provider_id},
							{"account_id", account.account_id},
							{"email", OrNull(account.email)},
							{"allow_sign_in", true},
							{"allow_connected_accounts", true}});

	shape["password_hash"] = OrNull(user.password_hash);
	shape["password_set_from"] = source ? Json(source) : Json();
	shape["totp_secret_base64"] = OrNull(user.totp_secret_base64);
	shape["contact_channels"] = channels;
	shape["oauth_accounts"] = accounts;
	shape["created_sequence"] = user.created_sequence;
	return shape;
}

const User *
UserStore::Find(const Guard &, const std::string &id) const
{
	auto key = key_by_id_.find(id);
	return key == key_by_id_.end() ? nullptr : &users_.at(key->second);
}

std::optional<std::string>
UserStore::AuthEmailOwner(const Guard &, const std::string &email) const
{
	auto owner = auth_email_owner_.find(email);
	return owner == auth_email_owner_.end() ? std::nullopt : std::optional<std::string>(owner->second);
}

std::optional<std::string>
UserStore::OAuthAccountOwner(const Guard &, const std::string &provider_id, const std::string &account_id) const
{
	auto owner = oauth_account_owner_.find({provider_id, account_id});
	return owner == oauth_account_owner_.end() ? std::nullopt : std::optional<std::string>(owner->second);
}

void
UserStore::Save(const Guard &guard, User user)
{
	if (const User *old = Find(guard, user.id)) {
		user.created_sequence = old->created_sequence;
		Unindex(*old);
		users_.erase(key_by_id_.at(user.id));
	} else {
		user.created_sequence = ++last_sequence_;
	}
	SortKey key{user.signed_up_at_millis, user.id};
	key_by_id_[user.id] = key;
	Index(user);
	users_.emplace(key, std::move(user));
}

bool
UserStore::Erase(const Guard &guard, const std::string &id)
{
	const User *user = Find(guard, id);
	if (user == nullptr)
		return false;
	Unindex(*user);
	users_.erase(key_by_id_.at(id));
	key_by_id_.erase(id);
	return true;
}

void
UserStore::Clear(const Guard &)
{
	users_.clear();
	key_by_id_.clear();
	auth_email_owner_.clear();
	oauth_account_owner_.clear();
	last_sequence_ = 0;
}

std::size_t
UserStore::Size(const Guard &) const
{
	return users_.size();
}

void
UserStore::Scan(const Guard &, bool descending, const std::optional<SortKey> &from,
				const std::function<bool(const User &)> &visit) const
{
	if (!descending) {
		for (auto it = from ? users_.lower_bound(*from) : users_.begin(); it != users_.end(); ++it)
			if (!visit(it->second))
				return;
		return;
	}
	auto end = from ? users_.upper_bound(*from) : users_.end();
	for (auto it = std::make_reverse_iterator(end); it != users_.rend(); ++it)
		if (!visit(it->second))
			return;
}

void
UserStore::Index(const User &user)
{
	for (const auto &channel : user.contact_channels)
		if (channel.used_for_auth)
			auth_email_owner_[channel.value] = user.id;
	for (const auto &account : user.oauth_accounts)
		oauth_account_owner_[{account.provider_id, account.account_id}] = user.id;
}

void
UserStore::Unindex(const User &user)
{
	for (const auto &channel : user.contact_channels)
		if (channel.used_for_auth)
			auth_email_owner_.erase(channel.value);
	for (const auto &account : user.oauth_accounts)
		oauth_account_owner_.erase({account.provider_id, account.account_id});
}

} // namespace emulator
