#pragma once
// Which pools of users a database accepts ID tokens of. By default every pool — the project's users and every
// tenant's — and the rules decide, as in Firebase (auth.token.firebase.tenant tells the pools apart). The admin may
// limit a database to some pools (PUT /.settings/tenants.json, docs/auth.md): a token of another pool is then refused
// on every door, as an invalid credential (REST 401, the Firebase `auth` request's invalid_token, a STOMP ERROR),
// before any rule runs. A pool is a tenant id, or "@project" for the project's own users (no tenant id can be it).
// Kept in the database's folder, <data_dir>/db/<name>/tenants.json ({"accept": [...]}, replaced atomically), so that
// it travels with the database; read once at start-up, changed through this object. Thread-safe.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tenants.h"
#include "util/result.h"

namespace backside::auth {

class AcceptedUsers {
 public:
  static constexpr std::string_view kProject = "@project";
  using Pools = std::optional<std::vector<std::string>>;  // nullopt: every pool

  // `tenants` (to check the names the admin gives) outlives this object.
  AcceptedUsers(std::filesystem::path data_dir, const Tenants& tenants)
      : data_dir_(std::move(data_dir)), tenants_(tenants) {}

  // Reads the setting of every database in the data dir (start-up). A damaged file fails closed: that database
  // accepts no pool until the admin sets it again (logged by the caller from the returned errors).
  std::vector<std::string> load();
  Pools of(const std::string& database) const;
  // Sets and stores durably. Each pool must be "@project" or an existing tenant (INVALID_TENANT_ID,
  // TENANT_NOT_FOUND); an empty list accepts no one's tokens (only the admin and unauthenticated clients).
  Status set(const std::string& database, Pools pools);
  // Why `database` refuses the users of `tenant` ("" = the project's), in words for the client; nullopt if accepted.
  std::optional<std::string> refusal(std::string_view database, std::string_view tenant) const;

  static std::filesystem::path file_in(const std::filesystem::path& data_dir, const std::string& database);
  // Stores `pools` for `database` without checking the names (the migration, before the server reads them).
  static Status write(const std::filesystem::path& data_dir, const std::string& database, const Pools& pools);

 private:
  std::filesystem::path data_dir_;
  const Tenants& tenants_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>, std::less<>> limited_;  // databases limited to some pools
};

}  // namespace backside::auth
