#pragma once
// When the credential a connection authenticated with ends, what it opened ends — the same rule on every door, each
// saying it in its own protocol (the REST stream `auth_revoked`, the Firebase protocol `ac`, STOMP an ERROR) and
// then closing; nothing is delivered after it. A credential ends at its expiry (an ID token's `exp`:
// Identity::expires_at), or earlier when the account behind it ends (deleted, disabled, sessions revoked:
// identity/account_standing.h). Shared by a connection and its subscribers, which deliver on the database's threads:
// thread-safe, except set(), which one thread (the connection's) calls.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "identity/identity.h"
#include "util/unix_time.h"

namespace backside::identity {

class CredentialExpiry {
 public:
  // The credential `auth` from now on (a new credential starts over). `on_account_ended` runs once, on any thread,
  // if the account behind it ends while it is the connection's credential: the door ends the connection from there
  // (take_end), rather than waiting for the client's next frame or the next delivery.
  void set(const Identity& auth, std::function<void()> on_account_ended = {}) {
    watch_.reset();
    std::uint64_t generation;
    {
      std::lock_guard lock(state_->mutex);
      generation = ++state_->generation;
      state_->account_ended.store(false);
      state_->why.clear();
    }
    expires_at_.store(auth.expires_at);
    ended_.store(false);
    if (!auth.standing) return;
    // Called at once if the account has already ended (between the token's check and now).
    watch_ = auth.standing->watch([weak = std::weak_ptr<State>(state_), generation,
                                   on_end = std::move(on_account_ended)](const std::string& why) {
      auto state = weak.lock();
      if (!state) return;
      {
        std::lock_guard lock(state->mutex);
        if (state->generation != generation) return;  // a later credential replaced this one
        state->why = why;
        state->account_ended.store(true);
      }
      if (on_end) on_end();
    });
  }
  void clear() { set(Identity()); }

  std::int64_t expires_at() const { return expires_at_.load(); }
  bool expired() const {
    if (state_->account_ended.load()) return true;
    const std::int64_t at = expires_at_.load();
    return at != 0 && unix_seconds() >= at;
  }
  // True once the account ended (as opposed to the credential's expiry).
  bool account_ended() const { return state_->account_ended.load(); }
  // Why the credential ended, for the client: the account's reason, or "Auth token is expired.".
  std::string why() const {
    std::lock_guard lock(state_->mutex);
    return state_->account_ended.load() ? state_->why : std::string("Auth token is expired.");
  }
  // True for exactly one caller once expired: the one that tells the client and closes the connection.
  bool take_end() { return expired() && !ended_.exchange(true); }

 private:
  // Outlives this object if a callback is running on another thread while it goes (the watch only unregisters).
  struct State {
    std::mutex mutex;
    std::uint64_t generation = 0;
    std::atomic<bool> account_ended{false};
    std::string why;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::atomic<std::int64_t> expires_at_{0};
  std::atomic<bool> ended_{false};
  AccountStanding::Watch watch_;  // last: unregistered first
};

}  // namespace backside::identity
