#include "rules/data_view.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace backside::rules {

using tree::Node;
using tree::Path;

namespace {

bool starts_with(const std::vector<std::string>& segments, const std::vector<std::string>& prefix) {
  return segments.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), segments.begin());
}

}  // namespace

OverlayView::OverlayView(const Node& base, std::vector<std::pair<Path, const Node*>> writes) : base_(base) {
  for (auto& [location, value] : writes) writes_.emplace(location.segments(), value);
}

const Node* OverlayView::find(const Path& path) const {
  const std::vector<std::string>& segments = path.segments();
  const auto after = writes_.upper_bound(segments);
  if (after != writes_.begin()) {
    const auto& [location, value] = *std::prev(after);
    if (starts_with(segments, location)) {
      // At or below a written location: the write's value decides.
      const Node* node = value->find(path.relative_to(Path(location)));
      return node && !node->is_null() ? node : nullptr;
    }
  }
  // Written locations below `path` are the ones from the first not before it, while they start with it.
  const auto first_below = writes_.lower_bound(segments);
  if (first_below == writes_.end() || !starts_with(first_below->first, segments)) return base_.find(path);
  auto it = materialized_.find(segments);
  if (it == materialized_.end()) {
    const Node* before = base_.find(path);
    auto node = std::make_unique<Node>(before ? *before : Node());
    for (auto w = first_below; w != writes_.end() && starts_with(w->first, segments); ++w) {
      node->set(Path(w->first).relative_to(path), *w->second);
    }
    it = materialized_.emplace(segments, std::move(node)).first;
  }
  return it->second->is_null() ? nullptr : it->second.get();
}

}  // namespace backside::rules
