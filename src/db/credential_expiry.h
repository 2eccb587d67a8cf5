#pragma once
// When the credential a connection authenticated with expires (an ID token's `exp`: Auth::expires_at), what it
// opened ends — the same rule on every door, each saying it in its own protocol (the REST stream `auth_revoked`,
// the Firebase protocol `ac`, STOMP an ERROR) and then closing; nothing is delivered after the expiry. Shared by a
// connection and its subscribers, which deliver on the database's threads: thread-safe.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace backside::db {

class CredentialExpiry {
 public:
  // Unix seconds; 0 = never. A new credential starts over.
  void set(std::int64_t expires_at) {
    expires_at_.store(expires_at);
    ended_.store(false);
  }
  std::int64_t expires_at() const { return expires_at_.load(); }
  bool expired() const {
    const std::int64_t at = expires_at_.load();
    return at != 0 && std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count() >= at;
  }
  // True for exactly one caller once expired: the one that tells the client and closes the connection.
  bool take_end() { return expired() && !ended_.exchange(true); }

 private:
  std::atomic<std::int64_t> expires_at_{0};
  std::atomic<bool> ended_{false};
};

}  // namespace backside::db
