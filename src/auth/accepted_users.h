#pragma once
// Which pools of users a database accepts ID tokens of. By default every pool — the project's users and every
// tenant's — and the rules decide, as in Firebase (auth.token.firebase.tenant tells the pools apart). The admin may
// limit a database to some pools (PUT /.settings/tenants.json, docs/auth.md): a token of another pool is then refused
// on every door, as an invalid credential (REST 401, the Firebase `auth` request's invalid_token, a STOMP ERROR),
// before any rule runs. A pool is a tenant id, or "@project" for the project's own users (no tenant id can be it).
// On one node, kept in the database's folder, <data_dir>/db/<name>/tenants.json ({"accept": [...]}, replaced
// atomically), so that it travels with the database; read once at start-up, changed through this object. On a
// cluster, kept in PostgreSQL (backside_accepted_users, one row per limited database, a version from one sequence),
// read at start-up, and refreshed every second from the changes of other nodes (watch()). Thread-safe.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/tenants.h"
#include "store/postgresql_shared_connection.h"
#include "util/result.h"

namespace backside::auth {

class AcceptedUsers {
 public:
  static constexpr std::string_view kProject = "@project";
  using Pools = std::optional<std::vector<std::string>>;  // nullopt: every pool

  // `tenants` (to check the names the admin gives) outlives this object.
  AcceptedUsers(std::filesystem::path data_dir, const Tenants& tenants)
      : data_dir_(std::move(data_dir)), tenants_(tenants) {}
  // A node of a cluster: the settings every node shares, in PostgreSQL.
  AcceptedUsers(std::shared_ptr<store::PgSharedConnection> shared, const Tenants& tenants)
      : shared_(std::move(shared)), tenants_(tenants) {}

  // Reads the setting of every database (start-up). A damaged file fails closed: that database accepts no pool
  // until the admin sets it again (logged by the caller from the returned errors), as does PostgreSQL unreachable.
  std::vector<std::string> load();
  // On a cluster: applies what other nodes set since the last load() or refresh(). Fails (unavailable) when
  // PostgreSQL cannot be reached; what was read before stays.
  Status refresh();
  // On a cluster: refresh() every `period` on a thread of its own while this object lives. Call once, after load().
  void watch(std::chrono::milliseconds period);
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
  using Limits = std::map<std::string, std::vector<std::string>, std::less<>>;
  // The rows of backside_accepted_users after `version`, applied to `limited` (under mutex_); the highest version.
  Result<std::int64_t> read_shared(std::int64_t version, Limits& limited);

  std::filesystem::path data_dir_;
  std::shared_ptr<store::PgSharedConnection> shared_;  // a cluster's; null on one node
  const Tenants& tenants_;
  mutable std::mutex mutex_;
  Limits limited_;                  // databases limited to some pools
  std::int64_t shared_version_ = 0;  // the last row version applied (cluster)
  std::uint64_t local_sets_ = 0;     // set() calls so far: a refresh that read before one is not applied
  std::jthread watcher_;             // last: stopped and joined first
};

}  // namespace backside::auth
