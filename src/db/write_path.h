#pragma once
// Parses a client-supplied location that may end in ".priority" (a write to the priority of the node above it).
#include <string_view>

#include "tree/path.h"
#include "util/result.h"

namespace backside::db {

struct WritePath {
  tree::Path path;
  bool priority = false;  // the location was ".../.priority"
};

Result<WritePath> parse_write_path(std::string_view text);

}  // namespace backside::db
