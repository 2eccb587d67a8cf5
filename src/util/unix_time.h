#pragma once
// Wall-clock time as Unix time: what tokens (iat, exp, validSince), user records and server timestamps carry.
#include <chrono>
#include <cstdint>

namespace backside {

inline std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace backside
