#include "proto/rest/read_timeout.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "util/excerpt.h"

namespace backside::proto::rest {

Result<ReadTimeout> parse_read_timeout(std::string_view text) {
  auto bad = [&] {
    return invalid("timeout must be a positive whole number followed by ms, s or min, at most 15min (e.g. "
                   "timeout=3s), got \"" + excerpt(text) + "\"");
  };
  std::uint64_t number = 0;
  const char* const end = text.data() + text.size();
  const auto [unit_begin, error] = std::from_chars(text.data(), end, number);
  if (unit_begin == text.data() || error != std::errc()) return bad();  // no number, a sign, or far too large
  // Bounded here so that no unit can overflow below.
  if (number == 0 || number > static_cast<std::uint64_t>(kMaxReadTimeout.count())) return bad();
  const std::string_view unit(unit_begin, static_cast<std::size_t>(end - unit_begin));
  std::chrono::milliseconds timeout;
  if (unit == "ms") {
    timeout = std::chrono::milliseconds(number);
  } else if (unit == "s") {
    timeout = std::chrono::seconds(number);
  } else if (unit == "min") {
    timeout = std::chrono::minutes(number);
  } else {
    return bad();
  }
  if (timeout > kMaxReadTimeout) return bad();
  return ReadTimeout{timeout, std::string(text)};
}

}  // namespace backside::proto::rest
