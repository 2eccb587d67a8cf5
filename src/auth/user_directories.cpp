#include "auth/user_directories.h"

#include "auth/lmdb_user_store.h"

namespace backside::auth {

UserStorage users_on_disk(std::string project_directory, const TenantFolders& tenants) {
  return {.open = [project_directory = std::move(project_directory),
                   &tenants](const std::string& tenant) -> Result<std::unique_ptr<UserStore>> {
            auto store =
                LmdbUserStore::open(tenant.empty() ? project_directory : tenants.users_directory(tenant).string());
            if (!store) return store.error();
            return std::unique_ptr<UserStore>(std::move(*store));
          },
          .remove = {}};
}

Result<std::shared_ptr<UserStore>> UserDirectories::of(const std::string& tenant) {
  if (!tenant.empty()) {
    // Looked up each time: a tenant deleted by `backside tenants delete` beside the server is gone at once.
    if (auto exists = tenants_.check(tenant); !exists) {
      std::lock_guard lock(mutex_);
      open_.erase(tenant);
      return exists.error();
    }
  }
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(tenant); it != open_.end()) {
    if (!it->second->deleted()) return it->second;
    open_.erase(it);  // deleted, and made again, by another process between two lookups: the new one's users
  }
  auto store = storage_.open(tenant);
  if (!store) return store.error();
  std::shared_ptr<UserStore> shared = std::move(*store);
  hook(tenant, *shared);
  open_.emplace(tenant, shared);
  return shared;
}

Status UserDirectories::remove_tenant(const std::string& tenant) {
  if (tenant.empty()) return invalid("INVALID_TENANT_ID");
  if (auto removed = tenants_.remove(tenant); !removed) return removed;
  if (storage_.remove) {
    // The tenant is gone already: users left behind by a failure here are unreachable, and removed again by the
    // next deletion of the same id.
    if (auto removed = storage_.remove(tenant); !removed) return removed;
  }
  {
    std::lock_guard lock(mutex_);
    open_.erase(tenant);
  }
  if (tenant_removed_) tenant_removed_(tenant);
  return ok_status();
}

void UserDirectories::on_account_changed(
    std::function<void(const std::string& tenant, const std::string& uid)> changed) {
  std::lock_guard lock(mutex_);
  account_changed_ = std::move(changed);
  for (auto& [tenant, store] : open_) hook(tenant, *store);
}

void UserDirectories::hook(const std::string& tenant, UserStore& store) {
  if (!account_changed_) return;
  store.on_account_changed([this, tenant](const std::string& uid) { account_changed_(tenant, uid); });
}

}  // namespace backside::auth
