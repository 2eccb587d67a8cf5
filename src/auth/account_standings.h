#pragma once
// The standings (identity/account_standing.h) of the sign-ins that have live sessions, one per tenant ("" for the
// project's users), uid and auth_time (the sign-in a token's session began with), and what ends them: a user updated
// or removed through this server is rechecked at once (recheck, from UserDirectories' hook), a deleted tenant's
// sign-ins all end (end_tenant); users that another process (`backside users`, `backside tenants delete`) changed
// are found by a sweep (AccountSweeper) that compares each directory's version with its own commits.
// Entries hold their standing weakly: a sign-in without live sessions costs nothing beyond its pruned entry.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "auth/user_directories.h"
#include "identity/account_standing.h"

namespace backside::auth {

class AccountStandings {
 public:
  explicit AccountStandings(UserDirectories* directories) : directories_(directories) {}

  // The standing of a sign-in, shared by its live sessions (a new one once the last of them is gone, or once it
  // ended: a session of the same sign-in begun after the account was enabled again stands on its own).
  std::shared_ptr<identity::AccountStanding> of(const std::string& tenant, const std::string& uid, std::int64_t auth_time);
  // Ends the standings of the live sign-ins of `uid` that its record no longer allows (deleted, disabled, revoked,
  // or its tenant deleted).
  void recheck(const std::string& tenant, const std::string& uid);
  // Ends the standings of every live sign-in of `tenant`'s users, for `why`.
  void end_tenant(const std::string& tenant, const std::string& why);
  // Rechecks the live sign-ins of every directory whose users another process changed since the last sweep (the
  // first sweep of a directory rechecks them all), and ends those of tenants deleted meanwhile. Cost: one version
  // read per directory with live sessions, and one user lookup per live uid of a directory changed elsewhere. One
  // thread at a time (AccountSweeper's).
  void sweep();
  // Sign-ins with at least one live session.
  std::size_t live() const;

 private:
  struct Key {
    std::string tenant;
    std::string uid;
    std::int64_t auth_time = 0;
    auto operator<=>(const Key&) const = default;
  };

  UserDirectories* directories_;
  mutable std::mutex mutex_;
  std::map<Key, std::weak_ptr<identity::AccountStanding>> standings_;
  std::size_t prune_at_ = 1024;  // dead entries are pruned when the map grows past this
  std::map<std::string, UserStore::Versions> swept_;  // sweep()'s: each directory's versions at its last sweep
};

// Runs AccountStandings::sweep every `period` on its own thread while it lives. Declare it after the user directories
// the standings reach, so that it stops first.
class AccountSweeper {
 public:
  AccountSweeper(std::shared_ptr<AccountStandings> standings, std::chrono::milliseconds period);

 private:
  std::shared_ptr<AccountStandings> standings_;
  std::jthread thread_;  // last: stopped and joined first
};

}  // namespace backside::auth
