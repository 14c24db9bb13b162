/*
 * user_sync_test.cpp: the digests `cutover users --sync` keeps of what it sent, and the PATCH of a changed user
 * (client/user_sync.hpp).
 */
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sha256.hpp"
#include "user_sync.hpp"

namespace {

using cutover::IdentitiesDigest;
using cutover::PatchableDigest;
using cutover::PatchBody;
using nlohmann::json;

json
Regular()
{
	return json::parse(R"({"primary_email": "ada@example.com", "primary_email_verified": true,
		"primary_email_auth_enabled": true, "password_hash": "$2a$10$abcdefghijklmnopqrstuu0123456789012345678901234567890",
		"display_name": "Ada", "server_metadata": {"supabase_user_id": "6f1c1a7e-2b9a-4f3e-9a51-3c1e2d4b5a60"},
		"oauth_providers": [{"id": "google", "account_id": "123", "email": "ada@example.com"}]})");
}

TEST(UserSync, DigestsSeeEveryPatchableChangeAndNothingElse)
{
	json body = Regular();
	std::string digest = PatchableDigest(body);
	EXPECT_EQ(digest.size(), 64u);
	/* the same body built in another key order */
	json reordered = json::object();
	for (auto it = body.rbegin(); it != body.rend(); ++it)
		reordered[it.key()] = it.value();
	EXPECT_EQ(PatchableDigest(reordered), digest);

	for (const auto &[field, value] : std::vector<std::pair<std::string, json>>{
			 {"primary_email", "ada@new.example"},
			 {"primary_email_verified", false},
			 {"password_hash", "$2a$10$zzzzzzzzzzzzzzzzzzzzzu0123456789012345678901234567890"},
			 {"display_name", "Ada L."},
			 {"profile_image_url", "https://example.com/a.png"},
			 {"client_metadata", {{"plan", "pro"}}},
			 {"restricted_by_admin", true}}) {
		json changed = body;
		changed[field] = value;
		EXPECT_NE(PatchableDigest(changed), digest) << field;
		EXPECT_EQ(IdentitiesDigest(changed), IdentitiesDigest(body)) << field;
	}
	json nested = body;
	nested["server_metadata"]["supabase_last_sign_in_at"] = "2026-12-01T10:00:00.000Z";
	EXPECT_NE(PatchableDigest(nested), digest);

	/* an OAuth account added: not in what a PATCH can change, in the identities' digest */
	json linked = body;
	linked["oauth_providers"].push_back({{"id", "github"}, {"account_id", "9"}, {"email", nullptr}});
	EXPECT_EQ(PatchableDigest(linked), digest);
	EXPECT_NE(IdentitiesDigest(linked), IdentitiesDigest(body));
	json none = body;
	none.erase("oauth_providers");
	EXPECT_EQ(IdentitiesDigest(none), IdentitiesDigest(json::object({{"oauth_providers", json::array()}})));
}

TEST(UserSync, TheDigestIsThatOfTheBodyWithoutOAuthAccounts)
{
	/* the journals of earlier runs hold digests of the body's text without oauth_providers: the same text */
	for (json body : {Regular(), json::object(), json::parse(R"({"oauth_providers": [], "z\"q": "\u00e9\n"})")}) {
		json without = body;
		without.erase("oauth_providers");
		std::string text = without.dump();
		cutover::Sha256 sha;
		sha.Update(text.data(), text.size());
		EXPECT_EQ(PatchableDigest(body), sha.Hex()) << text;
	}
}

TEST(UserSync, TheSourceDigestTakesTheSettingsIn)
{
	using cutover::SettingsDigest;
	using cutover::SourceDigest;
	std::string settings = SettingsDigest("oauth=github,google;passwords=1");
	EXPECT_EQ(settings.size(), 16u);
	EXPECT_EQ(SettingsDigest("oauth=github,google;passwords=1"), settings);
	EXPECT_NE(SettingsDigest("oauth=github,google;passwords=0"), settings);
	std::string digest = SourceDigest("-1234567890123", settings);
	EXPECT_EQ(SourceDigest("-1234567890123", settings), digest);
	EXPECT_NE(SourceDigest("-1234567890124", settings), digest);
	EXPECT_NE(SourceDigest("-1234567890123", SettingsDigest("oauth=github,google;passwords=0")), digest);
}

TEST(UserSync, PatchSetsWhatThePlanLeavesOut)
{
	json patch = PatchBody(Regular());
	EXPECT_FALSE(patch.contains("oauth_providers"));
	EXPECT_EQ(patch["primary_email"], "ada@example.com");
	EXPECT_EQ(patch["password_hash"], Regular()["password_hash"]);
	EXPECT_FALSE(patch.contains("password")); /* Stack Auth refuses password and password_hash together */
	EXPECT_TRUE(patch["profile_image_url"].is_null());
	EXPECT_TRUE(patch["client_metadata"].is_null());
	EXPECT_EQ(patch["restricted_by_admin"], false);
	EXPECT_TRUE(patch["restricted_by_admin_reason"].is_null());

	/* soft-deleted since: no email, no password, restricted with a reason */
	json deleted = json::parse(R"({"restricted_by_admin": true,
		"restricted_by_admin_reason": "deleted in Supabase at 2026-12-01 10:00:00+00",
		"server_metadata": {"supabase_kind": "soft_deleted"}})");
	patch = PatchBody(deleted);
	EXPECT_TRUE(patch["primary_email"].is_null());
	EXPECT_EQ(patch["primary_email_verified"], false);
	EXPECT_EQ(patch["primary_email_auth_enabled"], false);
	EXPECT_TRUE(patch["password"].is_null());
	EXPECT_TRUE(patch["display_name"].is_null());
	EXPECT_EQ(patch["restricted_by_admin_reason"], deleted["restricted_by_admin_reason"]);

	/* PATCH takes is_anonymous false only: an anonymous user stays so by leaving it out */
	EXPECT_FALSE(PatchBody(json{{"is_anonymous", true}}).contains("is_anonymous"));
	EXPECT_EQ(PatchBody(json{{"is_anonymous", false}})["is_anonymous"], false);
}

} // namespace

namespace sync_triage {

using cutover::MappedUser;
using cutover::PlannedUser;
using cutover::TriageMapped;

PlannedUser
Planned(const std::string &id, json body)
{
	PlannedUser user;
	user.source_id = id;
	user.body = std::move(body);
	return user;
}

MappedUser
Sent(const json &body, const std::string &target)
{
	return MappedUser{target, true, PatchableDigest(body), IdentitiesDigest(body), std::nullopt, false, false};
}

/* Which of `users` are in `list`, by Supabase user ID. */
std::vector<std::string>
Ids(const std::vector<const PlannedUser *> &list)
{
	std::vector<std::string> ids;
	for (const PlannedUser *user : list)
		ids.push_back(user->source_id);
	return ids;
}

TEST(UserSyncTriage, EachMappedUserSortedByWhatChanged)
{
	json sent = Regular();
	json renamed = sent;
	renamed["display_name"] = "Ada L.";
	json relinked = sent;
	relinked["oauth_providers"] = json::array();
	json both = renamed;
	both["oauth_providers"] = json::array();

	std::vector<PlannedUser> planned = {Planned("a", sent), Planned("b", renamed), Planned("c", relinked),
										Planned("d", both), Planned("e", sent),	   Planned("f", sent),
										Planned("n", sent), Planned("u", sent)};
	planned[7].error = "no way to sign in";
	std::map<std::string, MappedUser> mapped = {{"a", Sent(sent, "ta")},		   {"b", Sent(sent, "tb")},
												{"c", Sent(sent, "tc")},		   {"d", Sent(sent, "td")},
												{"u", Sent(sent, "tu")},		   {"gone", Sent(sent, "tg")},
												{"gone-marked", Sent(sent, "tm")}, {"gone-deleted", Sent(sent, "tx")},
												{"foreign-gone", Sent(sent, "tf")}};
	/* adopted: nothing known of what Stack Auth holds, so it is PATCHed, its OAuth accounts never reported */
	mapped["e"] = MappedUser{"te", true, std::nullopt, std::nullopt, std::nullopt, false, false};
	/* mapped outside `cutover users`: left alone, and never deleted */
	mapped["f"] = MappedUser{"tf2", false, std::nullopt, std::nullopt, std::nullopt, false, false};
	mapped["foreign-gone"].journalled = false;
	mapped["gone-marked"].removed = true;
	mapped["gone-deleted"].removed = true;
	mapped["gone-deleted"].deleted = true;

	/* in Supabase: the planned users, and one whose rows did not change since its plan was sent (not planned) */
	std::map<std::string, std::string> in_supabase = {{"same", "d"}};
	for (const auto &user : planned)
		in_supabase[user.source_id] = "d";
	mapped["same"] = Sent(sent, "ts");

	auto triage = TriageMapped(planned, mapped, in_supabase);
	EXPECT_EQ(Ids(triage.to_update), (std::vector<std::string>{"b", "d", "e"}));
	EXPECT_EQ(Ids(triage.identities_changed), (std::vector<std::string>{"c", "d"}));
	EXPECT_EQ(Ids(triage.unplannable), (std::vector<std::string>{"u"}));
	EXPECT_EQ(triage.removed, (std::vector<std::string>{"gone", "gone-marked"}));
	EXPECT_EQ(triage.newly_removed, (std::vector<std::string>{"gone"}));
	EXPECT_EQ(triage.unchanged, 2u);	  /* a, same; n is not mapped: a create */
	EXPECT_EQ(triage.not_journalled, 2u); /* f, foreign-gone */
	EXPECT_EQ(triage.deleted_before, 1u);
	EXPECT_TRUE(triage.refreshed.empty()); /* no plan has a source digest */

	/* once every change is recorded, a second sync finds nothing but what only a person can settle */
	for (const char *id : {"b", "d", "e"})
		for (const auto &user : planned)
			if (user.source_id == id)
				mapped[id].sent_digest = PatchableDigest(user.body);
	/* a is planned from other rows than it was sent from, its plan the same: only that is recorded */
	planned[0].source_digest = "rows-now";
	mapped["a"].source_digest = "rows-then";
	auto again = TriageMapped(planned, mapped, in_supabase);
	EXPECT_EQ(Ids(again.refreshed), (std::vector<std::string>{"a"}));
	EXPECT_TRUE(again.to_update.empty());
	EXPECT_EQ(Ids(again.identities_changed), (std::vector<std::string>{"c", "d"}));
	EXPECT_EQ(again.unchanged, 4u); /* a, b, e, same */
}

} // namespace sync_triage
