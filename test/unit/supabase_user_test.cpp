/*
 * supabase_user_test.cpp: Supabase Auth users mapped to Stack Auth create bodies: kinds and their precedence,
 * every note, password hashes, display name and avatar rules, OAuth providers, metadata placement, size
 * limit, email collisions, and the timestamp and email helpers.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "supabase_user.hpp"

namespace {

using cutover::IsAcceptedEmail;
using cutover::NormalizeEmail;
using cutover::ParsePgTimestamp;
using cutover::PlannedUser;
using cutover::PlanUser;
using cutover::ResolveEmailCollisions;
using cutover::StackProviderId;
using cutover::SupabaseIdentity;
using cutover::SupabaseUser;
using cutover::UserKind;
using cutover::UserKindName;
using cutover::UserPlanOptions;
using nlohmann::json;

/* 2024-03-01 12:00:00 UTC */
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1709294400}};

/* A real bcrypt hash (cost 10); the variants below swap its prefix. */
const std::string kBcryptBody = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const std::string kBcrypt10 = "$2a$10$" + kBcryptBody;
const std::string kArgon2id = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
							  "RdescudvJCsgt3ub+b+dWRWJTmaaJObG5oP5aPbA8qg";

UserPlanOptions
Options()
{
	UserPlanOptions options;
	options.oauth_providers = {"google", "github", "microsoft"};
	options.now = kNow;
	return options;
}

/* User 1 of a Supabase project: confirmed email and password, signed up through the form. */
SupabaseUser
RegularUser()
{
	SupabaseUser user;
	user.id = "c4ca4238-a0b9-2382-0dcc-509a6f75849b";
	user.email = "ada@example.com";
	user.encrypted_password = kBcrypt10;
	user.email_confirmed_at = "2023-01-02 03:04:05.123456+00";
	user.raw_user_meta_data = {
		{"full_name", "Ada Lovelace"}, {"avatar_url", "https://cdn.example.com/ada.png"}, {"email_verified", true}};
	user.raw_app_meta_data = {{"provider", "email"}, {"providers", {"email"}}};
	user.created_at = "2023-01-01 00:00:00+00";
	user.last_sign_in_at = "2024-02-01 10:00:00.5+00";
	return user;
}

SupabaseIdentity
Identity(const std::string &provider, const std::string &provider_id, std::optional<std::string> email = std::nullopt)
{
	SupabaseIdentity identity;
	identity.provider = provider;
	identity.provider_id = provider_id;
	identity.identity_data = {{"sub", provider_id}};
	if (email)
		identity.identity_data["email"] = *email;
	identity.email = email;
	return identity;
}

PlannedUser
Plan(const SupabaseUser &user, const std::vector<SupabaseIdentity> &identities = {},
	 const UserPlanOptions &options = Options())
{
	return PlanUser(user, identities, options);
}

bool
HasNote(const PlannedUser &plan, const std::string &part)
{
	return std::any_of(plan.notes.begin(), plan.notes.end(),
					   [&](const std::string &note) { return note.find(part) != std::string::npos; });
}

std::string
AllNotes(const PlannedUser &plan)
{
	std::string all;
	for (const auto &note : plan.notes)
		all += "[" + note + "] ";
	return all;
}

/* ---- the regular user, pinned ---- */

TEST(PlanUser, RegularUserBody)
{
	PlannedUser plan = Plan(RegularUser(), {Identity("email", "c4ca4238-a0b9-2382-0dcc-509a6f75849b")});
	json expected = {
		{"primary_email", "ada@example.com"},
		{"primary_email_verified", true},
		{"primary_email_auth_enabled", true},
		{"password_hash", kBcrypt10},
		{"display_name", "Ada Lovelace"},
		{"profile_image_url", "https://cdn.example.com/ada.png"},
		{"client_metadata",
		 {{"full_name", "Ada Lovelace"}, {"avatar_url", "https://cdn.example.com/ada.png"}, {"email_verified", true}}},
		{"server_metadata",
		 {{"supabase_user_id", "c4ca4238-a0b9-2382-0dcc-509a6f75849b"},
		  {"supabase_kind", "regular"},
		  {"supabase_created_at", "2023-01-01 00:00:00+00"},
		  {"supabase_last_sign_in_at", "2024-02-01 10:00:00.5+00"}}},
	};
	EXPECT_EQ(plan.body, expected) << plan.body.dump(2);
	EXPECT_EQ(plan.kind, UserKind::Regular);
	EXPECT_EQ(plan.source_id, "c4ca4238-a0b9-2382-0dcc-509a6f75849b");
	EXPECT_EQ(plan.email, "ada@example.com");
	EXPECT_TRUE(plan.notes.empty()) << AllNotes(plan);
	EXPECT_FALSE(plan.error.has_value());
	EXPECT_EQ(plan.created_at_us, 1672531200LL * 1000000);
	EXPECT_EQ(plan.last_sign_in_at_us, 1706781600LL * 1000000 + 500000);
}

TEST(PlanUser, EmailTrimmedCaseKeptAndNormalizedForLookup)
{
	SupabaseUser user = RegularUser();
	user.email = "  Jordan.Lee@Example.com\t";
	user.email_confirmed_at.reset();
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.body["primary_email"], "Jordan.Lee@Example.com");
	EXPECT_EQ(plan.body["primary_email_verified"], false);
	EXPECT_EQ(plan.body["primary_email_auth_enabled"], true);
	EXPECT_EQ(plan.email, "jordan.lee@example.com");
}

TEST(PlanUser, EmailStackAuthWouldRefuseIsKeptInServerMetadata)
{
	SupabaseUser user = RegularUser();
	user.email = "not an email@example.com";
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.kind, UserKind::Regular);
	EXPECT_FALSE(plan.body.contains("primary_email"));
	EXPECT_FALSE(plan.body.contains("primary_email_auth_enabled"));
	EXPECT_FALSE(plan.body.contains("password_hash"));
	EXPECT_FALSE(plan.email.has_value());
	EXPECT_EQ(plan.body["server_metadata"]["supabase_email"], "not an email@example.com");
	EXPECT_TRUE(HasNote(plan, "email \"not an email@example.com\" is not an address Stack Auth accepts"));
	EXPECT_TRUE(HasNote(plan, "password not imported: the user has no email sign-in in Stack Auth"));
	EXPECT_TRUE(HasNote(plan, "no email and no configured OAuth provider: the user cannot sign in"));
	EXPECT_FALSE(plan.error.has_value());
}

/* ---- kinds and their precedence ---- */

struct KindCase {
	std::string name;
	std::function<void(SupabaseUser &)> change;
	UserKind kind;
};

std::vector<KindCase>
KindCases()
{
	auto phone_only = [](SupabaseUser &u) {
		u.email.reset();
		u.encrypted_password = "";
		u.phone = "4915112345678";
	};
	auto anonymous = [](SupabaseUser &u) {
		u.email.reset();
		u.encrypted_password = "";
		u.is_anonymous = true;
	};
	auto banned = [](SupabaseUser &u) { u.banned_until = "2124-03-01 12:00:00+00"; };
	auto deleted = [](SupabaseUser &u) {
		u.deleted_at = "2024-02-20 08:00:00+00";
		u.email = "kZ3Jx0pV3q8mG6h4rEwYtB1nC9dF2aL5sU7iO0eQ4w8";
		u.encrypted_password.reset();
	};
	auto sso = [](SupabaseUser &u) {
		u.is_sso_user = true;
		u.encrypted_password = "";
	};
	return {
		{"Regular", [](SupabaseUser &) {}, UserKind::Regular},
		{"PhoneOnly", phone_only, UserKind::PhoneOnly},
		{"BlankEmailAndPhoneIsPhoneOnly",
		 [=](SupabaseUser &u) {
			 phone_only(u);
			 u.email = "  ";
		 },
		 UserKind::PhoneOnly},
		{"EmailAndPhoneIsRegular", [](SupabaseUser &u) { u.phone = "4915112345678"; }, UserKind::Regular},
		{"NoEmailNoPhoneIsRegular",
		 [](SupabaseUser &u) {
			 u.email.reset();
			 u.phone = "";
		 },
		 UserKind::Regular},
		{"Anonymous", anonymous, UserKind::Anonymous},
		{"Banned", banned, UserKind::Banned},
		{"BannedForever", [](SupabaseUser &u) { u.banned_until = "infinity"; }, UserKind::Banned},
		{"BanOneMicrosecondAhead", [](SupabaseUser &u) { u.banned_until = "2024-03-01 12:00:00.000001+00"; },
		 UserKind::Banned},
		{"BanEndingNowExpired", [](SupabaseUser &u) { u.banned_until = "2024-03-01 12:00:00+00"; }, UserKind::Regular},
		{"BanExpired", [](SupabaseUser &u) { u.banned_until = "2024-02-29 12:00:00+00"; }, UserKind::Regular},
		{"BanInOtherOffsetStillAhead", [](SupabaseUser &u) { u.banned_until = "2024-03-01 13:30:00+01"; },
		 UserKind::Banned},
		{"SoftDeleted", deleted, UserKind::SoftDeleted},
		{"Sso", sso, UserKind::Sso},
		{"SoftDeletedBeatsAnonymous",
		 [=](SupabaseUser &u) {
			 anonymous(u);
			 deleted(u);
		 },
		 UserKind::SoftDeleted},
		{"SoftDeletedBeatsBanned",
		 [=](SupabaseUser &u) {
			 banned(u);
			 deleted(u);
		 },
		 UserKind::SoftDeleted},
		{"AnonymousBeatsSso",
		 [=](SupabaseUser &u) {
			 sso(u);
			 anonymous(u);
		 },
		 UserKind::Anonymous},
		{"SsoBeatsBanned",
		 [=](SupabaseUser &u) {
			 banned(u);
			 sso(u);
		 },
		 UserKind::Sso},
		{"BannedBeatsPhoneOnly",
		 [=](SupabaseUser &u) {
			 phone_only(u);
			 banned(u);
		 },
		 UserKind::Banned},
	};
}

class KindTable : public testing::TestWithParam<KindCase>
{
};

TEST_P(KindTable, Classifies)
{
	SupabaseUser user = RegularUser();
	GetParam().change(user);
	PlannedUser plan = Plan(user);
	EXPECT_EQ(UserKindName(plan.kind), std::string(UserKindName(GetParam().kind)));
	EXPECT_EQ(plan.body["server_metadata"]["supabase_kind"], UserKindName(GetParam().kind));
	EXPECT_FALSE(plan.error.has_value()) << *plan.error;
	/* every kind is created: the body always identifies the Supabase user */
	EXPECT_EQ(plan.body["server_metadata"]["supabase_user_id"], user.id);
}

INSTANTIATE_TEST_SUITE_P(Kinds, KindTable, testing::ValuesIn(KindCases()),
						 [](const testing::TestParamInfo<KindCase> &param_info) { return param_info.param.name; });

TEST(PlanUser, KindNames)
{
	EXPECT_STREQ(UserKindName(UserKind::Regular), "regular");
	EXPECT_STREQ(UserKindName(UserKind::PhoneOnly), "phone_only");
	EXPECT_STREQ(UserKindName(UserKind::Anonymous), "anonymous");
	EXPECT_STREQ(UserKindName(UserKind::Banned), "banned");
	EXPECT_STREQ(UserKindName(UserKind::SoftDeleted), "soft_deleted");
	EXPECT_STREQ(UserKindName(UserKind::Sso), "sso");
}

TEST(PlanUser, BannedUserIsRestrictedAndKeepsSignInData)
{
	SupabaseUser user = RegularUser();
	user.banned_until = "2124-03-01 12:00:00+00";
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.kind, UserKind::Banned);
	EXPECT_EQ(plan.body["primary_email"], "ada@example.com");
	EXPECT_EQ(plan.body["primary_email_auth_enabled"], true);
	EXPECT_EQ(plan.body["password_hash"], kBcrypt10);
	EXPECT_EQ(plan.body["restricted_by_admin"], true);
	EXPECT_EQ(plan.body["restricted_by_admin_reason"], "banned in Supabase until 2124-03-01 12:00:00+00");
	EXPECT_EQ(plan.body["server_metadata"]["supabase_banned_until"], "2124-03-01 12:00:00+00");
	EXPECT_TRUE(HasNote(plan, "banned in Supabase until 2124-03-01 12:00:00+00: created restricted by admin"));
}

TEST(PlanUser, ExpiredBanLeavesNoTrace)
{
	SupabaseUser user = RegularUser();
	user.banned_until = "2024-03-01 00:00:00+00";
	PlannedUser plan = Plan(user);
	EXPECT_FALSE(plan.body.contains("restricted_by_admin"));
	EXPECT_FALSE(plan.body["server_metadata"].contains("supabase_banned_until"));
	EXPECT_TRUE(plan.notes.empty()) << AllNotes(plan);
}

TEST(PlanUser, PhoneOnlyUser)
{
	SupabaseUser user = RegularUser();
	user.email.reset();
	user.encrypted_password = "";
	user.phone = "4915112345678";
	user.phone_confirmed_at = "2023-05-05 05:05:05+00";
	user.raw_user_meta_data = json::object();
	user.raw_app_meta_data = {{"provider", "phone"}, {"providers", {"phone"}}};
	PlannedUser plan = Plan(user, {Identity("phone", user.id)});
	json expected = {{"server_metadata",
					  {{"supabase_user_id", user.id},
					   {"supabase_kind", "phone_only"},
					   {"supabase_created_at", "2023-01-01 00:00:00+00"},
					   {"supabase_last_sign_in_at", "2024-02-01 10:00:00.5+00"},
					   {"supabase_phone", "4915112345678"},
					   {"supabase_phone_confirmed_at", "2023-05-05 05:05:05+00"}}}};
	EXPECT_EQ(plan.body, expected) << plan.body.dump(2);
	EXPECT_FALSE(plan.email.has_value());
	EXPECT_EQ(plan.notes, std::vector<std::string>{"phone-only user: Stack Auth has no phone sign-in; the phone "
												   "number is kept in server_metadata"});
}

TEST(PlanUser, PhoneOnlyUserWithPasswordSaysItWasNotImported)
{
	SupabaseUser user = RegularUser();
	user.email.reset();
	user.phone = "4915112345678";
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.kind, UserKind::PhoneOnly);
	EXPECT_FALSE(plan.body.contains("password_hash"));
	EXPECT_TRUE(HasNote(plan, "password not imported: the user has no email sign-in in Stack Auth"));
}

TEST(PlanUser, AnonymousUser)
{
	SupabaseUser user;
	user.id = "a87ff679-a2f3-e71d-9181-a67b7542122c";
	user.is_anonymous = true;
	user.encrypted_password = "";
	user.raw_user_meta_data = json::object();
	user.raw_app_meta_data = json::object();
	user.created_at = "2024-01-15 09:30:00.000001+00";
	PlannedUser plan = Plan(user, {Identity("github", "4242", "anon@example.com")});
	json expected = {{"is_anonymous", true},
					 {"server_metadata",
					  {{"supabase_user_id", user.id},
					   {"supabase_kind", "anonymous"},
					   {"supabase_created_at", "2024-01-15 09:30:00.000001+00"}}}};
	EXPECT_EQ(plan.body, expected) << plan.body.dump(2);
	EXPECT_TRUE(HasNote(plan, "anonymous user: created as an anonymous Stack Auth user"));
	EXPECT_TRUE(HasNote(plan, "github identity not linked: anonymous users get no OAuth accounts"));
	EXPECT_FALSE(HasNote(plan, "cannot sign in to Stack Auth"));
}

TEST(PlanUser, SoftDeletedUser)
{
	SupabaseUser user = RegularUser();
	user.deleted_at = "2024-02-20 08:00:00.25+00";
	user.email = "kZ3Jx0pV3q8mG6h4rEwYtB1nC9dF2aL5sU7iO0eQ4w8";
	user.phone = "kZ3Jx0pV3q8mG6h";
	user.encrypted_password.reset();
	user.raw_user_meta_data = json::object();
	user.raw_app_meta_data = json::object();
	PlannedUser plan = Plan(user, {Identity("google", "hashedhashedhashed")});
	json expected = {{"restricted_by_admin", true},
					 {"restricted_by_admin_reason", "deleted in Supabase at 2024-02-20 08:00:00.25+00"},
					 {"server_metadata",
					  {{"supabase_user_id", user.id},
					   {"supabase_kind", "soft_deleted"},
					   {"supabase_created_at", "2023-01-01 00:00:00+00"},
					   {"supabase_last_sign_in_at", "2024-02-01 10:00:00.5+00"},
					   {"supabase_deleted_at", "2024-02-20 08:00:00.25+00"}}}};
	EXPECT_EQ(plan.body, expected) << plan.body.dump(2);
	EXPECT_FALSE(plan.email.has_value());
	EXPECT_EQ(plan.notes.size(), 1u) << AllNotes(plan);
	EXPECT_TRUE(HasNote(plan, "soft-deleted in Supabase at 2024-02-20 08:00:00.25+00: created without email, "
							  "password or OAuth accounts"));
}

TEST(PlanUser, SoftDeletedAndBannedKeepsTheDeletionReason)
{
	SupabaseUser user = RegularUser();
	user.deleted_at = "2024-02-20 08:00:00+00";
	user.banned_until = "2124-01-01 00:00:00+00";
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.body["restricted_by_admin_reason"], "deleted in Supabase at 2024-02-20 08:00:00+00");
	EXPECT_FALSE(HasNote(plan, "banned"));
}

TEST(PlanUser, SsoUser)
{
	SupabaseUser user = RegularUser();
	user.email = "kofi.mensah@acme.example";
	user.is_sso_user = true;
	user.encrypted_password = "";
	user.raw_app_meta_data = {{"provider", "sso:0f7b3f1e-8a8a-4c3e-9d53-7a1c2f5b6e11"},
							  {"providers", {"sso:0f7b3f1e-8a8a-4c3e-9d53-7a1c2f5b6e11"}}};
	PlannedUser plan = Plan(user, {Identity("sso:0f7b3f1e-8a8a-4c3e-9d53-7a1c2f5b6e11", "kofi@acme")});
	EXPECT_EQ(plan.kind, UserKind::Sso);
	EXPECT_EQ(plan.body["primary_email"], "kofi.mensah@acme.example");
	EXPECT_EQ(plan.body["primary_email_verified"], true);
	EXPECT_EQ(plan.body["primary_email_auth_enabled"], false);
	EXPECT_FALSE(plan.body.contains("password_hash"));
	EXPECT_FALSE(plan.body.contains("oauth_providers"));
	EXPECT_FALSE(plan.body.contains("client_read_only_metadata"));
	EXPECT_EQ(plan.email, "kofi.mensah@acme.example");
	EXPECT_TRUE(HasNote(plan, "SSO (SAML) sign-in must be set up again in Stack Auth"));
	EXPECT_FALSE(HasNote(plan, "no password"));
}

TEST(PlanUser, SsoUserWithAPasswordDoesNotImportIt)
{
	SupabaseUser user = RegularUser();
	user.is_sso_user = true;
	PlannedUser plan = Plan(user);
	EXPECT_FALSE(plan.body.contains("password_hash"));
	EXPECT_TRUE(HasNote(plan, "password not imported: the user has no email sign-in in Stack Auth"));
}

TEST(PlanUser, BannedSsoUserIsRestrictedToo)
{
	SupabaseUser user = RegularUser();
	user.is_sso_user = true;
	user.banned_until = "2124-01-01 00:00:00+00";
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.kind, UserKind::Sso);
	EXPECT_EQ(plan.body["restricted_by_admin"], true);
	EXPECT_EQ(plan.body["restricted_by_admin_reason"], "banned in Supabase until 2124-01-01 00:00:00+00");
}

TEST(PlanUser, UserWithNoWayToSignIn)
{
	SupabaseUser user = RegularUser();
	user.email.reset();
	user.encrypted_password.reset();
	PlannedUser plan = Plan(user, {Identity("github", "77", "x@example.com")}, [] {
		UserPlanOptions options = Options();
		options.oauth_providers = {"google"};
		return options;
	}());
	EXPECT_TRUE(HasNote(plan, "no email and no configured OAuth provider: the user cannot sign in to Stack Auth"));
	EXPECT_TRUE(HasNote(plan, "github sign-in not configured in Stack Auth"));
	/* with a configured provider, OAuth is a way in */
	PlannedUser with_github = Plan(user, {Identity("github", "77", "x@example.com")});
	EXPECT_FALSE(HasNote(with_github, "cannot sign in"));
}

/* ---- passwords ---- */

struct PasswordCase {
	std::string name;
	std::optional<std::string> encrypted_password;
	bool password_sign_in;
	bool imported;
	std::string note; /* a substring of the one password note; empty: no note at all */
};

std::vector<PasswordCase>
PasswordCases()
{
	const std::string reset = ": the user must reset the password";
	return {
		{"Bcrypt2a10", kBcrypt10, true, true, ""},
		{"Bcrypt2b12", "$2b$12$" + kBcryptBody, true, true, ""},
		{"Bcrypt2y10", "$2y$10$" + kBcryptBody, true, true, ""},
		{"Bcrypt2a06Pgcrypto", "$2a$06$" + kBcryptBody, true, true, ""},
		{"Bcrypt2a16", "$2a$16$" + kBcryptBody, true, true, ""},
		{"Bcrypt2a04", "$2a$04$" + kBcryptBody, true, true, ""},
		{"Bcrypt2a17", "$2a$17$" + kBcryptBody, true, false, "bcrypt cost 17 above 16" + reset},
		{"Bcrypt2b31", "$2b$31$" + kBcryptBody, true, false, "bcrypt cost 31 above 16"},
		{"Bcrypt2a03", "$2a$03$" + kBcryptBody, true, false, "bcrypt cost 3 below 4"},
		{"Argon2id", kArgon2id, true, false, "argon2id hash cannot be imported: the user must reset the password"},
		{"Argon2i", "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", true, false,
		 "argon2i hash cannot be imported"},
		{"Empty", std::string(""), true, false, "no password in Supabase"},
		{"Null", std::nullopt, true, false, "no password in Supabase"},
		{"EmptyWithSignInDisabled", std::string(""), false, false, "no password in Supabase"},
		{"TruncatedBcrypt", "$2a$10$" + kBcryptBody.substr(0, 40), true, false, "unsupported hash format"},
		{"BcryptOneTooLong", kBcrypt10 + "x", true, false, "unsupported hash format"},
		{"BcryptWithSpace", "$2a$10$" + kBcryptBody.substr(0, 52) + " ", true, false, "unsupported hash format"},
		{"BcryptNonDigitCost", "$2a$1x$" + kBcryptBody, true, false, "unsupported hash format"},
		{"BcryptMissingDollar", "$2a$10x" + kBcryptBody, true, false, "unsupported hash format"},
		{"Bcrypt2x", "$2x$10$" + kBcryptBody, true, false, "unsupported hash format" + reset},
		{"Bcrypt2Plain", "$2$10$" + kBcryptBody + "x", true, false, "unsupported hash format"},
		{"Fbscrypt", "$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw==,sk=ZmFrZQ==$c2FsdA==$aGFzaA==", true, false,
		 "unsupported hash format" + reset},
		{"Plaintext", std::string("hunter2-secret"), true, false, "unsupported hash format"},
		{"SignInDisabled", kBcrypt10, false, false, "password not imported: password sign-in disabled in the project"},
		{"SignInDisabledArgon", kArgon2id, false, false, "password sign-in disabled in the project"},
	};
}

class PasswordTable : public testing::TestWithParam<PasswordCase>
{
};

TEST_P(PasswordTable, ImportsOrSaysWhyNot)
{
	const PasswordCase &c = GetParam();
	SupabaseUser user = RegularUser();
	user.encrypted_password = c.encrypted_password;
	UserPlanOptions options = Options();
	options.password_sign_in = c.password_sign_in;
	PlannedUser plan = Plan(user, {}, options);
	EXPECT_EQ(plan.body.contains("password_hash"), c.imported);
	if (c.imported) {
		EXPECT_EQ(plan.body["password_hash"], *c.encrypted_password);
	}
	/* the email stays a sign-in method whatever happened to the password */
	EXPECT_EQ(plan.body["primary_email_auth_enabled"], true);
	if (c.note.empty()) {
		EXPECT_TRUE(plan.notes.empty()) << AllNotes(plan);
	} else {
		ASSERT_EQ(plan.notes.size(), 1u) << AllNotes(plan);
		EXPECT_NE(plan.notes[0].find(c.note), std::string::npos) << plan.notes[0];
	}
	/* the hash, or any sizeable piece of it, never reaches a note */
	if (c.encrypted_password && c.encrypted_password->size() >= 8) {
		const std::string &secret = *c.encrypted_password;
		for (const auto &note : plan.notes) {
			EXPECT_EQ(note.find(secret), std::string::npos) << note;
			for (std::size_t i = 0; i + 12 <= secret.size(); i++)
				EXPECT_EQ(note.find(secret.substr(i, 12)), std::string::npos) << note;
		}
	}
}

INSTANTIATE_TEST_SUITE_P(Passwords, PasswordTable, testing::ValuesIn(PasswordCases()),
						 [](const testing::TestParamInfo<PasswordCase> &param_info) { return param_info.param.name; });

TEST(PlanUser, NoNoteOfAnyKindEverHoldsThePasswordHash)
{
	std::vector<std::string> hashes = {kBcrypt10, "$2a$17$" + kBcryptBody, "$2a$10$" + kBcryptBody.substr(0, 30),
									   kArgon2id, "plaintext-password-123"};
	std::vector<std::function<void(SupabaseUser &)>> kinds = {
		[](SupabaseUser &) {},
		[](SupabaseUser &u) { u.is_anonymous = true; },
		[](SupabaseUser &u) { u.is_sso_user = true; },
		[](SupabaseUser &u) { u.deleted_at = "2024-01-01 00:00:00+00"; },
		[](SupabaseUser &u) { u.banned_until = "infinity"; },
		[](SupabaseUser &u) {
			u.email.reset();
			u.phone = "4915112345678";
		},
		[](SupabaseUser &u) { u.email = "bad address"; },
	};
	for (const auto &hash : hashes) {
		for (bool sign_in : {true, false}) {
			for (const auto &change : kinds) {
				SupabaseUser user = RegularUser();
				user.encrypted_password = hash;
				change(user);
				UserPlanOptions options = Options();
				options.password_sign_in = sign_in;
				PlannedUser plan = Plan(user, {Identity("github", "1")}, options);
				for (const auto &note : plan.notes)
					EXPECT_EQ(note.find(hash), std::string::npos) << note;
				EXPECT_EQ(plan.body["server_metadata"].dump().find(hash), std::string::npos);
				if (plan.error) {
					EXPECT_EQ(plan.error->find(hash), std::string::npos);
				}
			}
		}
	}
}

/* ---- display name ---- */

struct NameCase {
	std::string name;
	json metadata;
	std::optional<std::string> display_name;
};

std::vector<NameCase>
NameCases()
{
	return {
		{"FullNameFirst",
		 {{"full_name", "Full"}, {"name", "Name"}, {"display_name", "Display"}, {"user_name", "user"}},
		 "Full"},
		{"NameSecond", {{"name", "Name"}, {"display_name", "Display"}, {"user_name", "user"}}, "Name"},
		{"DisplayNameThird", {{"display_name", "Display"}, {"user_name", "user"}}, "Display"},
		{"UserNameLast", {{"user_name", "octocat"}, {"preferred_username", "other"}}, "octocat"},
		{"BlankSkipped", {{"full_name", "  \t"}, {"name", ""}, {"display_name", " Dee "}}, "Dee"},
		{"NonStringSkipped",
		 {{"full_name", 42}, {"name", nullptr}, {"display_name", json::array()}, {"user_name", "u"}},
		 "u"},
		{"Trimmed", {{"full_name", "\n Ada Lovelace  "}}, "Ada Lovelace"},
		{"NonAscii", {{"full_name", "Zoë Ŋgöbé 😀"}}, "Zoë Ŋgöbé 😀"},
		{"NoneOfThem", {{"avatar_url", "https://x.example/a.png"}, {"nickname", "Nick"}}, std::nullopt},
		{"EmptyObject", json::object(), std::nullopt},
		{"Null", json(nullptr), std::nullopt},
		{"NotAnObject", json("Ada"), std::nullopt},
	};
}

class DisplayNameTable : public testing::TestWithParam<NameCase>
{
};

TEST_P(DisplayNameTable, FirstNonBlank)
{
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = GetParam().metadata;
	PlannedUser plan = Plan(user);
	if (GetParam().display_name) {
		EXPECT_EQ(plan.body["display_name"], *GetParam().display_name);
	} else {
		EXPECT_FALSE(plan.body.contains("display_name"));
	}
	EXPECT_FALSE(HasNote(plan, "display name"));
}

INSTANTIATE_TEST_SUITE_P(Names, DisplayNameTable, testing::ValuesIn(NameCases()),
						 [](const testing::TestParamInfo<NameCase> &param_info) { return param_info.param.name; });

std::string
Repeat(const std::string &piece, std::size_t times)
{
	std::string out;
	for (std::size_t i = 0; i < times; i++)
		out += piece;
	return out;
}

struct CutCase {
	std::string name;
	std::string full_name;
	std::string expected;
	std::string note; /* empty: no note */
};

std::vector<CutCase>
CutCases()
{
	const std::string e_acute = "\xC3\xA9";		 /* é: 2 bytes, 1 UTF-16 unit */
	const std::string cjk = "\xE6\xBC\xA2";		 /* 漢: 3 bytes, 1 unit */
	const std::string grin = "\xF0\x9F\x98\x80"; /* 😀: 4 bytes, 2 units (a surrogate pair) */
	return {
		{"Exactly256Ascii", Repeat("a", 256), Repeat("a", 256), ""},
		{"Ascii300", Repeat("a", 300), Repeat("a", 256), "display name cut to 256 characters (it had 300)"},
		{"TwoByte300", Repeat(e_acute, 300), Repeat(e_acute, 256), "(it had 300)"},
		{"ThreeByte257", Repeat(cjk, 257), Repeat(cjk, 256), "(it had 257)"},
		{"Emoji128Fits", Repeat(grin, 128), Repeat(grin, 128), ""},
		{"Emoji200", Repeat(grin, 200), Repeat(grin, 128), "(it had 400)"},
		{"EmojiAcrossTheLimitIsLeftOut", Repeat("a", 255) + grin + "b", Repeat("a", 255), "(it had 258)"},
		{"Mixed", Repeat(e_acute + grin + cjk, 100), Repeat(e_acute + grin + cjk, 64), "(it had 400)"},
	};
}

class DisplayNameCut : public testing::TestWithParam<CutCase>
{
};

TEST_P(DisplayNameCut, AtACodePointWithinStackAuthsLimit)
{
	const CutCase &c = GetParam();
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = {{"full_name", c.full_name}};
	PlannedUser plan = Plan(user);
	ASSERT_TRUE(plan.body["display_name"].is_string());
	EXPECT_EQ(plan.body["display_name"].get<std::string>(), c.expected);
	/* still valid UTF-8: dump() would throw on a split sequence */
	EXPECT_NO_THROW(plan.body.dump());
	if (c.note.empty()) {
		EXPECT_FALSE(HasNote(plan, "display name")) << AllNotes(plan);
	} else {
		EXPECT_TRUE(HasNote(plan, c.note)) << AllNotes(plan);
	}
	/* the metadata itself keeps the full name */
	EXPECT_EQ(plan.body["client_metadata"]["full_name"], c.full_name);
}

INSTANTIATE_TEST_SUITE_P(Names, DisplayNameCut, testing::ValuesIn(CutCases()),
						 [](const testing::TestParamInfo<CutCase> &param_info) { return param_info.param.name; });

/* ---- profile image ---- */

struct AvatarCase {
	std::string name;
	json metadata;
	std::optional<std::string> url;
	std::string note; /* empty: no note */
};

std::vector<AvatarCase>
AvatarCases()
{
	const std::string long_url = "https://cdn.example.com/" + std::string(1000000 - 24, 'a');
	return {
		{"Https", {{"avatar_url", "https://cdn.example.com/a.png"}}, "https://cdn.example.com/a.png", ""},
		{"Http", {{"avatar_url", "http://localhost:3000/a.png"}}, "http://localhost:3000/a.png", ""},
		{"UpperCaseScheme", {{"avatar_url", "HTTPS://cdn.example.com/a.png"}}, "HTTPS://cdn.example.com/a.png", ""},
		{"PictureWhenNoAvatarUrl",
		 {{"picture", "https://lh3.googleusercontent.com/a/x=s96-c"}},
		 "https://lh3.googleusercontent.com/a/x=s96-c",
		 ""},
		{"AvatarUrlBeforePicture",
		 {{"avatar_url", "https://a.example/1.png"}, {"picture", "https://b.example/2.png"}},
		 "https://a.example/1.png",
		 ""},
		{"BlankAvatarUrlFallsToPicture",
		 {{"avatar_url", " "}, {"picture", "https://b.example/2.png"}},
		 "https://b.example/2.png",
		 ""},
		{"Trimmed", {{"avatar_url", " https://a.example/1.png\n"}}, "https://a.example/1.png", ""},
		{"Exactly1000000", {{"avatar_url", long_url}}, long_url, ""},
		{"TooLong", {{"avatar_url", long_url + "a"}}, std::nullopt, "avatar_url is longer than 1,000,000 characters"},
		{"DataUrl",
		 {{"avatar_url", "data:image/png;base64,iVBORw0KGgo="}},
		 std::nullopt,
		 "profile image URL dropped: user metadata avatar_url is not an http(s) URL without whitespace"},
		{"JavascriptUrl", {{"avatar_url", "javascript:alert(1)"}}, std::nullopt, "not an http(s) URL"},
		{"RelativePath", {{"avatar_url", "/avatars/1.png"}}, std::nullopt, "not an http(s) URL"},
		{"InnerSpace", {{"avatar_url", "https://a.example/my avatar.png"}}, std::nullopt, "not an http(s) URL"},
		{"InnerTab", {{"picture", "https://a.example/\t.png"}}, std::nullopt, "user metadata picture is not"},
		{"NoHost", {{"avatar_url", "https://"}}, std::nullopt, "not an http(s) URL"},
		{"EmptyHost", {{"avatar_url", "https:///a.png"}}, std::nullopt, "not an http(s) URL"},
		{"FtpScheme", {{"avatar_url", "ftp://a.example/a.png"}}, std::nullopt, "not an http(s) URL"},
		{"NonStringIgnored", {{"avatar_url", 7}}, std::nullopt, ""},
		{"Absent", {{"full_name", "X"}}, std::nullopt, ""},
	};
}

class AvatarTable : public testing::TestWithParam<AvatarCase>
{
};

TEST_P(AvatarTable, KeepsOnlyHttpUrls)
{
	const AvatarCase &c = GetParam();
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = c.metadata;
	UserPlanOptions options = Options();
	options.max_body_bytes = 4 * 1000 * 1000; /* the long URLs are also in client_metadata */
	PlannedUser plan = Plan(user, {}, options);
	if (c.url) {
		EXPECT_EQ(plan.body["profile_image_url"], *c.url);
	} else {
		EXPECT_FALSE(plan.body.contains("profile_image_url"));
	}
	if (c.note.empty()) {
		EXPECT_FALSE(HasNote(plan, "profile image")) << AllNotes(plan);
	} else {
		EXPECT_TRUE(HasNote(plan, c.note)) << AllNotes(plan);
		/* the URL itself is not repeated in the note */
		for (const auto &note : plan.notes)
			EXPECT_LT(note.size(), 200u);
	}
	EXPECT_FALSE(plan.error.has_value());
}

INSTANTIATE_TEST_SUITE_P(Avatars, AvatarTable, testing::ValuesIn(AvatarCases()),
						 [](const testing::TestParamInfo<AvatarCase> &param_info) { return param_info.param.name; });

/* ---- OAuth providers ---- */

TEST(StackProviderId, SupabaseNamesMapped)
{
	EXPECT_EQ(StackProviderId("azure"), "microsoft");
	EXPECT_EQ(StackProviderId("twitter"), "x");
	EXPECT_EQ(StackProviderId("linkedin_oidc"), "linkedin");
	EXPECT_EQ(StackProviderId("slack_oidc"), "slack");
	for (const char *same : {"google", "github", "gitlab", "bitbucket", "discord", "facebook", "apple", "spotify",
							 "twitch", "linkedin", "slack", "x", "microsoft"})
		EXPECT_EQ(StackProviderId(same), same);
}

TEST(PlanUser, OAuthProvidersMappedAndFiltered)
{
	SupabaseUser user = RegularUser();
	UserPlanOptions options = Options();
	options.oauth_providers = {"google", "microsoft", "linkedin"};
	std::vector<SupabaseIdentity> identities = {
		Identity("email", user.id, "ada@example.com"),
		Identity("google", "109876543210987654321", "ada@gmail.com"),
		Identity("azure", "00000000-0000-0000-66f3-3332eca7ea81", "ada@contoso.com"),
		Identity("github", "583231", "ada@users.noreply.github.com"),
		Identity("linkedin_oidc", "li-abc", std::nullopt),
		Identity("twitter", "12345", std::nullopt),
		Identity("phone", user.id),
		Identity("anonymous", user.id),
		Identity("sso:0f7b3f1e-8a8a-4c3e-9d53-7a1c2f5b6e11", "ada@acme"),
		Identity("github", "999", std::nullopt), /* a second unconfigured github: one note only */
	};
	PlannedUser plan = Plan(user, identities, options);
	json expected = json::array({
		{{"id", "google"}, {"account_id", "109876543210987654321"}, {"email", "ada@gmail.com"}},
		{{"id", "microsoft"}, {"account_id", "00000000-0000-0000-66f3-3332eca7ea81"}, {"email", "ada@contoso.com"}},
		{{"id", "linkedin"}, {"account_id", "li-abc"}, {"email", nullptr}},
	});
	EXPECT_EQ(plan.body["oauth_providers"], expected) << plan.body["oauth_providers"].dump(2);
	std::vector<std::string> notes = {
		"github sign-in not configured in Stack Auth: the user can no longer sign in with github",
		"x (twitter in Supabase) sign-in not configured in Stack Auth: the user can no longer sign in with x",
	};
	EXPECT_EQ(plan.notes, notes) << AllNotes(plan);
}

TEST(PlanUser, OneAccountPerProviderTheFirstGivenWins)
{
	SupabaseUser user = RegularUser();
	std::vector<SupabaseIdentity> identities = {
		Identity("google", "222", "recent@gmail.com"),
		Identity("google", "111", "older@gmail.com"),
	};
	PlannedUser plan = Plan(user, identities);
	ASSERT_EQ(plan.body["oauth_providers"].size(), 1u);
	EXPECT_EQ(plan.body["oauth_providers"][0]["account_id"], "222");
	EXPECT_TRUE(HasNote(plan, "another google account (111) not linked: Stack Auth allows one google account per "
							  "user"));
	/* linkedin and linkedin_oidc land on the same Stack Auth provider */
	UserPlanOptions options = Options();
	options.oauth_providers.insert("linkedin");
	PlannedUser both = Plan(user, {Identity("linkedin_oidc", "new"), Identity("linkedin", "old")}, options);
	ASSERT_EQ(both.body["oauth_providers"].size(), 1u);
	EXPECT_EQ(both.body["oauth_providers"][0]["account_id"], "new");
	EXPECT_TRUE(HasNote(both, "another linkedin account (old) not linked"));
}

TEST(PlanUser, IdentityWithoutAccountIdIsNotLinked)
{
	PlannedUser plan = Plan(RegularUser(), {Identity("google", "")});
	EXPECT_FALSE(plan.body.contains("oauth_providers"));
	EXPECT_TRUE(HasNote(plan, "google identity without a provider account ID: not linked"));
}

TEST(PlanUser, OAuthOnlyUserHasNoEmailSignInButNoComplaint)
{
	SupabaseUser user = RegularUser();
	user.email = "max@weber.example";
	user.encrypted_password = "";
	PlannedUser plan = Plan(user, {Identity("google", "1", "max@weber.example"), Identity("github", "2")});
	EXPECT_EQ(plan.body["oauth_providers"].size(), 2u);
	EXPECT_EQ(plan.body["oauth_providers"][1]["email"], nullptr);
	EXPECT_EQ(plan.notes, std::vector<std::string>{"no password in Supabase"});
}

/* ---- metadata ---- */

TEST(PlanUser, MetadataPlacement)
{
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = {{"theme", "dark"}};
	user.raw_app_meta_data = {
		{"provider", "email"}, {"providers", {"email", "google"}}, {"plan", "pro"}, {"roles", {"admin"}}};
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.body["client_metadata"], json({{"theme", "dark"}}));
	EXPECT_EQ(plan.body["client_read_only_metadata"], json({{"plan", "pro"}, {"roles", {"admin"}}}));
	EXPECT_FALSE(plan.body["server_metadata"].contains("theme"));
}

struct MetadataCase {
	std::string name;
	json user_meta;
	json app_meta;
	bool client;
	bool read_only;
};

std::vector<MetadataCase>
MetadataCases()
{
	return {
		{"BothEmptyObjects", json::object(), json::object(), false, false},
		{"BothNull", json(nullptr), json(nullptr), false, false},
		{"OnlySupabaseProviderKeys", json::object(), {{"provider", "email"}, {"providers", {"email"}}}, false, false},
		{"OnlyProviderKey", json::object(), {{"provider", "google"}}, false, false},
		{"CustomClaim", json::object(), {{"provider", "email"}, {"tenant", 7}}, false, true},
		{"UserMetadataOnly", {{"a", 1}}, {{"provider", "email"}}, true, false},
		{"NonObjectUserMetadataKept", json::array({1, 2}), json(nullptr), true, false},
		{"NonObjectAppMetadataKept", json::object(), json("x"), false, true},
	};
}

class MetadataTable : public testing::TestWithParam<MetadataCase>
{
};

TEST_P(MetadataTable, OmittedWhenEmpty)
{
	const MetadataCase &c = GetParam();
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = c.user_meta;
	user.raw_app_meta_data = c.app_meta;
	PlannedUser plan = Plan(user);
	EXPECT_EQ(plan.body.contains("client_metadata"), c.client);
	EXPECT_EQ(plan.body.contains("client_read_only_metadata"), c.read_only);
	if (c.client) {
		EXPECT_EQ(plan.body["client_metadata"], c.user_meta);
	}
	EXPECT_TRUE(plan.body["server_metadata"].is_object());
}

INSTANTIATE_TEST_SUITE_P(Metadata, MetadataTable, testing::ValuesIn(MetadataCases()),
						 [](const testing::TestParamInfo<MetadataCase> &param_info) { return param_info.param.name; });

TEST(PlanUser, ServerMetadataContents)
{
	SupabaseUser user = RegularUser();
	user.phone = " 4915112345678 ";
	user.last_sign_in_at.reset();
	user.created_at.reset();
	PlannedUser plan = Plan(user);
	json expected = {{"supabase_user_id", user.id},
					 {"supabase_kind", "regular"},
					 {"supabase_created_at", nullptr},
					 {"supabase_phone", "4915112345678"}};
	EXPECT_EQ(plan.body["server_metadata"], expected);
	EXPECT_FALSE(plan.created_at_us.has_value());
	EXPECT_FALSE(plan.last_sign_in_at_us.has_value());
}

TEST(PlanUser, UnreadableTimestampsAreErrors)
{
	struct {
		const char *column;
		std::function<void(SupabaseUser &)> change;
	} cases[] = {
		{"created_at", [](SupabaseUser &u) { u.created_at = "yesterday"; }},
		{"last_sign_in_at", [](SupabaseUser &u) { u.last_sign_in_at = "2024-13-01 00:00:00+00"; }},
		{"banned_until", [](SupabaseUser &u) { u.banned_until = "03/01/2124"; }},
	};
	for (const auto &c : cases) {
		SupabaseUser user = RegularUser();
		c.change(user);
		PlannedUser plan = Plan(user);
		ASSERT_TRUE(plan.error.has_value()) << c.column;
		EXPECT_EQ(plan.error->rfind(std::string(c.column) + " is not a timestamp: \"", 0), 0u) << *plan.error;
	}
}

/* ---- size ---- */

TEST(PlanUser, OversizeBodyIsAnErrorNotARequest)
{
	SupabaseUser user = RegularUser();
	user.raw_user_meta_data = {{"blob", std::string(120 * 1024, 'x')}};
	PlannedUser plan = Plan(user);
	ASSERT_TRUE(plan.error.has_value());
	std::string size = std::to_string(plan.body.dump().size());
	EXPECT_EQ(*plan.error, "metadata too large (" + size + " bytes)");
	EXPECT_EQ(plan.kind, UserKind::Regular);

	/* the limit is configurable, and a body exactly at it passes */
	UserPlanOptions options = Options();
	options.max_body_bytes = plan.body.dump().size();
	EXPECT_FALSE(Plan(user, {}, options).error.has_value());
	options.max_body_bytes--;
	EXPECT_TRUE(Plan(user, {}, options).error.has_value());
	/* the default limit is 100 KB */
	EXPECT_EQ(UserPlanOptions{}.max_body_bytes, 102400u);
}

TEST(PlanUser, TextThatIsNotUtf8IsAnError)
{
	SupabaseUser user = RegularUser();
	user.email.reset();
	user.phone = "49151\xff\xfe";
	PlannedUser plan = Plan(user);
	ASSERT_TRUE(plan.error.has_value());
	EXPECT_NE(plan.error->find("not valid UTF-8"), std::string::npos);
}

/* ---- email collisions ---- */

PlannedUser
Colliding(const std::string &id, const std::string &email, std::optional<std::string> last_sign_in,
		  std::optional<std::string> created = std::string("2023-01-01 00:00:00+00"))
{
	SupabaseUser user = RegularUser();
	user.id = id;
	user.email = email;
	user.last_sign_in_at = std::move(last_sign_in);
	user.created_at = std::move(created);
	return Plan(user);
}

std::string
Winner(std::vector<PlannedUser> users, std::vector<std::string> *loser_notes = nullptr)
{
	ResolveEmailCollisions(users);
	std::string winner;
	for (const auto &user : users) {
		if (user.body["primary_email_auth_enabled"] == true) {
			EXPECT_EQ(winner, "") << "two winners";
			winner = user.source_id;
		}
	}
	for (const auto &user : users) {
		if (user.source_id == winner)
			continue;
		EXPECT_EQ(user.body["primary_email_auth_enabled"], false);
		EXPECT_EQ(user.body["server_metadata"]["supabase_email_shared_with"], winner);
		EXPECT_TRUE(HasNote(user, "Supabase user " + winner + ", which keeps email sign-in")) << AllNotes(user);
		if (loser_notes)
			loser_notes->push_back(user.notes.back());
	}
	return winner;
}

void
ExpectSameWinnerInEveryOrder(std::vector<PlannedUser> users, const std::string &expected)
{
	std::sort(users.begin(), users.end(),
			  [](const PlannedUser &a, const PlannedUser &b) { return a.source_id < b.source_id; });
	int orders = 0;
	do {
		EXPECT_EQ(Winner(users), expected) << "order " << orders;
		orders++;
	} while (std::next_permutation(users.begin(), users.end(), [](const PlannedUser &a, const PlannedUser &b) {
		return a.source_id < b.source_id;
	}));
	EXPECT_GE(orders, 2);
}

TEST(ResolveEmailCollisions, MostRecentSignInKeepsIt)
{
	std::vector<PlannedUser> users = {
		Colliding("00000000-0000-0000-0000-000000000001", "Jordan.Lee@example.com", "2024-01-01 00:00:00+00"),
		Colliding("00000000-0000-0000-0000-000000000002", "jordan.lee@example.com", "2024-02-01 00:00:00+00"),
		Colliding("00000000-0000-0000-0000-000000000003", " JORDAN.LEE@EXAMPLE.COM ", std::nullopt),
		Colliding("00000000-0000-0000-0000-000000000004", "someone.else@example.com", "2023-01-01 00:00:00+00"),
	};
	ExpectSameWinnerInEveryOrder({users[0], users[1], users[2]}, "00000000-0000-0000-0000-000000000002");
	std::vector<PlannedUser> resolved = users;
	ResolveEmailCollisions(resolved);
	EXPECT_EQ(resolved[3].body["primary_email_auth_enabled"], true);
	EXPECT_TRUE(resolved[3].notes.empty());
	EXPECT_TRUE(resolved[1].notes.empty());
	EXPECT_EQ(resolved[0].notes.back(), "email jordan.lee@example.com is shared (after lowercasing) with Supabase "
										"user 00000000-0000-0000-0000-000000000002, which keeps email sign-in: this "
										"user keeps the email without sign-in");
	/* losers keep their email and password */
	EXPECT_EQ(resolved[0].body["primary_email"], "Jordan.Lee@example.com");
	EXPECT_TRUE(resolved[0].body.contains("password_hash"));
}

TEST(ResolveEmailCollisions, TiesGoToTheEarliestSignUpThenTheSmallestId)
{
	const std::string same = "2024-02-01 00:00:00+00";
	ExpectSameWinnerInEveryOrder(
		{
			Colliding("00000000-0000-0000-0000-00000000000a", "a@x.example", same, "2023-05-01 00:00:00+00"),
			Colliding("00000000-0000-0000-0000-00000000000b", "A@x.example", same, "2023-04-01 00:00:00+00"),
			Colliding("00000000-0000-0000-0000-00000000000c", "a@X.example", same, std::nullopt),
		},
		"00000000-0000-0000-0000-00000000000b");
	ExpectSameWinnerInEveryOrder(
		{
			Colliding("00000000-0000-0000-0000-00000000000b", "a@x.example", same),
			Colliding("00000000-0000-0000-0000-00000000000A", "A@x.example", same),
			Colliding("00000000-0000-0000-0000-00000000000c", "a@X.example", same),
		},
		"00000000-0000-0000-0000-00000000000A");
	/* never signed in loses to any sign-in, however old */
	ExpectSameWinnerInEveryOrder(
		{
			Colliding("00000000-0000-0000-0000-000000000001", "a@x.example", std::nullopt, "2020-01-01 00:00:00+00"),
			Colliding("00000000-0000-0000-0000-000000000002", "A@x.example", "2021-01-01 00:00:00+00"),
		},
		"00000000-0000-0000-0000-000000000002");
	/* compared as instants, not as text */
	ExpectSameWinnerInEveryOrder(
		{
			Colliding("00000000-0000-0000-0000-000000000001", "a@x.example", "2024-02-01 10:00:00+00"),
			Colliding("00000000-0000-0000-0000-000000000002", "A@x.example", "2024-02-01 09:30:00-01"),
		},
		"00000000-0000-0000-0000-000000000002");
}

TEST(ResolveEmailCollisions, OnlyUsersThatWouldSignInWithTheEmailCount)
{
	SupabaseUser sso = RegularUser();
	sso.id = "00000000-0000-0000-0000-000000000009";
	sso.email = "kofi.mensah@acme.example";
	sso.is_sso_user = true;
	sso.last_sign_in_at = "2030-01-01 00:00:00+00";
	SupabaseUser oversize = RegularUser();
	oversize.id = "00000000-0000-0000-0000-000000000008";
	oversize.email = "Kofi.Mensah@acme.example";
	oversize.last_sign_in_at = "2030-01-01 00:00:00+00";
	oversize.raw_user_meta_data = {{"blob", std::string(200 * 1024, 'x')}};
	std::vector<PlannedUser> users = {
		Plan(sso),
		Plan(oversize),
		Colliding("00000000-0000-0000-0000-000000000001", "kofi.mensah@acme.example", "2020-01-01 00:00:00+00"),
	};
	ASSERT_TRUE(users[1].error.has_value());
	ResolveEmailCollisions(users);
	EXPECT_EQ(users[2].body["primary_email_auth_enabled"], true);
	EXPECT_EQ(users[0].body["primary_email_auth_enabled"], false);
	EXPECT_TRUE(users[2].notes.empty()) << AllNotes(users[2]);
	EXPECT_FALSE(users[0].body["server_metadata"].contains("supabase_email_shared_with"));
}

TEST(ResolveEmailCollisions, ManyGroupsAtOnce)
{
	std::vector<PlannedUser> users;
	for (int group = 0; group < 5; group++)
		for (int member = 0; member < 3; member++)
			users.push_back(
				Colliding("00000000-0000-0000-000" + std::to_string(group) + "-00000000000" + std::to_string(member),
						  (member == 1 ? "User" : "user") + std::to_string(group) + "@example.com",
						  "2024-01-0" + std::to_string(member + 1) + " 00:00:00+00"));
	ResolveEmailCollisions(users);
	int enabled = 0;
	for (const auto &user : users) {
		if (user.body["primary_email_auth_enabled"] == true) {
			enabled++;
			EXPECT_EQ(user.source_id.back(), '2'); /* the latest sign-in of each group */
		}
	}
	EXPECT_EQ(enabled, 5);
	/* resolving twice changes nothing more */
	std::vector<PlannedUser> again = users;
	ResolveEmailCollisions(again);
	for (std::size_t i = 0; i < users.size(); i++)
		EXPECT_EQ(again[i].body, users[i].body);
}

/* ---- helpers ---- */

struct TimestampCase {
	std::string text;
	std::optional<std::int64_t> micros;
};

TEST(ParsePgTimestamp, AsPostgresPrintsThem)
{
	const std::int64_t s = 1000000;
	std::vector<TimestampCase> cases = {
		{"2024-03-01 12:00:00+00", 1709294400 * s},
		{"2024-03-01 12:00:00.123456+00", 1709294400 * s + 123456},
		{"2024-03-01 12:00:00.5+00", 1709294400 * s + 500000},
		{"2024-03-01 12:00:00.000001+00", 1709294400 * s + 1},
		{"2024-03-01 13:00:00+01", 1709294400 * s},
		{"2024-03-01 17:30:00+05:30", 1709294400 * s},
		{"2024-03-01 11:00:00-01", 1709294400 * s},
		{"1883-11-18 12:00:00+00:09:21", -2717669361LL * s},
		{"2024-03-01T12:00:00Z", 1709294400 * s},
		{"2024-03-01 12:00:00", 1709294400 * s},
		{"1970-01-01 00:00:00+00", 0},
		{"1969-12-31 23:59:59.999999+00", -1},
		{"2124-03-01 12:00:00+00", 4864968000LL * s},
		{"0001-01-01 00:00:00+00 BC", -62167219200LL * s},
		{"infinity", std::numeric_limits<std::int64_t>::max()},
		{"-infinity", std::numeric_limits<std::int64_t>::min()},
		{"", std::nullopt},
		{"2024-02-30 00:00:00+00", std::nullopt},
		{"2024-03-01", std::nullopt},
		{"2024-03-01 12:00+00", std::nullopt},
		{"2024-03-01 12:00:00.+00", std::nullopt},
		{"2024-03-01 12:00:00+0", std::nullopt},
		{"2024-03-01 12:00:00 +00", std::nullopt},
		{"24-03-01 12:00:00+00", std::nullopt},
		{"2024-03-01 12:00:00+00 AD", std::nullopt},
		{"Infinity", std::nullopt},
	};
	for (const auto &c : cases)
		EXPECT_EQ(ParsePgTimestamp(c.text), c.micros) << "\"" << c.text << "\"";
}

TEST(IsAcceptedEmail, AsYupsPatternSays)
{
	for (const char *good : {"ada@example.com", "Jordan.Lee@Example.COM", "a@gmai", "o'brien+tag@x.example",
							 "a!#$%&'*+/=?^_`{|}~-@x-y.example", "x@a1.b2.c3"})
		EXPECT_TRUE(IsAcceptedEmail(good)) << good;
	for (const char *bad :
		 {"", "@example.com", "ada@", "ada", "ada@@example.com", "a b@example.com", "ada@-example.com",
		  "ada@example-.com", "ada@example..com", "ada@.example.com", "ada@example.com.", "ada@exa_mple.com",
		  "zoë@example.com", "ada@exämple.com", "\"quoted\"@example.com"})
		EXPECT_FALSE(IsAcceptedEmail(bad)) << bad;
	EXPECT_TRUE(IsAcceptedEmail("a@" + std::string(63, 'b') + ".example"));
	EXPECT_FALSE(IsAcceptedEmail("a@" + std::string(64, 'b') + ".example"));
}

TEST(NormalizeEmail, TrimsAndLowercases)
{
	EXPECT_EQ(NormalizeEmail("  Jordan.Lee@Example.COM\t\n"), "jordan.lee@example.com");
	EXPECT_EQ(NormalizeEmail(""), "");
}

} // namespace
