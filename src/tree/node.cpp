#include "tree/node.h"

#include <algorithm>

namespace backside::tree {
namespace {

Children copy_children(const Children& children) {
  Children copy;
  for (const auto& [key, child] : children) copy.emplace_hint(copy.end(), key, std::make_unique<Node>(*child));
  return copy;
}

// Rank of a value's type in value order: null < false < true < number < string < object.
int value_rank(const Node* node) {
  if (node == nullptr || node->is_null()) return 0;
  if (node->has_children()) return 5;
  const Node::Leaf& leaf = *node->leaf_value();
  if (const bool* b = std::get_if<bool>(&leaf)) return *b ? 2 : 1;
  return std::holds_alternative<double>(leaf) ? 3 : 4;
}

int compare_doubles(double a, double b) { return a < b ? -1 : (b < a ? 1 : 0); }

}  // namespace

Node Node::leaf(Leaf value, std::optional<Priority> priority) { return Node(std::move(value), std::move(priority)); }

Node::Node(Leaf value, std::optional<Priority> priority) : value_(std::move(value)), priority_(std::move(priority)) {}

Node::Node(Children children, std::optional<Priority> priority) {
  std::erase_if(children, [](const auto& entry) { return entry.second == nullptr || entry.second->is_null(); });
  if (children.empty()) return;  // an empty object is null, and null has no priority
  value_ = std::move(children);
  priority_ = std::move(priority);
}

Node::Node(const Node& other) : priority_(other.priority_) {
  if (const Children* children = other.children()) {
    value_ = copy_children(*children);
  } else if (const Leaf* leaf = other.leaf_value()) {
    value_ = *leaf;
  }
}

Node& Node::operator=(const Node& other) {
  if (this != &other) *this = Node(other);
  return *this;
}

const Node::Leaf* Node::leaf_value() const { return std::get_if<Leaf>(&value_); }
const Children* Node::children() const { return std::get_if<Children>(&value_); }
Children* Node::mutable_children() { return std::get_if<Children>(&value_); }

void Node::set_priority(std::optional<Priority> priority) {
  if (!is_null()) priority_ = std::move(priority);
}

const Node* Node::find(const Path& path) const {
  const Node* node = this;
  for (const std::string& key : path.segments()) {
    node = node->find_child(key);
    if (node == nullptr) return nullptr;
  }
  return node;
}

const Node* Node::find_child(const std::string& key) const {
  const Children* kids = children();
  if (kids == nullptr) return nullptr;
  const auto it = kids->find(key);
  return it == kids->end() ? nullptr : it->second.get();
}

std::size_t Node::child_count() const {
  const Children* kids = children();
  return kids == nullptr ? 0 : kids->size();
}

Node Node::set(const Path& path, Node value) { return set_below(path.segments(), 0, std::move(value)); }

Node Node::set_below(const std::vector<std::string>& segments, std::size_t index, Node&& value) {
  if (index == segments.size()) {
    Node old = std::move(*this);
    *this = std::move(value);
    return old;
  }
  const std::string& key = segments[index];
  if (!has_children()) {
    if (value.is_null()) return {};  // deleting below a leaf or null changes nothing
    // A leaf becomes an object; like the SDK's LeafNode.updateChild it keeps its priority.
    value_ = Children{};
  }
  Children& kids = std::get<Children>(value_);
  auto it = kids.find(key);
  if (it == kids.end()) {
    if (value.is_null()) return {};
    it = kids.emplace(key, std::make_unique<Node>()).first;
  }
  Node old = it->second->set_below(segments, index + 1, std::move(value));
  if (it->second->is_null()) {
    kids.erase(it);
    if (kids.empty()) {
      value_ = std::monostate{};
      priority_.reset();
    }
  }
  return old;
}

bool operator==(const Node& a, const Node& b) {
  if (a.priority_ != b.priority_) return false;
  const Children* a_kids = a.children();
  const Children* b_kids = b.children();
  if (a_kids == nullptr || b_kids == nullptr) {
    if (a_kids != b_kids) return false;
    const Node::Leaf* a_leaf = a.leaf_value();
    const Node::Leaf* b_leaf = b.leaf_value();
    return a_leaf == nullptr || b_leaf == nullptr ? a_leaf == b_leaf : *a_leaf == *b_leaf;
  }
  return std::equal(a_kids->begin(), a_kids->end(), b_kids->begin(), b_kids->end(),
                    [](const auto& x, const auto& y) { return x.first == y.first && *x.second == *y.second; });
}

std::size_t Node::leaf_count() const {
  if (is_null()) return 0;
  const Children* kids = children();
  if (kids == nullptr) return 1;
  std::size_t count = 0;
  for (const auto& entry : *kids) count += entry.second->leaf_count();
  return count;
}

int compare_values(const Node* a, const Node* b) {
  const int a_rank = value_rank(a);
  const int b_rank = value_rank(b);
  if (a_rank != b_rank) return a_rank < b_rank ? -1 : 1;
  if (a_rank == 3) return compare_doubles(std::get<double>(*a->leaf_value()), std::get<double>(*b->leaf_value()));
  if (a_rank == 4) {
    return compare_utf16(std::get<std::string>(*a->leaf_value()), std::get<std::string>(*b->leaf_value()));
  }
  return 0;  // same null/boolean, or both objects (all objects are equal in value order)
}

int compare_priorities(const std::optional<Priority>& a, const std::optional<Priority>& b) {
  // Ranks: none 0, number 1, string 2.
  const int a_rank = a ? static_cast<int>(a->index()) + 1 : 0;
  const int b_rank = b ? static_cast<int>(b->index()) + 1 : 0;
  if (a_rank != b_rank) return a_rank < b_rank ? -1 : 1;
  if (a_rank == 1) return compare_doubles(std::get<double>(*a), std::get<double>(*b));
  if (a_rank == 2) return compare_utf16(std::get<std::string>(*a), std::get<std::string>(*b));
  return 0;
}

}  // namespace backside::tree
