#pragma once
// A bound on a write's size (REST writeSizeLimit, docs/rest.md): the data it sends plus the data it replaces or
// removes. The second part is what makes a small request costly (a DELETE of a large subtree), and only the writer
// knows it, from the tree as the write finds it.
#include <cstddef>
#include <string_view>
#include <vector>

#include "tree/node.h"
#include "tree/path.h"
#include "util/result.h"

namespace backside::db {

// Firebase's words for a write over its limit; clients match on them.
inline constexpr std::string_view kWriteTooBig =
    "Data to write exceeds the maximum size that can be modified with a single request.";

struct WriteSizeLimit {
  std::size_t max_bytes = 0;
  std::size_t sent_bytes = 0;  // the data as the client sent it (REST: the request body)
};

// ok if `limit.sent_bytes` plus the export JSON bytes of what `root` holds at `locations` (the paths the write
// replaces) is at most `limit.max_bytes`; otherwise an invalid_argument error with kWriteTooBig. Walks at most
// about `max_bytes` of the tree, however much lies at the locations.
Status check_write_size(const WriteSizeLimit& limit, const tree::Node& root, const std::vector<tree::Path>& locations);

}  // namespace backside::db
