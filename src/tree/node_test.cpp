#include "tree/node.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tree/json_codec.h"

namespace backside::tree {
namespace {

Path P(std::string_view text) { return Path::parse(text).value(); }
Node J(std::string_view json) { return parse_json(json).value(); }
std::string E(const Node& node) { return to_json(node, {.format = Format::export_}); }

std::vector<std::string> keys_of(const Node& node) {
  std::vector<std::string> keys;
  for (const auto& entry : *node.children()) keys.push_back(entry.first);
  return keys;
}

TEST(Node, NullByDefault) {
  const Node node;
  EXPECT_TRUE(node.is_null());
  EXPECT_FALSE(node.is_leaf());
  EXPECT_FALSE(node.has_children());
  EXPECT_EQ(node.leaf_value(), nullptr);
  EXPECT_EQ(node.children(), nullptr);
  EXPECT_EQ(node.child_count(), 0u);
  EXPECT_EQ(node.leaf_count(), 0u);
  EXPECT_FALSE(node.priority().has_value());
}

TEST(Node, Leaves) {
  const Node number = Node::leaf(2.5, Priority(1.0));
  EXPECT_TRUE(number.is_leaf());
  EXPECT_EQ(std::get<double>(*number.leaf_value()), 2.5);
  EXPECT_EQ(number.priority(), Priority(1.0));
  EXPECT_EQ(number.leaf_count(), 1u);
  EXPECT_EQ(std::get<std::string>(*Node::leaf("text").leaf_value()), "text");
  EXPECT_EQ(std::get<bool>(*Node::leaf(true).leaf_value()), true);
  EXPECT_EQ(Node::leaf(std::string("x")).child_count(), 0u);
}

TEST(Node, PriorityIsIgnoredOnNull) {
  Node null;
  null.set_priority(Priority(3.0));
  EXPECT_FALSE(null.priority().has_value());
  Node leaf = Node::leaf(1.0);
  leaf.set_priority(Priority(std::string("p")));
  EXPECT_EQ(leaf.priority(), Priority(std::string("p")));
  leaf.set_priority(std::nullopt);
  EXPECT_FALSE(leaf.priority().has_value());
}

TEST(Node, ChildrenConstructorNormalizes) {
  EXPECT_TRUE(Node(Children{}, Priority(1.0)).is_null());
  EXPECT_FALSE(Node(Children{}, Priority(1.0)).priority().has_value());
  Children children;
  children.emplace("a", std::make_unique<Node>());
  children.emplace("b", nullptr);
  EXPECT_TRUE(Node(std::move(children)).is_null());
  Children mixed;
  mixed.emplace("a", std::make_unique<Node>());
  mixed.emplace("b", std::make_unique<Node>(Node::leaf(1.0)));
  const Node node(std::move(mixed), Priority(2.0));
  EXPECT_EQ(node.child_count(), 1u);
  EXPECT_EQ(E(node), R"({"b":1,".priority":2})");
}

TEST(Node, ChildrenInKeyOrder) {
  const Node node = J(R"({"b":1,"10":1,"a":1,"2":1,"007":1,"7":1,"-3":1})");
  EXPECT_EQ(keys_of(node), (std::vector<std::string>{"-3", "2", "7", "007", "10", "a", "b"}));
}

TEST(Node, CopyIsDeep) {
  Node original = J(R"({"a":{"b":1,".priority":5},"c":"x"})");
  Node copy = original;
  EXPECT_EQ(copy, original);
  copy.set(P("a/b"), Node::leaf(2.0));
  EXPECT_EQ(E(original), R"({"a":{"b":1,".priority":5},"c":"x"})");
  EXPECT_EQ(E(copy), R"({"a":{"b":2,".priority":5},"c":"x"})");
  Node assigned;
  assigned = original;
  EXPECT_EQ(assigned, original);
  const Node& same = assigned;  // through a reference: clang rejects a literal `x = x`
  assigned = same;              // self-assignment keeps the value
  EXPECT_EQ(assigned, original);
}

TEST(Node, Find) {
  const Node node = J(R"({"a":{"b":{"c":true}},"x":1})");
  ASSERT_NE(node.find(P("a/b/c")), nullptr);
  EXPECT_EQ(*node.find(P("a/b/c")), Node::leaf(true));
  EXPECT_EQ(node.find(Path()), &node);
  EXPECT_EQ(node.find(P("a/z")), nullptr);
  EXPECT_EQ(node.find(P("x/y")), nullptr);  // below a leaf
  EXPECT_EQ(node.find_child("x"), node.find(P("x")));
  EXPECT_EQ(node.find_child("q"), nullptr);
  EXPECT_EQ(Node().find(P("a")), nullptr);
  EXPECT_EQ(node.child_count(), 2u);
  EXPECT_EQ(node.leaf_count(), 2u);
}

TEST(Node, SetCreatesParents) {
  Node root;
  const Node old = root.set(P("a/b/c"), Node::leaf(1.0));
  EXPECT_TRUE(old.is_null());
  EXPECT_EQ(E(root), R"({"a":{"b":{"c":1}}})");
  root.set(P("a/x"), J(R"({"y":"z"})"));
  EXPECT_EQ(E(root), R"({"a":{"b":{"c":1},"x":{"y":"z"}}})");
}

TEST(Node, SetReturnsPreviousNode) {
  Node root = J(R"({"a":{"b":{"c":1,".priority":3}}})");
  const Node old = root.set(P("a/b"), Node::leaf("new"));
  EXPECT_EQ(E(old), R"({"c":1,".priority":3})");
  EXPECT_EQ(E(root), R"({"a":{"b":"new"}})");
}

TEST(Node, SetAtRootReplacesEverything) {
  Node root = J(R"({"a":1})");
  const Node old = root.set(Path(), Node::leaf(5.0));
  EXPECT_EQ(E(old), R"({"a":1})");
  EXPECT_EQ(E(root), "5");
  root.set(Path(), Node());
  EXPECT_TRUE(root.is_null());
}

TEST(Node, SetBelowLeafReplacesItKeepingPriority) {
  Node root = J(R"({"a":{".value":"leaf",".priority":4}})");
  const Node old = root.set(P("a/b"), Node::leaf(1.0));
  EXPECT_TRUE(old.is_null());
  EXPECT_EQ(E(root), R"({"a":{"b":1,".priority":4}})");
}

TEST(Node, DeletingRemovesEmptiedParentsAndTheirPriority) {
  Node root = J(R"({"a":{"b":{"c":1,".priority":2},".priority":1},"d":2})");
  const Node old = root.set(P("a/b/c"), Node());
  EXPECT_EQ(E(old), "1");
  EXPECT_EQ(E(root), R"({"d":2})");
  root.set(P("d"), Node());
  EXPECT_TRUE(root.is_null());
  EXPECT_FALSE(root.priority().has_value());
}

TEST(Node, DeletingKeepsNonEmptyParents) {
  Node root = J(R"({"a":{"b":1,"c":2,".priority":1}})");
  root.set(P("a/b"), Node());
  EXPECT_EQ(E(root), R"({"a":{"c":2,".priority":1}})");
}

TEST(Node, DeletingWhatIsAbsentChangesNothing) {
  Node root = J(R"({"a":{".value":"leaf",".priority":4}})");
  const Node before = root;
  EXPECT_TRUE(root.set(P("a/b"), Node()).is_null());  // below a leaf
  EXPECT_TRUE(root.set(P("x/y"), Node()).is_null());  // missing parent
  EXPECT_EQ(root, before);
  Node null;
  EXPECT_TRUE(null.set(P("a"), Node()).is_null());
  EXPECT_TRUE(null.is_null());
}

TEST(Node, MutableChildren) {
  Node root = J(R"({"a":1})");
  ASSERT_NE(root.mutable_children(), nullptr);
  root.mutable_children()->at("a")->set_priority(Priority(9.0));
  EXPECT_EQ(E(root), R"({"a":{".value":1,".priority":9}})");
  Node leaf = Node::leaf(1.0);
  EXPECT_EQ(leaf.mutable_children(), nullptr);
}

TEST(Node, EqualityIncludesPriorities) {
  EXPECT_EQ(J(R"({"a":1,"b":"x"})"), J(R"({"b":"x","a":1})"));
  EXPECT_NE(J(R"({"a":1})"), J(R"({"a":2})"));
  EXPECT_NE(J(R"({"a":1})"), J(R"({"b":1})"));
  EXPECT_NE(J(R"({"a":1})"), J(R"({"a":1,"b":1})"));
  EXPECT_NE(J(R"({"a":1})"), J(R"({"a":1,".priority":1})"));
  EXPECT_NE(J(R"({"a":{".value":1,".priority":1}})"), J(R"({"a":1})"));
  EXPECT_NE(J("1"), J(R"("1")"));
  EXPECT_NE(J("true"), J("1"));
  EXPECT_NE(J("1"), J(R"({"a":1})"));
  EXPECT_NE(Node(), J("1"));
  EXPECT_EQ(Node(), J("null"));
  EXPECT_EQ(J("0"), J("-0"));
}

TEST(Node, LeafCount) { EXPECT_EQ(J(R"({"a":{"b":1,"c":[1,2,3]},"d":"x"})").leaf_count(), 5u); }

TEST(CompareValues, TypeOrder) {
  const std::vector<Node> ascending = {
      Node(),          Node::leaf(false),        Node::leaf(true),     Node::leaf(-1e300), Node::leaf(-1.0),
      Node::leaf(0.0), Node::leaf(2.5),          Node::leaf(1e300),    Node::leaf(""),     Node::leaf("A"),
      Node::leaf("a"), Node::leaf("\U0001F600"), Node::leaf("\uffee"), J(R"({"z":1})")};
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    EXPECT_EQ(compare_values(&ascending[i], &ascending[i]), 0) << i;
    for (std::size_t j = i + 1; j < ascending.size(); ++j) {
      EXPECT_LT(compare_values(&ascending[i], &ascending[j]), 0) << i << " " << j;
      EXPECT_GT(compare_values(&ascending[j], &ascending[i]), 0) << i << " " << j;
    }
  }
}

TEST(CompareValues, MissingIsNullAndObjectsAreEqual) {
  const Node null;
  const Node number = Node::leaf(1.0);
  EXPECT_EQ(compare_values(nullptr, nullptr), 0);
  EXPECT_EQ(compare_values(nullptr, &null), 0);
  EXPECT_LT(compare_values(nullptr, &number), 0);
  const Node a = J(R"({"a":1})");
  const Node b = J(R"({"b":[1,2]})");
  EXPECT_EQ(compare_values(&a, &b), 0);
  const Node string = Node::leaf("zzz");
  EXPECT_GT(compare_values(&a, &string), 0);
}

TEST(ComparePriorities, Order) {
  const std::vector<std::optional<Priority>> ascending = {std::nullopt,
                                                          Priority(-5.0),
                                                          Priority(0.0),
                                                          Priority(10.0),
                                                          Priority(std::string("")),
                                                          Priority(std::string("10")),
                                                          Priority(std::string("a")),
                                                          Priority(std::string("b"))};
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    EXPECT_EQ(compare_priorities(ascending[i], ascending[i]), 0) << i;
    for (std::size_t j = i + 1; j < ascending.size(); ++j) {
      EXPECT_LT(compare_priorities(ascending[i], ascending[j]), 0) << i << " " << j;
      EXPECT_GT(compare_priorities(ascending[j], ascending[i]), 0) << i << " " << j;
    }
  }
}

}  // namespace
}  // namespace backside::tree
