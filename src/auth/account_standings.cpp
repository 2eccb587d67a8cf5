#include "auth/account_standings.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <vector>

#include "auth/id_tokens.h"

namespace backside::auth {

std::shared_ptr<identity::AccountStanding> AccountStandings::of(const std::string& database, const std::string& uid,
                                                          std::int64_t auth_time) {
  std::lock_guard lock(mutex_);
  auto& entry = standings_[Key{database, uid, auth_time}];
  if (auto live = entry.lock()) return live;
  auto standing = std::make_shared<identity::AccountStanding>();
  entry = standing;
  if (standings_.size() > prune_at_) {
    // Entries of sign-ins whose sessions all ended go; amortized O(1) per new entry.
    std::erase_if(standings_, [](const auto& e) { return e.second.expired(); });
    prune_at_ = std::max<std::size_t>(1024, 2 * standings_.size());
  }
  return standing;
}

void AccountStandings::recheck(const std::string& database, const std::string& uid) {
  std::vector<std::pair<Key, std::shared_ptr<identity::AccountStanding>>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto it = standings_.lower_bound(Key{database, uid, INT64_MIN});
         it != standings_.end() && it->first.database == database && it->first.uid == uid;) {
      if (auto standing = it->second.lock()) {
        live.emplace_back(it->first, std::move(standing));
        ++it;
      } else {
        it = standings_.erase(it);
      }
    }
  }
  if (live.empty()) return;
  auto users = directories_->of(database);
  if (!users) return;  // cannot tell now: the next change or sweep looks again
  const auto user = (*users)->find_by_uid(uid);
  for (auto& [key, standing] : live) {
    auto why = why_token_refused(user, key.auth_time);
    if (!why) continue;
    {
      std::lock_guard lock(mutex_);
      if (auto it = standings_.find(key); it != standings_.end() && it->second.lock() == standing) {
        standings_.erase(it);
      }
    }
    standing->end(std::move(*why));
  }
}

void AccountStandings::sweep() {
  std::map<std::string, std::vector<std::string>> live;  // database -> uids with live sessions, in order
  {
    std::lock_guard lock(mutex_);
    for (auto it = standings_.begin(); it != standings_.end();) {
      if (it->second.expired()) {
        it = standings_.erase(it);
        continue;
      }
      auto& uids = live[it->first.database];
      if (uids.empty() || uids.back() != it->first.uid) uids.push_back(it->first.uid);
      ++it;
    }
  }
  std::erase_if(swept_, [&](const auto& entry) { return !live.contains(entry.first); });
  for (const auto& [database, uids] : live) {
    auto users = directories_->of(database);
    if (!users) continue;
    const UserStore::Versions now = (*users)->versions();
    auto [seen, first] = swept_.try_emplace(database, now);
    // Every commit moves the version by one: more moves than our own commits means another process wrote.
    const bool changed_elsewhere =
        first || now.version - seen->second.version > now.own_commits - seen->second.own_commits;
    seen->second = now;
    if (!changed_elsewhere) continue;
    for (const auto& uid : uids) recheck(database, uid);
  }
}

std::size_t AccountStandings::live() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(standings_.begin(), standings_.end(), [](const auto& e) { return !e.second.expired(); }));
}

AccountSweeper::AccountSweeper(std::shared_ptr<AccountStandings> standings, std::chrono::milliseconds period)
    : standings_(std::move(standings)), thread_([this, period](std::stop_token stop) {
        std::mutex mutex;
        std::condition_variable_any wake;
        std::unique_lock lock(mutex);
        for (;;) {
          wake.wait_for(lock, stop, period, [] { return false; });  // wakes early only when stopped
          if (stop.stop_requested()) return;
          standings_->sweep();
        }
      }) {}

}  // namespace backside::auth
