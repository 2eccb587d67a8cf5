#include "auth/account_standings.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <vector>

#include "auth/id_tokens.h"

namespace backside::auth {

std::shared_ptr<identity::AccountStanding> AccountStandings::of(const std::string& tenant, const std::string& uid,
                                                                std::int64_t auth_time) {
  std::lock_guard lock(mutex_);
  auto& entry = standings_[Key{tenant, uid, auth_time}];
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

void AccountStandings::recheck(const std::string& tenant, const std::string& uid) {
  std::vector<std::pair<Key, std::shared_ptr<identity::AccountStanding>>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto it = standings_.lower_bound(Key{tenant, uid, INT64_MIN});
         it != standings_.end() && it->first.tenant == tenant && it->first.uid == uid;) {
      if (auto standing = it->second.lock()) {
        live.emplace_back(it->first, std::move(standing));
        ++it;
      } else {
        it = standings_.erase(it);
      }
    }
  }
  if (live.empty()) return;
  auto users = directories_->of(tenant);
  if (!users && users.error().code != ErrorCode::not_found) return;  // cannot tell now: the next change or sweep
  std::optional<boost::json::object> user;
  if (users) {
    auto read = (*users)->read_by_uid(uid);
    if (!read) return;  // cannot tell now (PostgreSQL away): its sessions stay until the next change or sweep
    user = std::move(*read);
  }
  for (auto& [key, standing] : live) {
    auto why = users ? why_token_refused(user, key.auth_time) : std::optional<std::string>("Auth token's tenant was deleted.");
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

void AccountStandings::end_tenant(const std::string& tenant, const std::string& why) {
  std::vector<std::shared_ptr<identity::AccountStanding>> ended;
  {
    std::lock_guard lock(mutex_);
    for (auto it = standings_.lower_bound(Key{tenant, "", INT64_MIN}); it != standings_.end() && it->first.tenant == tenant;) {
      if (auto standing = it->second.lock()) ended.push_back(std::move(standing));
      it = standings_.erase(it);
    }
  }
  for (auto& standing : ended) standing->end(why);  // outside the lock: ending runs the sessions' watchers
}

void AccountStandings::sweep() {
  std::map<std::string, std::vector<std::string>> live;  // tenant -> uids with live sessions, in order
  {
    std::lock_guard lock(mutex_);
    for (auto it = standings_.begin(); it != standings_.end();) {
      if (it->second.expired()) {
        it = standings_.erase(it);
        continue;
      }
      auto& uids = live[it->first.tenant];
      if (uids.empty() || uids.back() != it->first.uid) uids.push_back(it->first.uid);
      ++it;
    }
  }
  std::erase_if(swept_, [&](const auto& entry) { return !live.contains(entry.first); });
  for (const auto& [tenant, uids] : live) {
    auto users = directories_->of(tenant);
    if (!users) {
      // Deleted by another process (`backside tenants delete`); any other failure: the next sweep looks again.
      if (users.error().code == ErrorCode::not_found) end_tenant(tenant, "Auth token's tenant was deleted.");
      continue;
    }
    const UserStore::Versions now = (*users)->versions();
    if (now.version == 0) continue;  // cannot tell now: the next sweep looks again
    auto [seen, first] = swept_.try_emplace(tenant, now);
    const UserStore::Versions before = seen->second;
    seen->second = now;
    // Every commit moves the version by one: more moves than our own commits means another process wrote.
    if (!first && now.version >= before.version &&
        now.version - before.version <= now.own_commits - before.own_commits) {
      continue;
    }
    std::optional<std::vector<std::string>> changed;
    if (!first && now.version > before.version) changed = (*users)->changed_since(before.version);
    if (changed) std::sort(changed->begin(), changed->end());
    for (const auto& uid : uids) {
      if (!changed || std::binary_search(changed->begin(), changed->end(), uid)) recheck(tenant, uid);
    }
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
