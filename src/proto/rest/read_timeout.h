#pragma once
// The REST `timeout` query parameter (docs/rest.md): how long a read may take before it is answered with an error
// instead of its value.
#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside::proto::rest {

// Firebase's maximum, and the largest value accepted.
inline constexpr std::chrono::milliseconds kMaxReadTimeout = std::chrono::minutes(15);

struct ReadTimeout {
  std::chrono::milliseconds duration;
  std::string text;  // as the client gave it

  // The error a read gets instead of its value when the time is up.
  std::string expired_message() const { return "The read did not finish within timeout=" + text; }
};

// Parses Firebase's form: a positive whole number and a unit, `ms`, `s` or `min` (`500ms`, `3s`, `15min`), at most
// 15 minutes. Anything else is an invalid_argument error naming the value.
Result<ReadTimeout> parse_read_timeout(std::string_view text);

}  // namespace backside::proto::rest
