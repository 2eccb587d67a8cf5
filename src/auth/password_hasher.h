#pragma once
// Argon2id password hashing (libsodium, OWASP's parameters: 12 MiB, 3 passes) on its own worker threads, so that
// sign-ups and sign-ins never stall the I/O threads. The work waiting or running is bounded server-wide
// (`max_pending`): past it a request is refused at once (the caller answers "try later") rather than queued
// behind seconds of hashing. New passwords (sign-ups, password changes) may take only half of that, so that a
// flood of sign-ups leaves sign-ins room.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace backside::auth {

// What a client is told (the Auth API answers it with status 503) when the bound is reached; Firebase's code,
// which the SDK maps to auth/too-many-requests.
inline constexpr std::string_view kPasswordHashesBusy =
    "TOO_MANY_ATTEMPTS_TRY_LATER : The server is busy checking passwords. Please try again shortly.";

class PasswordHasher {
 public:
  explicit PasswordHasher(std::size_t threads = 2, std::size_t max_pending = 64);
  ~PasswordHasher();  // finishes the queued work

  // `done(hash)` on a worker thread; an empty hash means hashing failed (out of memory). False, and `done` is
  // never called, when new passwords already have their share of the bound.
  [[nodiscard]] bool hash(std::string password, std::function<void(std::string)> done);
  // `done(matches)` on a worker thread. False, and `done` is never called, when the bound is reached.
  [[nodiscard]] bool verify(std::string hash, std::string password, std::function<void(bool)> done);
  std::size_t pending() const;

 private:
  void run();
  bool submit(std::size_t limit, std::function<void()> job);

  std::size_t max_pending_;
  std::size_t pending_ = 0;  // queued or running
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace backside::auth
