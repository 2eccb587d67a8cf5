#pragma once
// The Firebase data node: null | leaf (bool/number/string) | children, each with an optional
// priority. A Node in a tree is always normalized: no null children, no empty objects, no priority on null.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "tree/order.h"
#include "tree/path.h"

namespace backside::tree {

class Node;
using NodePtr = std::unique_ptr<Node>;
using Children = std::map<std::string, NodePtr, KeyLess>;  // in Firebase key order
using Priority = std::variant<double, std::string>;       // number or string

class Node {
 public:
  using Leaf = std::variant<bool, double, std::string>;

  Node() = default;  // null
  static Node leaf(Leaf value, std::optional<Priority> priority = std::nullopt);
  Node(const Node& other);  // deep copy
  Node& operator=(const Node& other);
  Node(Node&&) noexcept = default;
  Node& operator=(Node&&) noexcept = default;

  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_leaf() const { return !is_null() && !has_children(); }
  bool has_children() const { return std::holds_alternative<Children>(value_); }
  const Leaf* leaf_value() const;        // nullptr unless a leaf
  const Children* children() const;      // nullptr unless it has children
  Children* mutable_children();          // nullptr unless it has children
  const std::optional<Priority>& priority() const { return priority_; }

  // Sets the priority; ignored on null (empty nodes cannot carry a priority).
  void set_priority(std::optional<Priority> priority);

  // The descendant at `path` (relative), or nullptr if absent.
  const Node* find(const Path& path) const;
  const Node* find_child(const std::string& key) const;
  std::size_t child_count() const;

  // Replaces the node at relative `path` with `value` (null deletes), creating parents and removing parents that
  // become empty. Returns the previous node at `path` (null if absent). Depth is the caller's concern.
  Node set(const Path& path, Node value);

  // Structural equality, priorities included.
  friend bool operator==(const Node& a, const Node& b);

  // Number of leaves (a leaf counts 1, null 0).
  std::size_t leaf_count() const;

 private:
  // set() below segments[index..]: recursion keeps the "remove emptied parents" step local to each level.
  Node set_below(const std::vector<std::string>& segments, std::size_t index, Node&& value);

  std::variant<std::monostate, Leaf, Children> value_;
  std::optional<Priority> priority_;

 public:
  // Low-level constructors used by codecs: a leaf, or a node taking ownership of non-empty children.
  explicit Node(Leaf value, std::optional<Priority> priority = std::nullopt);
  explicit Node(Children children, std::optional<Priority> priority = std::nullopt);
};

// Value order (orderByValue / orderByChild): null < false < true < numbers < strings < objects (all equal).
// Returns <0, 0, >0. Ties are NOT broken by key here.
int compare_values(const Node* a, const Node* b);
// Priority order: none < numbers < strings.
int compare_priorities(const std::optional<Priority>& a, const std::optional<Priority>& b);

}  // namespace backside::tree
