#include "store/tree_builder.h"

#include <algorithm>

#include "store/row_codec.h"

namespace backside::store {
namespace {

Error corrupt_row(std::string_view key, std::string_view reason) {
  return {ErrorCode::internal, "corrupt store row " + describe_key(key) + ": " + std::string(reason)};
}

}  // namespace

TreeBuilder::TreeBuilder() { frames_.emplace_back(); }

Status TreeBuilder::add(std::string_view key, std::string_view value) {
  // Segments wholly inside the common prefix with the previous key are already on the stack.
  const std::size_t common = static_cast<std::size_t>(
      std::mismatch(key.begin(), key.end(), previous_key_.begin(), previous_key_.end()).first - key.begin());
  const std::size_t shared_depth = static_cast<std::size_t>(std::count(key.begin(), key.begin() + common, '\0'));
  const std::size_t last_terminator = key.substr(0, common).rfind('\0');
  std::size_t segment_start = last_terminator == std::string_view::npos ? 0 : last_terminator + 1;

  while (frames_.size() > shared_depth + 1) {
    if (Status popped = pop(); !popped) return popped;
  }
  while (segment_start < key.size()) {
    const std::size_t end = key.find('\0', segment_start);
    if (end == std::string_view::npos) return corrupt_row(key, "key does not end with a 0x00 byte");
    if (end == segment_start) return corrupt_row(key, "key has an empty segment");
    frames_.push_back(Frame{.key = std::string(key.substr(segment_start, end - segment_start))});
    segment_start = end + 1;
  }

  Result<Row> row = decode_row(value);
  if (!row) return corrupt_row(key, row.error().message);
  Frame& frame = frames_.back();
  if (frame.has_row) return corrupt_row(key, "repeated key");
  frame.leaf = std::move(row->leaf);
  frame.priority = std::move(row->priority);
  frame.has_row = true;
  previous_key_.assign(key);
  return ok_status();
}

Result<tree::Node> TreeBuilder::finish() {
  while (frames_.size() > 1) {
    if (Status popped = pop(); !popped) return popped.error();
  }
  return to_node(frames_.back());
}

Status TreeBuilder::pop() {
  Result<tree::Node> node = to_node(frames_.back());
  if (!node) return node.error();
  std::string key = std::move(frames_.back().key);
  frames_.pop_back();
  if (node->is_null()) return ok_status();

  tree::Children& siblings = frames_.back().children;
  const std::size_t count_before = siblings.size();
  // Rows come in byte order, which mostly agrees with key order, so the end is usually the right place.
  siblings.emplace_hint(siblings.end(), std::move(key), std::make_unique<tree::Node>(std::move(*node)));
  if (siblings.size() == count_before) {
    return Error{ErrorCode::internal, "corrupt store: two rows map to the same child in " + frames_path()};
  }
  return ok_status();
}

Result<tree::Node> TreeBuilder::to_node(Frame& frame) const {
  if (frame.leaf) {
    if (!frame.children.empty()) {
      return Error{ErrorCode::internal, "corrupt store: " + frames_path() + " is both a leaf and an object"};
    }
    return tree::Node(std::move(*frame.leaf), std::move(frame.priority));
  }
  if (frame.children.empty()) return tree::Node();
  return tree::Node(std::move(frame.children), std::move(frame.priority));
}

std::string TreeBuilder::frames_path() const {
  if (frames_.size() == 1) return "/";
  std::string path;
  for (std::size_t i = 1; i < frames_.size(); ++i) path += "/" + frames_[i].key;
  return path;
}

}  // namespace backside::store
