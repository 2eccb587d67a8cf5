#pragma once
// A node's tenants (auth/tenants.h) in its data directory, <data_dir>/auth/tenants/<id>/: tenant.json (id, display
// name, creation time; replaced atomically) and users/ (its LmdbUserStore). A tenant exists exactly when its
// tenant.json does, so the records are read from disk on each call and `backside tenants` beside a running server
// is seen at once. Entries whose names start with '.' are work in progress (creation, adoption, deletion), never
// tenants: tenant ids cannot start with '.'. Thread-safe.
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "auth/tenants.h"

namespace backside::auth {

class TenantFolders final : public Tenants {
 public:
  explicit TenantFolders(std::filesystem::path directory) : directory_(std::move(directory)) {}

  Result<Tenant> create(const std::string& display_name, const std::string& id = {}) override;
  Result<Tenant> get(const std::string& id) const override;
  // One stat, no read.
  Status check(const std::string& id) const override;
  std::vector<Tenant> list() const override;
  Result<Tenant> rename(const std::string& id, const std::string& display_name) override;
  // The tenant's folder with its users.
  Status remove(const std::string& id) override;
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
