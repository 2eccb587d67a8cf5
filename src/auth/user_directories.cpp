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
  open_.emplace(name, std::move(*store));
  return raw;
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
