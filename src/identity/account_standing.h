#pragma once
// Whether the user account an identity was established for still stands. An ID token is checked against its user
// when it is presented; a connection that authenticated with it lives on after that. When the account is deleted,
// disabled or its sessions are revoked, its standing ends, and every connection watching it ends too, on every door
// (identity/credential_expiry.h) — beyond Firebase, which offers servers a revocation check only.
// One standing is shared by the sessions of one sign-in (auth/id_tokens.h hands them out). Thread-safe.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace backside::identity {

class AccountStanding : public std::enable_shared_from_this<AccountStanding> {
 public:
  // Called once, on the thread that ends the standing, with why (a message for the client). Must not block.
  using Callback = std::function<void(const std::string& why)>;

  // Registered while it lives: dropping it unregisters the callback.
  class Watch {
   public:
    Watch() = default;
    Watch(std::weak_ptr<AccountStanding> standing, std::uint64_t id) : standing_(std::move(standing)), id_(id) {}
    Watch(Watch&& other) noexcept : standing_(std::move(other.standing_)), id_(std::exchange(other.id_, 0)) {}
    Watch& operator=(Watch&& other) noexcept {
      if (this != &other) {
        reset();
        standing_ = std::move(other.standing_);
        id_ = std::exchange(other.id_, 0);
      }
      return *this;
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { reset(); }
    void reset() {
      if (auto standing = standing_.lock(); standing && id_ != 0) standing->forget(id_);
      standing_.reset();
      id_ = 0;
    }

   private:
    std::weak_ptr<AccountStanding> standing_;
    std::uint64_t id_ = 0;
  };

  bool ended() const { return ended_.load(std::memory_order_acquire); }
  std::string why() const {
    std::lock_guard lock(mutex_);
    return why_;
  }

  // Ends the standing (the first call only) and runs the callbacks registered by then, outside the lock (a callback
  // may drop its own watch).
  void end(std::string why) {
    std::map<std::uint64_t, Callback> callbacks;
    {
      std::lock_guard lock(mutex_);
      if (ended_.load(std::memory_order_relaxed)) return;
      why_ = std::move(why);
      ended_.store(true, std::memory_order_release);
      callbacks.swap(callbacks_);
    }
    for (auto& [id, callback] : callbacks) callback(why_);
  }

  // Runs `callback` when the standing ends — at once, on this thread, if it already has.
  Watch watch(Callback callback) {
    std::unique_lock lock(mutex_);
    if (ended_.load(std::memory_order_relaxed)) {
      lock.unlock();
      callback(why_);  // why_ no longer changes once ended
      return Watch();
    }
    const std::uint64_t id = next_id_++;
    callbacks_.emplace(id, std::move(callback));
    return Watch(weak_from_this(), id);
  }

  std::size_t watchers() const {
    std::lock_guard lock(mutex_);
    return callbacks_.size();
  }

 private:
  void forget(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    callbacks_.erase(id);
  }

  mutable std::mutex mutex_;
  std::atomic<bool> ended_{false};
  std::string why_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Callback> callbacks_;
};

}  // namespace backside::identity
