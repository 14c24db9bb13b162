// test/stack_auth_emulator/store.hpp: the emulated Stack Auth project and its users.
//
// A User mirrors the rows Stack Auth keeps per user (ProjectUser, ContactChannel, AuthMethod, OAuth accounts).
// UserStore keeps them in the order the list endpoint sorts by (signed_up_at, then id) and indexes the two
// uniqueness rules of the real database: one auth-enabled e-mail per project and one user per (provider, account).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "js_compat.hpp"

namespace emulator {

// What the emulated project allows (the real project's config.auth and config.onboarding).
struct ProjectConfig {
	std::string project_id;
	std::set<std::string> oauth_providers;
	bool password_sign_in = true;
	bool otp_sign_in = false;
	bool require_email_verification = false;
};

struct ContactChannel {
	std::string value; // e-mail, lower-cased and trimmed
	bool is_primary = false;
	bool is_verified = false;
	bool used_for_auth = false;
};

struct OAuthAccount {
	std::string provider_id;
	std::string account_id;
	std::optional<std::string> email;
};

// How the user got a password. The plain password itself is never kept.
enum class PasswordSource { None, Password, PasswordHash };

struct User {
	std::string id;
	std::int64_t signed_up_at_millis = 0;
	std::int64_t last_active_at_millis = 0;
	std::uint64_t created_sequence = 0; // set by the store: 1 for the first user ever created, and so on

	std::optional<std::string> display_name;
	std::optional<std::string> profile_image_url;
	Json client_metadata;
	Json client_read_only_metadata;
	Json server_metadata;
	std::vector<ContactChannel> contact_channels;
	std::vector<OAuthAccount> oauth_accounts;

	PasswordSource password_source = PasswordSource::None;
	std::optional<std::string> password_hash; // only when imported through password_hash
	bool otp_auth_enabled = false;
	bool requires_totp_mfa = false;
	std::optional<std::string> totp_secret_base64;

	bool is_anonymous = false;
	bool restricted_by_admin = false;
	std::optional<std::string> restricted_by_admin_reason;
	std::optional<std::string> restricted_by_admin_private_details;
	std::optional<std::string> country_code;
	int risk_score_bot = 0;
	int risk_score_free_trial_abuse = 0;

	const ContactChannel *PrimaryEmail() const;
};

// usersCrudServerReadSchema: what every users endpoint returns for a user.
Json UserReadShape(const User &user, const ProjectConfig &project);

// The read shape plus what the API never shows (password hash, contact channels, OAuth accounts), for the
// control endpoint GET /__emulator/users.
Json UserInternalShape(const User &user, const ProjectConfig &project);

// Whether the user counts as restricted, and why (computeRestrictedStatus in crud.tsx).
std::optional<std::string> RestrictedReason(const User &user, const ProjectConfig &project);

class UserStore
{
  public:
	// Every method takes the guard returned by Lock() as proof that the caller holds the store's mutex: one API
	// call is one transaction, as in the real server, so the caller decides how long the lock is held.
	using Guard = std::unique_lock<std::mutex>;
	using SortKey = std::pair<std::int64_t, std::string>; // (signed_up_at_millis, id)

	Guard
	Lock() const
	{
		return Guard(mutex_);
	}

	const User *Find(const Guard &guard, const std::string &id) const;
	std::optional<std::string> AuthEmailOwner(const Guard &guard, const std::string &email) const;
	std::optional<std::string> OAuthAccountOwner(const Guard &guard, const std::string &provider_id,
												 const std::string &account_id) const;

	// Inserts a new user or replaces the one with the same id, keeping the indexes in step.
	void Save(const Guard &guard, User user);
	bool Erase(const Guard &guard, const std::string &id);
	void Clear(const Guard &guard);
	std::size_t Size(const Guard &guard) const;

	// Visits users in (signed_up_at, id) order, ascending or descending, starting at `from` inclusive, until
	// `visit` returns false.
	void Scan(const Guard &guard, bool descending, const std::optional<SortKey> &from,
			  const std::function<bool(const User &)> &visit) const;

  private:
	void Index(const User &user);
	void Unindex(const User &user);

	mutable std::mutex mutex_;
	std::map<SortKey, User> users_;
	std::unordered_map<std::string, SortKey> key_by_id_;
	std::map<std::string, std::string> auth_email_owner_;
	std::map<std::pair<std::string, std::string>, std::string> oauth_account_owner_;
	std::uint64_t last_sequence_ = 0;
};

} // namespace emulator
