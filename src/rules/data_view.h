#pragma once
// The data a rule sees as `root`/`data` (before a write) or `newData` (after it). Writes are checked before they
// are applied, so `newData` is an overlay: the current tree with the write's locations replaced, materialized
// only where a rule asks for the whole value of an ancestor of a written location.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tree/node.h"

namespace backside::rules {

class DataView {
 public:
  virtual ~DataView() = default;
  // The node at `path`, or nullptr if there is none. Valid as long as the view.
  virtual const tree::Node* find(const tree::Path& path) const = 0;
};

class NodeView final : public DataView {
 public:
  explicit NodeView(const tree::Node& root) : root_(root) {}
  const tree::Node* find(const tree::Path& path) const override { return root_.find(path); }

 private:
  const tree::Node& root_;
};

// `base` with each (location, value) of a write in place of what is there; locations must be disjoint.
// A find costs O(depth * log(writes)): a multi-path update's rules check stays O(n log n) in its keys.
class OverlayView final : public DataView {
 public:
  OverlayView(const tree::Node& base, std::vector<std::pair<tree::Path, const tree::Node*>> writes);
  const tree::Node* find(const tree::Path& path) const override;

 private:
  const tree::Node& base_;
  // By segments, lexicographically: a location's descendants follow it, and the one write at or above a path
  // (disjoint locations) is the last one not after it.
  std::map<std::vector<std::string>, const tree::Node*> writes_;
  // Ancestors of written locations, by their segments, once asked for.
  mutable std::map<std::vector<std::string>, std::unique_ptr<tree::Node>> materialized_;
};

}  // namespace backside::rules
