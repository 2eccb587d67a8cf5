#include "tree/push_id.h"

#include <algorithm>

#include "util/secure_random.h"

namespace backside::tree {
namespace {

// 64 characters in ASCII order, so IDs sort by time as plain strings.
constexpr char kPushChars[] = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

void fill_random(unsigned char (&digits)[12]) {
  secure_random_bytes(digits, sizeof digits);
  for (unsigned char& digit : digits) digit &= 63;
}

}  // namespace

PushIdGenerator::PushIdGenerator() = default;

std::string PushIdGenerator::next(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  // A clock that steps back keeps using the last time, so IDs from one generator always increase.
  const std::int64_t time = std::max({now_ms, last_time_, std::int64_t{0}});
  if (time == last_time_) {
    int i = 11;
    for (; i >= 0 && last_random_[i] == 63; --i) last_random_[i] = 0;
    if (i >= 0) {
      ++last_random_[i];
    } else {
      ++last_time_;  // the random part wrapped around: carry into the timestamp
    }
  } else {
    last_time_ = time;
    fill_random(last_random_);
  }

  std::string id(20, '-');
  std::int64_t remaining = last_time_;
  for (int i = 7; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kPushChars[remaining % 64];
    remaining /= 64;
  }
  for (int i = 0; i < 12; ++i) id[static_cast<std::size_t>(8 + i)] = kPushChars[last_random_[i]];
  return id;
}

}  // namespace backside::tree
