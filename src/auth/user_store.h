#pragma once
// The server's users (Firebase Auth accounts), durable in their own LMDB environment under <data_dir>/auth —
// outside every database tree, so no client path can read or write them. Records are JSON objects:
// {localId, email, passwordHash, provider, createdAt, lastLoginAt, disabled, displayName, customClaims}.
// Refresh tokens are stored only as their SHA-256. Thread-safe.
#include <lmdb.h>

#include <boost/json/object.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace backside::auth {

class UserStore {
 public:
  static Result<std::unique_ptr<UserStore>> open(const std::string& directory);
  ~UserStore();

  // Creates a user; fails with "EMAIL_EXISTS" (invalid_argument) if the email is taken.
  Status create(const boost::json::object& user);
  std::optional<boost::json::object> find_by_uid(const std::string& uid) const;
  std::optional<boost::json::object> find_by_email(const std::string& email) const;
  // Replaces a user's record (the email index follows a changed email).
  Status update(const boost::json::object& user);
  // Removes a user and every refresh token of theirs.
  Status remove(const std::string& uid);
  std::vector<boost::json::object> list() const;
  // Changes whenever the store does, from this process or another (LMDB's last committed transaction id): what was
  // read at one version is still true while it stays the same.
  std::uint64_t version() const;

  Status add_refresh_token(const std::string& token, const std::string& uid);
  std::optional<std::string> uid_of_refresh_token(const std::string& token) const;
  Status revoke_refresh_tokens(const std::string& uid);

 private:
  explicit UserStore(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  Result<std::optional<std::string>> get(const std::string& key) const;
  Status write(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);  // nullopt deletes

  MDB_env* env_;
  MDB_dbi dbi_;
  mutable std::mutex mutex_;
};

std::string normalize_email(const std::string& email);

}  // namespace backside::auth
