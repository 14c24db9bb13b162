/*
 * user_sync.cpp: digests of what was sent, and the PATCH of a changed user (user_sync.hpp).
 */
#include "user_sync.hpp"

#include <set>

#include "parallel.hpp"
#include "sha256.hpp"

namespace cutover {

namespace {

using nlohmann::json;

std::string
Hash(const std::string &text)
{
	Sha256 sha;
	sha.Update(text.data(), text.size());
	return sha.Hex();
}

/* nlohmann::json keeps an object's keys sorted: the same value always dumps to the same text */
std::string
Digest(const json &value)
{
	return Hash(value.dump());
}

/* The nullable fields a plan may leave out, set to null by a PATCH when it does. */
constexpr const char *kNullable[] = {"primary_email",
									 "display_name",
									 "profile_image_url",
									 "client_metadata",
									 "client_read_only_metadata",
									 "server_metadata",
									 "restricted_by_admin_reason"};

} // namespace

std::string
PatchableDigest(const json &create_body)
{
	if (!create_body.is_object())
		return Digest(create_body);
	/* the text create_body.dump() would have without oauth_providers, without copying the body */
	std::string text = "{";
	for (auto it = create_body.begin(); it != create_body.end(); ++it) {
		if (it.key() == "oauth_providers")
			continue;
		if (text.size() > 1)
			text += ',';
		text += json(it.key()).dump();
		text += ':';
		text += it.value().dump();
	}
	text += '}';
	return Hash(text);
}

std::string
IdentitiesDigest(const json &create_body)
{
	return Digest(create_body.value("oauth_providers", json::array()));
}

json
PatchBody(const json &create_body)
{
	json patch = create_body;
	patch.erase("oauth_providers");
	for (const char *field : kNullable)
		if (!patch.contains(field))
			patch[field] = nullptr;
	/* booleans a plan may leave out: their defaults, which an earlier plan may have changed */
	for (const char *field : {"primary_email_verified", "primary_email_auth_enabled", "restricted_by_admin"})
		if (!patch.contains(field))
			patch[field] = false;
	if (!patch.contains("password_hash"))
		patch["password"] = nullptr;
	if (patch.value("is_anonymous", false))
		patch.erase("is_anonymous");
	return patch;
}

std::string
SettingsDigest(const std::string &settings)
{
	/* the planning rules' version: raised when supabase_user.cpp plans a user differently */
	static constexpr const char *kPlanningRules = "1";
	return Hash(std::string(kPlanningRules) + "|" + settings).substr(0, 16);
}

std::string
SourceDigest(const std::string &rows_digest, const std::string &settings_digest)
{
	return settings_digest + ":" + rows_digest;
}

SyncTriage
TriageMapped(const std::vector<PlannedUser> &planned, const std::map<std::string, MappedUser> &mapped,
			 const std::map<std::string, std::string> &in_supabase)
{
	SyncTriage triage;
	std::set<std::string> replanned;
	/* each mapped user's digests, on every core: a sync digests every user it planned */
	std::vector<std::pair<std::string, std::string>> digests(planned.size());
	ParallelFor(planned.size(), [&](std::size_t begin, std::size_t end) {
		for (std::size_t i = begin; i < end; i++)
			if (!planned[i].error && mapped.count(planned[i].source_id) != 0)
				digests[i] = {PatchableDigest(planned[i].body), IdentitiesDigest(planned[i].body)};
	});
	for (std::size_t i = 0; i < planned.size(); i++) {
		const PlannedUser &user = planned[i];
		replanned.insert(user.source_id);
		auto found = mapped.find(user.source_id);
		if (found == mapped.end())
			continue; /* not mapped: created as by `cutover users` */
		const MappedUser &pair = found->second;
		if (!pair.journalled) {
			triage.not_journalled++;
			continue;
		}
		if (user.error) {
			triage.unplannable.push_back(&user);
			continue;
		}
		bool changed = pair.sent_digest != digests[i].first;
		if (changed)
			triage.to_update.push_back(&user);
		if (pair.identities_digest && *pair.identities_digest != digests[i].second)
			triage.identities_changed.push_back(&user);
		else if (!changed) {
			triage.unchanged++;
			if (!user.source_digest.empty() && pair.source_digest != user.source_digest)
				triage.refreshed.push_back(&user);
		}
	}
	for (const auto &[source_id, pair] : mapped) {
		if (in_supabase.count(source_id) != 0) {
			if (replanned.count(source_id) == 0) /* its plan would be made from the same rows as when last sent */
				(pair.journalled ? triage.unchanged : triage.not_journalled)++;
			continue;
		}
		if (!pair.journalled) {
			triage.not_journalled++; /* not this tool's user: never deleted by it */
			continue;
		}
		if (pair.deleted) {
			triage.deleted_before++;
			continue;
		}
		triage.removed.push_back(source_id);
		if (!pair.removed)
			triage.newly_removed.push_back(source_id);
	}
	return triage;
}

} // namespace cutover
