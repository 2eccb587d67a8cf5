#pragma once
// Identity Platform tenants: separate pools of users within the server's project (Firebase's multi-tenancy). The
// project's own users are everyone's by default; a tenant's users are another pool — the same email may sign up in
// both, as two users — and their ID tokens say so (claim `firebase.tenant`, the rules' auth.token.firebase.tenant).
// The admin creates tenants (firebase-admin's tenantManager(), `backside tenants create`); a tenant is not tied to a
// database: which databases accept which pools is auth/accepted_users.h.
// On disk, <data_dir>/auth/tenants/<id>/: tenant.json (id, display name, creation time; replaced atomically) and
// users/ (its UserStore). A tenant exists exactly when its tenant.json does, so the records are read from disk on
// each call and `backside tenants` beside a running server is seen at once. Entries whose names start with '.'
// are work in progress (creation, adoption, deletion), never tenants: tenant ids cannot start with '.'.
// Errors carry Firebase's codes as their message: INVALID_TENANT_ID and INVALID_DISPLAY_NAME, MISSING_DISPLAY_NAME,
// DUPLICATE_TENANT_ID (ErrorCode::invalid_argument), TENANT_NOT_FOUND (not_found). Thread-safe.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace backside::auth {

struct Tenant {
  std::string id;
  std::string display_name;
  std::int64_t created_at_ms = 0;
};

class Tenants {
 public:
  explicit Tenants(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // 1 to 100 of [A-Za-z0-9_-]: the names of databases too, so that each per-database user directory of earlier
  // versions became a tenant of the same name.
  static bool valid_id(std::string_view id);
  // Identity Platform's rule: 4 to 20 characters, letters, digits and '-', beginning with a letter.
  static Status check_display_name(std::string_view name);

  // A new tenant with no users. `id` empty: the display name in lower case, '-' and five random characters, as
  // Identity Platform makes them.
  Result<Tenant> create(const std::string& display_name, const std::string& id = {});
  Result<Tenant> get(const std::string& id) const;
  // Whether `id` names a tenant: INVALID_TENANT_ID, TENANT_NOT_FOUND, or ok; one stat, no read.
  Status check(const std::string& id) const;
  bool exists(const std::string& id) const { return check(id).ok(); }
  // Every tenant, oldest first (Firebase lists them in creation order).
  std::vector<Tenant> list() const;
  Result<Tenant> rename(const std::string& id, const std::string& display_name);
  // The tenant and all its users (Firebase's deleteTenant). Their sessions end (auth/user_directories.h).
  Status remove(const std::string& id);
  std::filesystem::path users_directory(const std::string& id) const { return directory_ / id / "users"; }

  // Makes `users`, a user directory moved here from elsewhere (auth/user_migration.h), the users of a new tenant
  // `id` named `display_name` as is. Crash-safe: the tenant appears whole (one rename) or not at all; an adoption a
  // crash cut short is finished by the next adopt() or recover(). DUPLICATE_TENANT_ID if `id` exists.
  Status adopt(const std::string& id, const std::string& display_name, const std::filesystem::path& users);
  // Finishes adoptions and removes deletions that a crash left half done; at start-up, before anything else.
  void recover();

 private:
  std::filesystem::path record_of(const std::string& id) const { return directory_ / id / "tenant.json"; }
  // A complete tenant folder with `record` staged at `staging`, renamed to its place (DUPLICATE_TENANT_ID if taken).
  Status publish(const std::filesystem::path& staging, const Tenant& record);

  std::filesystem::path directory_;
  std::mutex mutex_;  // one creation, rename or deletion at a time in this process
};

}  // namespace backside::auth
