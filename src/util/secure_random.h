#pragma once
// Random bytes for everything a client could guess or must not predict (session ids, the long-poll password,
// refresh tokens, user ids, push ids, the admin token): the OS CSPRNG through libsodium's randombytes_buf, which
// cannot fail once libsodium is initialized. Modules that include this link libsodium (src/CMakeLists.txt).
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace backside {

inline void ensure_sodium() {
  // sodium_init is thread-safe and idempotent; once per process is enough.
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) throw std::runtime_error("libsodium cannot be initialized");
}

inline void secure_random_bytes(void* out, std::size_t size) {
  ensure_sodium();
  randombytes_buf(out, size);
}

// `length` characters drawn uniformly (no modulo bias) from `alphabet`.
inline std::string secure_random_string(std::size_t length, std::string_view alphabet) {
  ensure_sodium();
  std::string out(length, ' ');
  for (char& c : out) c = alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))];
  return out;
}

}  // namespace backside
