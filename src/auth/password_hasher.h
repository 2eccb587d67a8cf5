#pragma once
// Argon2id password hashing (libsodium, OWASP's parameters: 12 MiB, 3 passes) on its own worker threads, so that
// sign-ups and sign-ins never stall the I/O threads.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace backside::auth {

class PasswordHasher {
 public:
  explicit PasswordHasher(std::size_t threads = 2);
  ~PasswordHasher();  // finishes the queued work

  // `done(hash)` on a worker thread; an empty hash means hashing failed (out of memory).
  void hash(std::string password, std::function<void(std::string)> done);
  // `done(matches)` on a worker thread.
  void verify(std::string hash, std::string password, std::function<void(bool)> done);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace backside::auth
