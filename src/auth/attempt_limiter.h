#pragma once
// Counts attempts per key (an account, a client address) within a window and refuses a key once `max_attempts`
// were made: wrong passwords for sign-in lockouts, sign-ups per address. An attempt whose outcome is not known yet
// (its password hash is still being computed) holds a reservation that counts as an attempt, so that N attempts
// sent in parallel cannot pass the limit before the first of them is counted. A reservation ends as counted
// (`count`), as not counted (`release`), or as a success that forgets the key's count (`succeeded`). The table
// is bounded, so a client cannot grow it without limit by inventing keys.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backside::auth {

class AttemptLimiter {
 public:
  struct Options {
    std::uint32_t max_attempts = 10;  // 0 turns the limiter off
    std::int64_t window_seconds = 300;
    std::size_t max_keys = 100000;
  };
  explicit AttemptLimiter(Options options) : options_(options) {}

  // Takes a reservation for one attempt: false (and nothing taken) while `key` is at its limit, counting the
  // reservations in flight.
  [[nodiscard]] bool reserve(const std::string& key, std::int64_t now);
  // Ends a reservation: the attempt counts against the key (a wrong password; a sign-up made). True if this attempt
  // is the one that reached the limit: the key is locked out from now until its window ends.
  bool count(const std::string& key, std::int64_t now);
  // Ends a reservation without counting it (the attempt was refused before it made the server work).
  void release(const std::string& key);
  // Ends a reservation and forgets the key's counted attempts (the right password).
  void succeeded(const std::string& key);

  std::size_t tracked_keys() const;
  std::uint32_t in_flight(const std::string& key) const;

 private:
  struct Attempts {
    std::uint32_t counted = 0;
    std::uint32_t in_flight = 0;
    std::int64_t window_start = 0;
  };
  // Erases the entry when it holds nothing any more.
  void end_reservation(std::unordered_map<std::string, Attempts>::iterator it);
  void make_room(std::int64_t now);

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Attempts> attempts_;
};

}  // namespace backside::auth
