#include "store/row_codec.h"
#include "store/store.h"

namespace backside::store {
namespace {

// Appends one put per leaf and per object priority of `node`, whose encoded path is `key` (extended in place
// while descending, restored on return).
void append_rows(const tree::Node& node, std::string& key, std::vector<WriteBatch::Op>& ops) {
  if (const tree::Node::Leaf* leaf = node.leaf_value()) {
    ops.push_back({WriteBatch::Op::Kind::put, key, encode_leaf_row(*leaf, node.priority())});
    return;
  }
  const tree::Children* children = node.children();
  if (children == nullptr) return;  // null: nothing to write
  if (node.priority()) {
    ops.push_back({WriteBatch::Op::Kind::put, key, encode_object_priority_row(*node.priority())});
  }
  const std::size_t length = key.size();
  for (const auto& [child_key, child] : *children) {
    key.append(child_key);
    key.push_back('\0');
    append_rows(*child, key, ops);
    key.resize(length);
  }
}

}  // namespace

void WriteBatch::replace_subtree(const tree::Path& path, const tree::Node& value) {
  std::string key = encode_path(path);
  ops_.push_back({Op::Kind::erase_range, key, {}});
  append_rows(value, key, ops_);
}

void WriteBatch::set_object_priority(const tree::Path& path, const std::optional<tree::Priority>& priority) {
  // A put overwrites whatever row is at the key (a leaf included), so only removal needs its own op.
  if (priority) {
    ops_.push_back({Op::Kind::put, encode_path(path), encode_object_priority_row(*priority)});
  } else {
    ops_.push_back({Op::Kind::erase_exact, encode_path(path), {}});
  }
}

}  // namespace backside::store
