#include "auth/sign_in_limiter.h"

namespace backside::auth {

bool SignInLimiter::allowed(const std::string& key, std::int64_t now) const {
  if (options_.max_failures == 0) return true;
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end() || now - it->second.window_start >= options_.window_seconds) return true;
  return it->second.count < options_.max_failures;
}

void SignInLimiter::failed(const std::string& key, std::int64_t now) {
  if (options_.max_failures == 0) return;
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end()) {
    if (failures_.size() >= options_.max_keys) make_room(now);
    it = failures_.emplace(key, Failures{0, now}).first;
  } else if (now - it->second.window_start >= options_.window_seconds) {
    it->second = Failures{0, now};
  }
  ++it->second.count;
}

void SignInLimiter::succeeded(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

std::size_t SignInLimiter::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return failures_.size();
}

void SignInLimiter::make_room(std::int64_t now) {
  // Expired windows first; if every key is still live, the oldest half goes (those closest to expiring).
  std::erase_if(failures_, [&](const auto& entry) { return now - entry.second.window_start >= options_.window_seconds; });
  if (failures_.size() < options_.max_keys) return;
  std::int64_t oldest = now;
  std::int64_t newest = 0;
  for (const auto& [key, entry] : failures_) {
    oldest = std::min(oldest, entry.window_start);
    newest = std::max(newest, entry.window_start);
  }
  const std::int64_t middle = oldest + (newest - oldest) / 2;
  std::erase_if(failures_, [&](const auto& entry) { return entry.second.window_start <= middle; });
}

}  // namespace backside::auth
