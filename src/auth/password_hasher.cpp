#include "auth/password_hasher.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace backside::auth {

PasswordHasher::PasswordHasher(std::size_t threads, std::size_t max_pending)
    : max_pending_(std::max<std::size_t>(max_pending, 1)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialized");
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

PasswordHasher::~PasswordHasher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void PasswordHasher::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
    std::lock_guard lock(mutex_);
    --pending_;
  }
}

bool PasswordHasher::submit(std::size_t limit, std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (pending_ >= limit) return false;
    ++pending_;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t PasswordHasher::pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

namespace {
// OWASP's Argon2id parameters (m = 12 MiB, t = 3, p = 1): about a quarter of libsodium's "interactive" cost (64 MiB,
// t = 2), so that two worker threads sustain bursts of sign-ins (docs/benchmarks-auth.md) while each guess still
// costs an attacker 12 MiB and three passes. The parameters are in each stored hash: older hashes still verify.
constexpr unsigned long long kArgon2Passes = 3;
constexpr std::size_t kArgon2MemoryBytes = std::size_t(12) << 20;
}  // namespace

bool PasswordHasher::hash(std::string password, std::function<void(std::string)> done) {
  const bool queued = submit(std::max<std::size_t>(max_pending_ / 2, 1), [password, done = std::move(done)]() mutable {
    char out[crypto_pwhash_STRBYTES];
    const bool ok = crypto_pwhash_str_alg(out, password.data(), password.size(), kArgon2Passes, kArgon2MemoryBytes,
                                          crypto_pwhash_ALG_ARGON2ID13) == 0;
    sodium_memzero(password.data(), password.size());
    done(ok ? std::string(out) : std::string());
  });
  sodium_memzero(password.data(), password.size());
  return queued;
}

bool PasswordHasher::verify(std::string hash, std::string password, std::function<void(bool)> done) {
  const bool queued =
      submit(max_pending_, [hash = std::move(hash), password, done = std::move(done)]() mutable {
        const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
        sodium_memzero(password.data(), password.size());
        done(ok);
      });
  sodium_memzero(password.data(), password.size());
  return queued;
}

}  // namespace backside::auth
