/*
 * user_sync.cpp: digests of what was sent, and the PATCH of a changed user (user_sync.hpp).
 */
#include "user_sync.hpp"

#include "sha256.hpp"

namespace cutover {

namespace {

using nlohmann::json;

std::string
Digest(const json &value)
{
	/* nlohmann::json keeps an object's keys sorted: the same value always dumps to the same text */
	std::string text = value.dump();
	Sha256 sha;
	sha.Update(text.data(), text.size());
	return sha.Hex();
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
	json patchable = create_body;
	patchable.erase("oauth_providers");
	return Digest(patchable);
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

} // namespace cutover
