#pragma once
// One user directory per database: a database's users live in their own UserStore inside that database's folder
// (<data_dir>/db/<name>/users), private — no client path reaches them — and separate from every other database's
// users. The Firebase Auth SDK addresses a directory by its tenant (`auth.tenantId = '<database>'`); requests
// without a tenant address the default database's users (docs/auth.md). Directories open on first use. Thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth/user_store.h"
#include "util/result.h"

namespace backside::auth {

class UserDirectories {
 public:
  // Where the users of `database` live; fails for a name that is not a database (or one too many).
  using Locate = std::function<Result<std::string>(const std::string& database)>;

  UserDirectories(std::string default_database, Locate locate)
      : default_database_(std::move(default_database)), locate_(std::move(locate)) {}

  // The directory of `database`; "" means the default database.
  Result<UserStore*> of(const std::string& database);
  // The database a tenant id names: "" (no tenant) is the default database.
  std::string database_of_tenant(const std::string& tenant) const {
    return tenant.empty() ? default_database_ : tenant;
  }
  // The tenant id that names `database` to the SDK: "" for the default database.
  std::string tenant_of_database(const std::string& database) const {
    return database == default_database_ ? std::string() : database;
  }
  const std::string& default_database() const { return default_database_; }
  // Runs `changed` after a user of a directory is updated or removed through this object (UserStore's hook, with the
  // directory's database), also for directories already open. Set it before the server starts.
  void on_account_changed(std::function<void(const std::string& database, const std::string& uid)> changed);

 private:
  void hook(const std::string& database, UserStore& store);  // under mutex_

  std::string default_database_;
  Locate locate_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<UserStore>> open_;
  std::function<void(const std::string& database, const std::string& uid)> account_changed_;
};

// Earlier versions kept one user directory per server in <data_dir>/auth/users; it becomes the default database's
// (moved once, before anything opens it). Idempotent.
Status adopt_server_wide_users(const std::string& data_dir, const std::string& default_users_directory);

}  // namespace backside::auth
