#include "store/store.h"

namespace backside::store {

std::string encode_path(const tree::Path& path) {
  std::size_t length = 0;
  for (const std::string& segment : path.segments()) length += segment.size() + 1;
  std::string key;
  key.reserve(length);
  for (const std::string& segment : path.segments()) {
    key.append(segment);
    key.push_back('\0');
  }
  return key;
}

// Meant for keys made by encode_path; bytes after the last 0x00 (none in such keys) form a final segment.
tree::Path decode_path(std::string_view key) {
  std::vector<std::string> segments;
  while (!key.empty()) {
    const std::size_t end = key.find('\0');
    segments.emplace_back(key.substr(0, end));
    key.remove_prefix(end == std::string_view::npos ? key.size() : end + 1);
  }
  return tree::Path(std::move(segments));
}

}  // namespace backside::store
