#include "auth/attempt_limiter.h"

#include <algorithm>

namespace backside::auth {

bool AttemptLimiter::reserve(const std::string& key, std::int64_t now) {
  if (options_.max_attempts == 0) return true;
  std::lock_guard lock(mutex_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) {
    if (attempts_.size() >= options_.max_keys) {
      make_room(now);
      // Every entry holds a reservation: refusing is the only bounded answer (the hash queue is far smaller).
      if (attempts_.size() >= options_.max_keys) return false;
    }
    it = attempts_.emplace(key, Attempts{0, 0, now}).first;
  } else if (now - it->second.window_start >= options_.window_seconds) {
    it->second.counted = 0;  // a new window; reservations in flight still count
    it->second.window_start = now;
  }
  if (it->second.counted + it->second.in_flight >= options_.max_attempts) return false;
  ++it->second.in_flight;
  return true;
}

bool AttemptLimiter::count(const std::string& key, std::int64_t now) {
  if (options_.max_attempts == 0) return false;
  std::lock_guard lock(mutex_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) {
    // Evicted while in flight (only when the table was full): counted anew, as far as room allows.
    if (attempts_.size() >= options_.max_keys) make_room(now);
    if (attempts_.size() >= options_.max_keys) return false;
    it = attempts_.emplace(key, Attempts{0, 0, now}).first;
  } else if (now - it->second.window_start >= options_.window_seconds) {
    it->second.counted = 0;
    it->second.window_start = now;
  }
  if (it->second.in_flight > 0) --it->second.in_flight;
  return ++it->second.counted == options_.max_attempts;
}

void AttemptLimiter::release(const std::string& key) {
  if (options_.max_attempts == 0) return;
  std::lock_guard lock(mutex_);
  if (auto it = attempts_.find(key); it != attempts_.end()) end_reservation(it);
}

void AttemptLimiter::succeeded(const std::string& key) {
  if (options_.max_attempts == 0) return;
  std::lock_guard lock(mutex_);
  if (auto it = attempts_.find(key); it != attempts_.end()) {
    it->second.counted = 0;
    end_reservation(it);
  }
}

void AttemptLimiter::end_reservation(std::unordered_map<std::string, Attempts>::iterator it) {
  if (it->second.in_flight > 0) --it->second.in_flight;
  if (it->second.in_flight == 0 && it->second.counted == 0) attempts_.erase(it);
}

std::size_t AttemptLimiter::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return attempts_.size();
}

std::uint32_t AttemptLimiter::in_flight(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = attempts_.find(key);
  return it == attempts_.end() ? 0 : it->second.in_flight;
}

void AttemptLimiter::make_room(std::int64_t now) {
  // Entries with reservations in flight stay (their outcome is still to be counted). Of the rest, expired windows
  // go first; if that is not enough, the older half (those closest to expiring).
  auto idle = [](const Attempts& entry) { return entry.in_flight == 0; };
  std::erase_if(attempts_, [&](const auto& entry) {
    return idle(entry.second) && now - entry.second.window_start >= options_.window_seconds;
  });
  if (attempts_.size() < options_.max_keys) return;
  std::int64_t oldest = now;
  std::int64_t newest = 0;
  for (const auto& [key, entry] : attempts_) {
    if (!idle(entry)) continue;
    oldest = std::min(oldest, entry.window_start);
    newest = std::max(newest, entry.window_start);
  }
  const std::int64_t middle = oldest + (newest - oldest) / 2;
  std::erase_if(attempts_,
                [&](const auto& entry) { return idle(entry.second) && entry.second.window_start <= middle; });
}

}  // namespace backside::auth
