#include "db/write_path.h"

namespace backside::db {

Result<WritePath> parse_write_path(std::string_view text) {
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  constexpr std::string_view kPriority = ".priority";
  WritePath result;
  if (text.size() >= kPriority.size() && text.substr(text.size() - kPriority.size()) == kPriority &&
      (text.size() == kPriority.size() || text[text.size() - kPriority.size() - 1] == '/')) {
    result.priority = true;
    text.remove_suffix(kPriority.size());
  }
  auto path = tree::Path::parse(text);
  if (!path) return path.error();
  result.path = std::move(*path);
  return result;
}

}  // namespace backside::db
