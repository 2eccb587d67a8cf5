#include "rules/data_view.h"

#include <string>

namespace backside::rules {

using tree::Node;
using tree::Path;

const Node* OverlayView::find(const Path& path) const {
  bool above_a_write = false;
  for (const auto& [location, value] : writes_) {
    if (location.is_prefix_of(path)) {
      // At or below a written location: the write's value decides.
      const Node* node = value->find(path.relative_to(location));
      return node && !node->is_null() ? node : nullptr;
    }
    if (path.is_prefix_of(location)) above_a_write = true;
  }
  if (!above_a_write) return base_.find(path);
  auto it = materialized_.find(path.segments());
  if (it == materialized_.end()) {
    const Node* before = base_.find(path);
    auto node = std::make_unique<Node>(before ? *before : Node());
    for (const auto& [location, value] : writes_) {
      if (path.is_prefix_of(location)) node->set(location.relative_to(path), *value);
    }
    it = materialized_.emplace(path.segments(), std::move(node)).first;
  }
  return it->second->is_null() ? nullptr : it->second.get();
}

}  // namespace backside::rules
