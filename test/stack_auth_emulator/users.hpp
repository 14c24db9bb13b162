// test/stack_auth_emulator/users.hpp: what the users endpoints do once a request is authenticated and its body,
// params and query passed the schema (apps/backend/src/app/api/latest/users/crud.tsx: onCreate, onRead, onUpdate,
// onDelete, onList). Each call is one transaction under the store's lock; expected failures are thrown as
// ApiError, broken database constraints (which Stack Auth does not check up front) as std::runtime_error, which the
// pipeline answers with a 500.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "js_compat.hpp"
#include "store.hpp"

namespace emulator {

class UsersCrud
{
  public:
	explicit UsersCrud(const ProjectConfig &project);

	// Inputs are the schema's cast values: a key that is absent was not sent (undefined), null was sent as null.
	Json Create(const Json &body);
	Json Read(const std::string &user_id);
	Json Update(const std::string &user_id, const Json &body);
	void Delete(const std::string &user_id);
	Json List(const Json &query);

	// For the control API.
	Json InternalDump();
	std::size_t Count();
	void Reset();

  private:
	std::string NewUserId(const UserStore::Guard &guard);
	void CheckAuthData(const UserStore::Guard &guard, const std::optional<std::string> &old_primary_email,
					   const std::optional<std::string> &primary_email, bool primary_email_verified,
					   bool primary_email_auth_enabled);

	const ProjectConfig &project_;
	UserStore store_;
	std::mt19937_64 id_rng_; // used under the store's lock only
};

} // namespace emulator
