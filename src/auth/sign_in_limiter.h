#pragma once
// Brute-force protection for password sign-in: after `max_failures` wrong passwords within `window_seconds` for
// one key (an account's email, a client address), that key is refused until the window has passed. A success
// clears the account's count. The table is bounded, so a client cannot grow it without limit by inventing keys.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backside::auth {

class SignInLimiter {
 public:
  struct Options {
    std::uint32_t max_failures = 10;  // 0 turns the limiter off
    std::int64_t window_seconds = 300;
    std::size_t max_keys = 100000;
  };
  explicit SignInLimiter(Options options) : options_(options) {}

  // False while `key` is locked out.
  bool allowed(const std::string& key, std::int64_t now) const;
  void failed(const std::string& key, std::int64_t now);
  void succeeded(const std::string& key);
  std::size_t tracked_keys() const;

 private:
  struct Failures {
    std::uint32_t count = 0;
    std::int64_t window_start = 0;
  };
  void make_room(std::int64_t now);

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Failures> failures_;
};

}  // namespace backside::auth
