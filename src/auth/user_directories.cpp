#include "auth/user_directories.h"

#include <filesystem>

namespace backside::auth {

namespace fs = std::filesystem;

Result<UserStore*> UserDirectories::of(const std::string& database) {
  const std::string& name = database.empty() ? default_database_ : database;
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(name); it != open_.end()) return it->second.get();
  auto directory = locate_(name);
  if (!directory) return directory.error();
  auto store = UserStore::open(*directory);
  if (!store) return store.error();
  UserStore* raw = store->get();
  hook(name, *raw);
  open_.emplace(name, std::move(*store));
  return raw;
}

void UserDirectories::on_account_changed(
    std::function<void(const std::string& database, const std::string& uid)> changed) {
  std::lock_guard lock(mutex_);
  account_changed_ = std::move(changed);
  for (auto& [name, store] : open_) hook(name, *store);
}

void UserDirectories::hook(const std::string& database, UserStore& store) {
  if (!account_changed_) return;
  store.on_account_changed([this, database](const std::string& uid) { account_changed_(database, uid); });
}

Status adopt_server_wide_users(const std::string& data_dir, const std::string& default_users_directory) {
  const fs::path legacy = fs::path(data_dir) / "auth" / "users";
  std::error_code ec;
  if (!fs::exists(legacy / "data.mdb", ec) || fs::exists(default_users_directory, ec)) return ok_status();
  fs::create_directories(fs::path(default_users_directory).parent_path(), ec);
  fs::rename(legacy, default_users_directory, ec);
  if (ec) {
    return Error{ErrorCode::unavailable, "cannot move the users in " + legacy.string() + " to " +
                                             default_users_directory + ": " + ec.message()};
  }
  return ok_status();
}

}  // namespace backside::auth
