#pragma once
// The server's users (Firebase Auth accounts), durable in their own LMDB environment under <data_dir>/auth —
// outside every database tree, so no client path can read or write them. Records are JSON objects:
// {localId, email, passwordHash, provider, createdAt, lastLoginAt, disabled, displayName, customClaims}.
// Refresh tokens are stored only as their SHA-256. Thread-safe.
#include <lmdb.h>

#include <boost/json/object.hpp>
#include <functional>
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
  // The version, and how many of the commits that led to it this object made, read together: a version that grew
  // by more than this process's own commits was changed by another process (`backside users`).
  struct Versions {
    std::uint64_t version = 0;
    std::uint64_t own_commits = 0;
  };
  Versions versions() const;
  // Whether its files were deleted while it was open (its tenant deleted, maybe made again under the same id by
  // another process): a store that no longer reaches the directory it was opened on. One fstat.
  bool deleted() const;
  // Runs `changed` (outside the store's lock) after this object updates or removes a user, with the user's uid: the
  // server ends the sessions of accounts that end (auth/id_tokens.h). Set it before the store is shared.
  void on_account_changed(std::function<void(const std::string& uid)> changed) {
    account_changed_ = std::move(changed);
  }

  Status add_refresh_token(const std::string& token, const std::string& uid);
  struct RefreshTokenOwner {
    std::string uid;
    bool revoked = false;  // its sessions were ended: refreshing answers TOKEN_EXPIRED, as Firebase does
  };
  std::optional<RefreshTokenOwner> owner_of_refresh_token(const std::string& token) const;
  // Marks every refresh token of the user revoked (they are deleted with the user).
  Status revoke_refresh_tokens(const std::string& uid);

 private:
  explicit UserStore(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  Result<std::optional<std::string>> get(const std::string& key) const;
  Status replace(const std::string& uid, const boost::json::object& user);
  Status change_refresh_tokens(const std::string& uid, bool erase);
  static constexpr char kRevoked = '!';  // first byte of a revoked refresh token's record (uids never start with it)
  Status write(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);  // nullopt deletes

  void account_changed(const std::string& uid) const {
    if (account_changed_) account_changed_(uid);
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  mutable std::mutex mutex_;
  std::uint64_t own_commits_ = 0;  // under mutex_
  std::function<void(const std::string& uid)> account_changed_;
};

std::string normalize_email(const std::string& email);
// Whether a user record is disabled (its `disabled` is true): it signs in no more, and its tokens are refused.
bool user_disabled(const boost::json::object& user);

}  // namespace backside::auth
