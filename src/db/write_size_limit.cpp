#include "db/write_size_limit.h"

#include <string>

#include "tree/json_size.h"

namespace backside::db {

Status check_write_size(const WriteSizeLimit& limit, const tree::Node& root, const std::vector<tree::Path>& locations) {
  const Error too_big = invalid(std::string(kWriteTooBig));
  if (limit.sent_bytes > limit.max_bytes) return too_big;
  std::size_t left = limit.max_bytes - limit.sent_bytes;
  for (const tree::Path& location : locations) {
    const tree::Node* replaced = root.find(location);
    if (replaced == nullptr) continue;
    const std::size_t size = tree::export_json_size(*replaced, left);
    if (size > left) return too_big;
    left -= size;
  }
  return ok_status();
}

}  // namespace backside::db
