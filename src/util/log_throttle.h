#pragma once
// Lets a log message through at most once per interval and counts the ones it held back, so that a client that can
// cause a log line at will (a refused connection, a bad request) cannot flood the log or slow the server writing
// it. Thread-safe.
#include <chrono>
#include <cstddef>
#include <mutex>

namespace backside {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // Whether to log the event that happens at `now`; if so, `suppressed` is set to the number of events held back
  // since the last one let through.
  bool allow(std::size_t& suppressed, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    if (logged_once_ && now - last_ < interval_) {
      ++held_back_;
      return false;
    }
    logged_once_ = true;
    last_ = now;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  const Clock::duration interval_;
  std::mutex mutex_;
  bool logged_once_ = false;
  Clock::time_point last_{};
  std::size_t held_back_ = 0;
};

}  // namespace backside
