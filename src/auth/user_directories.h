#pragma once
// The server's user directories: the project's users, shared by every database of the server as Firebase shares a
// project's users across its Realtime Database instances, and one directory per Identity Platform tenant
// (auth/tenants.h). Where they live is a UserStorage: LMDB in the data directory (<data_dir>/auth/users, and each
// tenant's folder), or PostgreSQL for a cluster (auth/postgresql_user_store.h). A directory is named by its tenant
// id; "" names the project's. Users are private: no client path reaches them. Directories open on first use and stay open while their tenant exists;
// a store is shared, so that a request holding one outlives its tenant's deletion safely. Thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth/tenant_folders.h"
#include "auth/user_store.h"
#include "util/result.h"

namespace backside::auth {

struct UserStorage {
  // Opens the users of `tenant` ("" = the project's), made empty if new.
  std::function<Result<std::unique_ptr<UserStore>>(const std::string& tenant)> open;
  // Deletes the users of a deleted tenant, when they are not in its folder (which Tenants::remove deletes); or empty.
  std::function<Status(const std::string& tenant)> remove;
};

// The users in the data directory: the project's in `project_directory`, each tenant's in its folder.
UserStorage users_on_disk(std::string project_directory, const TenantFolders& tenants);

class UserDirectories {
 public:
  // `tenants` outlives this object.
  UserDirectories(UserStorage storage, Tenants& tenants) : storage_(std::move(storage)), tenants_(tenants) {}

  // The users of `tenant` ("" = the project's). Errors: INVALID_TENANT_ID (invalid_argument), TENANT_NOT_FOUND
  // (ErrorCode::not_found, and only it), or the store's own (unavailable).
  Result<std::shared_ptr<UserStore>> of(const std::string& tenant);
  Tenants& tenants() { return tenants_; }
  // Deletes a tenant with its users; the sessions of its users end (the tenant_removed hook).
  Status remove_tenant(const std::string& tenant);

  // Runs `changed` after a user of a directory is updated or removed through this object (UserStore's hook, with
  // the directory's tenant), also for directories already open. Set it before the server starts.
  void on_account_changed(std::function<void(const std::string& tenant, const std::string& uid)> changed);
  // Runs `removed` after a tenant was deleted through this object. Set it before the server starts.
  void on_tenant_removed(std::function<void(const std::string& tenant)> removed) {
    tenant_removed_ = std::move(removed);
  }

 private:
  void hook(const std::string& tenant, UserStore& store);  // under mutex_

  UserStorage storage_;
  Tenants& tenants_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<UserStore>> open_;
  std::function<void(const std::string& tenant, const std::string& uid)> account_changed_;
  std::function<void(const std::string& tenant)> tenant_removed_;
};

}  // namespace backside::auth
