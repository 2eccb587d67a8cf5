#pragma once
// The users of one node (auth/user_store.h), durable in their own LMDB environment under <data_dir>/auth — outside
// every database tree, so no client path can read or write them. Keys: u/<uid> (the record), e/<email> (its uid),
// r/<token digest> (its uid, or '!' and its uid once revoked), t/<uid>/<token digest> (a user's tokens, to revoke
// them all). `backside users` may write the same files beside a running server. Thread-safe.
#include <lmdb.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/user_store.h"

namespace backside::auth {

class LmdbUserStore final : public UserStore {
 public:
  static Result<std::unique_ptr<LmdbUserStore>> open(const std::string& directory);
  ~LmdbUserStore() override;

  Status create(const boost::json::object& user) override;
  Result<std::optional<boost::json::object>> read_by_uid(const std::string& uid) const override;
  Result<std::optional<boost::json::object>> read_by_email(const std::string& email) const override;
  std::vector<boost::json::object> list() const override;
  // LMDB's last committed transaction id (+ 1): every commit moves it by one.
  std::uint64_t version() const override;
  Versions versions() const override;
  // One fstat: the data file stays allocated while it is open, so a new file at the same path is never taken for it.
  bool deleted() const override;
  Status add_refresh_token(const std::string& token, const std::string& uid) override;
  std::optional<RefreshTokenOwner> owner_of_refresh_token(const std::string& token) const override;
  Status revoke_refresh_tokens(const std::string& uid) override;

 private:
  LmdbUserStore(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  Status replace(const std::string& uid, const boost::json::object& user) override;
  Status erase(const std::string& uid) override;
  Result<std::optional<std::string>> get(const std::string& key) const;
  Status change_refresh_tokens(const std::string& uid, bool erase);
  static constexpr char kRevoked = '!';  // first byte of a revoked refresh token's record (uids never start with it)
  Status write(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);  // nullopt deletes

  MDB_env* env_;
  MDB_dbi dbi_;
  mutable std::mutex mutex_;
  std::uint64_t own_commits_ = 0;  // under mutex_
};

}  // namespace backside::auth
