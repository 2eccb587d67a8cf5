#pragma once
// The users of a cluster (auth/user_store.h) in PostgreSQL, shared by every node: one directory (the project's, or a
// tenant's) per object, all of a node's directories over one connection. Tables (store/postgresql_schema.cpp):
// backside_users (the records, an email unique per directory), backside_refresh_tokens (digests, revoked or not),
// backside_user_directories (each directory's version) and backside_user_changes (which uid each version changed).
// An update or removal moves its directory's version by one and logs its uid in the same statement, so another node's
// sweep (auth/account_standings.h) learns which of its live sign-ins to recheck. Thread-safe; every call is a round
// trip on the shared connection, except version(), which every token-bearing request asks: it is answered from the
// last version read (by versions(), which the sweep calls every second, by version() itself, or by a change this
// node made, which shows at once) while that is younger than `version_kept`. A change made on another node is
// therefore taken into account by this node's requests within that time, as by its sweep for live sign-ins.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "auth/user_directories.h"
#include "auth/user_store.h"
#include "store/postgresql_shared_connection.h"

namespace backside::auth {

class PostgresqlUserStore final : public UserStore {
 public:
  // How many changes each directory's log keeps by default: a node whose last sweep is further back rechecks all
  // its live sign-ins of the directory.
  static constexpr std::int64_t kChangesKept = 10000;

  // The users of `tenant` ("" = the project's). The log is pruned to the last `changes_kept` at every
  // changes_kept / 10th change.
  static constexpr std::chrono::milliseconds kVersionKept{1000};
  static Result<std::unique_ptr<PostgresqlUserStore>> open(std::shared_ptr<store::PgSharedConnection> connection,
                                                          std::string tenant, std::int64_t changes_kept = kChangesKept,
                                                          std::chrono::milliseconds version_kept = kVersionKept);

  Status create(const boost::json::object& user) override;
  Result<std::optional<boost::json::object>> read_by_uid(const std::string& uid) const override;
  Result<std::optional<boost::json::object>> read_by_email(const std::string& email) const override;
  std::vector<boost::json::object> list() const override;
  std::uint64_t version() const override;
  Versions versions() const override;
  std::optional<std::vector<std::string>> changed_since(std::uint64_t version) const override;
  // Never: a tenant's deletion removes its rows, and the tenant's existence is checked apart (auth/tenants.h).
  bool deleted() const override { return false; }
  Status add_refresh_token(const std::string& token, const std::string& uid) override;
  std::optional<RefreshTokenOwner> owner_of_refresh_token(const std::string& token) const override;
  Status revoke_refresh_tokens(const std::string& uid) override;

  // Removes every user, refresh token and change of `tenant` (its deletion).
  static Status remove_directory(store::PgSharedConnection& connection, const std::string& tenant);

 private:
  PostgresqlUserStore(std::shared_ptr<store::PgSharedConnection> connection, std::string tenant,
                      std::int64_t changes_kept, std::chrono::milliseconds version_kept)
      : connection_(std::move(connection)),
        tenant_(std::move(tenant)),
        changes_kept_(std::max<std::int64_t>(changes_kept, 10)),
        version_kept_(version_kept) {}
  Status replace(const std::string& uid, const boost::json::object& user) override;
  Status erase(const std::string& uid) override;
  Result<std::optional<boost::json::object>> find(const std::string& sql, const std::string& key) const;
  // Counts a commit of ours that moved the directory's version to `version`, and prunes the log now and then.
  void committed(store::PgConnection& connection, std::int64_t version);

  std::shared_ptr<store::PgSharedConnection> connection_;
  const std::string tenant_;
  const std::int64_t changes_kept_;
  const std::chrono::milliseconds version_kept_;
  mutable std::mutex mutex_;  // own_commits_ with the version it goes with, and the last version read
  std::uint64_t own_commits_ = 0;
  // Under mutex_: the directory's version as last read or made here, and when.
  void remember_version(std::uint64_t version) const;
  mutable std::uint64_t version_read_ = 0;
  mutable std::chrono::steady_clock::time_point version_read_at_{};
};

// The users of every directory in PostgreSQL, over `connection`.
UserStorage users_in_postgresql(std::shared_ptr<store::PgSharedConnection> connection);

}  // namespace backside::auth
