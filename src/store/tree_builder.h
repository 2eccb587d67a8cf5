#pragma once
// Internal to the store module: rebuilds a tree from its rows.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tree/node.h"
#include "util/result.h"

namespace backside::store {

// Takes rows (encoded path key, row value) in byte order of their keys, so that a subtree's rows are contiguous
// and an object's own priority row comes before its children's rows. Keeps one frame per segment of the current
// key: each row pops only the frames it does not share with the previous key and pushes its new segments, and a
// popped frame becomes a finished node in its parent's children (so no row walks down from the root).
class TreeBuilder {
 public:
  TreeBuilder();
  // Error{internal} for a malformed key or value, a repeated key, or a leaf that also has children.
  Status add(std::string_view key, std::string_view value);
  Result<tree::Node> finish();

 private:
  struct Frame {
    std::string key;  // the segment; empty for the root
    tree::Children children;
    std::optional<tree::Node::Leaf> leaf;
    std::optional<tree::Priority> priority;  // of the leaf, or the object's own
    bool has_row = false;
  };

  // Turns the top frame into a node (if it holds any data) and adds it to the children of the frame below.
  Status pop();
  // The node a finished frame stands for; null for an object-priority row whose object got no children.
  Result<tree::Node> to_node(Frame& frame) const;
  std::string frames_path() const;  // for messages

  std::vector<Frame> frames_;  // frames_[0] is the root, then one per segment of previous_key_
  std::string previous_key_;
};

}  // namespace backside::store
