#include "proto/rest/write_size_limit.h"

#include <string>

#include "util/excerpt.h"

namespace backside::proto::rest {

Result<std::optional<std::size_t>> parse_write_size_limit(std::string_view text) {
  struct Target {
    std::string_view name;
    std::size_t seconds;
  };
  static constexpr Target kTargets[] = {{"tiny", 1}, {"small", 10}, {"medium", 30}, {"large", 60}};
  for (const Target& target : kTargets) {
    if (text == target.name) return std::optional<std::size_t>(target.seconds * kWriteBytesPerTargetSecond);
  }
  if (text == "unlimited") return std::optional<std::size_t>();
  return invalid("writeSizeLimit must be tiny, small, medium, large or unlimited, got \"" + excerpt(text) + "\"");
}

}  // namespace backside::proto::rest
