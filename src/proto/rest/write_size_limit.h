#pragma once
// The REST `writeSizeLimit` query parameter (docs/rest.md). Firebase names a target time for a write (tiny 1 s,
// small 10 s, medium 30 s, large 60 s, or unlimited) and refuses writes it estimates would take longer. Backside
// turns the target into a bound on the write's size: the data it sends plus the data it replaces or removes.
#include <cstddef>
#include <optional>
#include <string_view>

#include "util/result.h"

namespace backside::proto::rest {

// Bytes per second of target time: deliberately below what a write costs here (applying and committing new data
// runs at a few MB/s on a small shared machine; removing data is far faster), so a write within its bound
// finishes within its target time.
inline constexpr std::size_t kWriteBytesPerTargetSecond = 1024 * 1024;

// The bound in bytes for `tiny`, `small`, `medium` or `large`; nullopt for `unlimited`. Anything else is an
// invalid_argument error naming the value.
Result<std::optional<std::size_t>> parse_write_size_limit(std::string_view text);

}  // namespace backside::proto::rest
