#pragma once
// Push IDs: 8 timestamp chars + 12 random chars, monotonic within one generator.
#include <cstdint>
#include <mutex>
#include <string>

namespace backside::tree {

class PushIdGenerator {
 public:
  PushIdGenerator();
  std::string next(std::int64_t now_ms);  // thread-safe

 private:
  std::mutex mutex_;
  std::int64_t last_time_ = -1;
  unsigned char last_random_[12] = {};
};

}  // namespace backside::tree
