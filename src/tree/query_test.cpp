#include "tree/query.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tree/json_codec.h"

namespace backside::tree {
namespace {

using Keys = std::vector<std::string>;

Node J(std::string_view json) { return parse_json(json).value(); }

Query Q(std::string_view wire) {
  Result<Query> query = Query::from_wire(boost::json::parse(wire).as_object());
  EXPECT_TRUE(query.ok()) << wire << ": " << query.error().message;
  return query.ok() ? *query : Query();
}

std::string WireError(std::string_view wire) {
  Result<Query> query = Query::from_wire(boost::json::parse(wire).as_object());
  EXPECT_FALSE(query.ok()) << wire;
  return query.ok() ? "" : query.error().message;
}

Keys Select(const Node& node, std::string_view wire) { return evaluate_keys(node, Q(wire)); }

// Ordered by child "n": missing (k5) < true (k0) < 1 < 2 (k2, k7: ties by key) < 3 < 4 < "s".
const Node& Scores() {
  static const Node node = J(R"({"k1":{"n":1},"k2":{"n":2},"k3":{"n":3},"k4":{"n":4},"k5":{"x":1},"k6":{"n":"s"},)"
                             R"("k0":{"n":true},"k7":{"n":2}})");
  return node;
}

// Priority order: d (none), e (2), c (5), a ("m"), b ("z").
const Node& Prioritized() {
  static const Node node = J(R"({"a":{".value":1,".priority":"m"},"b":{".value":1,".priority":"z"},)"
                             R"("c":{".value":1,".priority":5},"d":1,"e":{"x":1,".priority":2}})");
  return node;
}

// Value order: d (true) < b, f (1) < a (3) < c ("x") < e (object).
const Node& Values() {
  static const Node node = J(R"({"a":3,"b":1,"c":"x","d":true,"e":{"o":1},"f":1})");
  return node;
}

// Key order: 1, 2, 10, a, b, c.
const Node& Keyed() {
  static const Node node = J(R"({"a":1,"b":2,"c":3,"1":4,"2":5,"10":6})");
  return node;
}

// --- from_wire ---

TEST(QueryFromWire, ObservedSdkQueries) {
  const Query child = Q(R"({"sp":2,"sin":true,"l":2,"vf":"l","i":"n"})");
  EXPECT_EQ(child.index, Query::Index::child);
  EXPECT_EQ(child.child_path, Path::parse("n").value());
  ASSERT_TRUE(child.start.has_value());
  EXPECT_EQ(child.start->value, Node::leaf(2.0));
  EXPECT_FALSE(child.start->name.has_value());
  EXPECT_TRUE(child.start->inclusive);
  EXPECT_FALSE(child.end.has_value());
  EXPECT_EQ(child.limit, 2u);
  EXPECT_FALSE(child.limit_from_last);

  const Query key = Q(R"({"sp":"k1","sin":false,"ep":"k4","ein":false,"i":".key"})");
  EXPECT_EQ(key.index, Query::Index::key);
  EXPECT_FALSE(key.start->inclusive);
  EXPECT_EQ(key.end->value, Node::leaf("k4"));
  EXPECT_FALSE(key.end->inclusive);
  EXPECT_FALSE(key.limit.has_value());

  const Query value = Q(R"({"sp":3,"sn":"k3","sin":true,"ep":3,"en":"k3","ein":true,"i":".value"})");
  EXPECT_EQ(value.index, Query::Index::value);
  EXPECT_EQ(value.start->name, "k3");
  EXPECT_EQ(value.end->name, "k3");

  const Query after_before =
      Q(R"({"sp":1,"sn":"[MAX_NAME]","sin":false,"ep":4,"en":"[MIN_NAME]","ein":false,"l":5,"vf":"r","i":"n"})");
  EXPECT_EQ(after_before.start->name, std::string(kMaxName));
  EXPECT_EQ(after_before.end->name, std::string(kMinName));
  EXPECT_TRUE(after_before.limit_from_last);

  const Query priority = Q(R"({"ep":"m","ein":true})");
  EXPECT_EQ(priority.index, Query::Index::priority);
  EXPECT_FALSE(priority.start.has_value());
  EXPECT_EQ(priority.end->value, Node::leaf("m"));
}

TEST(QueryFromWire, Defaults) {
  const Query empty = Q("{}");
  EXPECT_TRUE(empty.loads_all_data());
  EXPECT_EQ(empty.index, Query::Index::priority);
  EXPECT_EQ(Q(R"({"i":".priority"})").index, Query::Index::priority);
  EXPECT_EQ(Q(R"({"i":"a/b"})").child_path, Path::parse("/a/b").value());
  EXPECT_TRUE(Q(R"({"sp":null})").start->value.is_null());
  EXPECT_TRUE(Q(R"({"sp":1})").start->inclusive);  // older SDKs send no "sin"
  EXPECT_EQ(Q(R"({"ep":false,"i":"n"})").end->value, Node::leaf(false));
  // Without "vf": from the left when there is a start, else from the right.
  EXPECT_TRUE(Q(R"({"l":2})").limit_from_last);
  EXPECT_FALSE(Q(R"({"sp":1,"l":2})").limit_from_last);
  EXPECT_EQ(Q(R"({"l":3.0})").limit, 3u);
  EXPECT_FALSE(Q(R"({"l":1})").loads_all_data());
  EXPECT_FALSE(Q(R"({"ep":1})").loads_all_data());
}

TEST(QueryFromWire, Errors) {
  EXPECT_EQ(WireError(R"({"i":5})"), "Invalid query: \"i\" must be a string");
  EXPECT_EQ(WireError(R"({"i":""})"), "Invalid query: orderByChild needs a non-empty path");
  EXPECT_EQ(WireError(R"({"i":"a.b"})").rfind("Invalid query index: Invalid key \"a.b\"", 0), 0u);
  EXPECT_EQ(WireError(R"({"sp":{"a":1}})"), "Invalid query: \"sp\" must be null, a boolean, a number or a string");
  EXPECT_EQ(WireError(R"({"ep":[1]})"), "Invalid query: \"ep\" must be null, a boolean, a number or a string");
  EXPECT_EQ(WireError(R"({"sp":1,"sn":5})"), "Invalid query: \"sn\" must be a string");
  EXPECT_EQ(WireError(R"({"ep":1,"ein":"yes"})"), "Invalid query: \"ein\" must be a boolean");
  EXPECT_EQ(WireError(R"({"sn":"a"})"), "Invalid query: \"sn\" and \"sin\" need \"sp\"");
  EXPECT_EQ(WireError(R"({"ein":true})"), "Invalid query: \"en\" and \"ein\" need \"ep\"");
  for (std::string_view limit : {"0", "-1", "1.5", "\"2\"", "null", "true"}) {
    EXPECT_EQ(WireError(R"({"l":)" + std::string(limit) + "}"), "Invalid query: \"l\" must be a positive integer");
  }
  EXPECT_EQ(WireError(R"({"l":1,"vf":"x"})"), "Invalid query: \"vf\" must be \"l\" or \"r\"");
  EXPECT_EQ(WireError(R"({"sp":5,"i":".key"})"), "Invalid query: with orderByKey, bounds must be strings");
  EXPECT_EQ(WireError(R"({"ep":null,"i":".key"})"), "Invalid query: with orderByKey, bounds must be strings");
  EXPECT_EQ(WireError(R"({"sp":true})"),
            "Invalid query: with orderByPriority, bounds must be null, numbers or strings");
}

TEST(QueryValidate, ProgrammaticQueries) {
  Query query;
  EXPECT_TRUE(query.validate().ok());
  query.limit = 0;
  EXPECT_FALSE(query.validate().ok());
  query.limit = 1;
  query.index = Query::Index::child;
  EXPECT_FALSE(query.validate().ok());
  query.child_path = Path::parse("n").value();
  EXPECT_TRUE(query.validate().ok());
}

// --- to_wire / identifier ---

TEST(QueryToWire, RoundTrips) {
  for (std::string_view wire :
       {R"({"sp":2,"sin":true,"l":2,"vf":"l","i":"n"})", R"({"sp":"k1","sin":false,"ep":"k4","ein":false,"i":".key"})",
        R"({"sp":3,"sn":"k3","sin":true,"ep":3,"en":"k3","ein":true,"i":".value"})",
        R"({"sp":1.5,"sn":"[MAX_NAME]","sin":false,"ep":null,"ein":false,"l":5,"vf":"r","i":"a/b"})",
        R"({"ep":"m","ein":true})", R"({"i":".value"})"}) {
    const Query query = Q(wire);
    const Query again = Query::from_wire(query.to_wire()).value();
    EXPECT_EQ(again.identifier(), query.identifier()) << wire;
    EXPECT_EQ(Query::from_wire(boost::json::parse(wire).as_object()).value().to_wire(), boost::json::parse(wire))
        << wire;
  }
}

TEST(QueryIdentifier, CanonicalSortedJson) {
  EXPECT_EQ(Query().identifier(), "");
  EXPECT_EQ(Q("{}").identifier(), "");
  EXPECT_EQ(Q(R"({"i":".key"})").identifier(), R"({"i":".key"})");
  EXPECT_EQ(Q(R"({"sp":2,"sin":true,"l":2,"vf":"l","i":"n"})").identifier(),
            R"({"i":"n","l":2,"sin":true,"sp":2,"vf":"l"})");
  EXPECT_EQ(Q(R"({"i":"n","vf":"l","l":2,"sin":true,"sp":2})").identifier(),
            Q(R"({"sp":2,"sin":true,"l":2,"vf":"l","i":"n"})").identifier());
  EXPECT_EQ(Q(R"({"ep":"a\"b","en":"k","ein":false,"sp":0.5})").identifier(),
            R"({"ein":false,"en":"k","ep":"a\"b","sin":true,"sp":0.5})");
  EXPECT_NE(Q(R"({"sp":2,"i":"n"})").identifier(), Q(R"({"sp":"2","i":"n"})").identifier());
  EXPECT_NE(Q(R"({"l":2,"vf":"l"})").identifier(), Q(R"({"l":2,"vf":"r"})").identifier());
}

// --- evaluation: child index ---

TEST(EvaluateChildIndex, ObservedQueries) {
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"sin":true,"l":2,"vf":"l","i":"n"})"), (Keys{"k2", "k7"}));
  EXPECT_EQ(Select(Scores(), R"({"sp":1,"sn":"[MAX_NAME]","sin":false,"ep":4,"en":"[MIN_NAME]","ein":false,"l":5,)"
                             R"("vf":"r","i":"n"})"),
            (Keys{"k2", "k7", "k3"}));
}

TEST(EvaluateChildIndex, OrderAndMissingValues) {
  EXPECT_EQ(Select(Scores(), R"({"i":"n"})"), (Keys{"k5", "k0", "k1", "k2", "k7", "k3", "k4", "k6"}));
  EXPECT_EQ(Select(Scores(), R"({"ep":null,"i":"n"})"), (Keys{"k5"}));
  EXPECT_EQ(Select(Scores(), R"({"sp":"a","i":"n"})"), (Keys{"k6"}));
  EXPECT_EQ(Select(Scores(), R"({"sp":true,"ep":true,"i":"n"})"), (Keys{"k0"}));
}

TEST(EvaluateChildIndex, BoundsWithKeys) {
  // equalTo(2) and equalTo(2, "k7").
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"ep":2,"i":"n"})"), (Keys{"k2", "k7"}));
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"sn":"k7","ep":2,"en":"k7","i":"n"})"), (Keys{"k7"}));
  // startAt(2, "k3"): k2 sorts before the start post (2, "k3").
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"sn":"k3","ep":3,"i":"n"})"), (Keys{"k7", "k3"}));
  // endAt(2, "k5"): (2, k7) is after the end post.
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"ep":2,"en":"k5","i":"n"})"), (Keys{"k2"}));
  // startAfter(2, "k2") excludes exactly that post; endBefore(3, "k3") likewise.
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"sn":"k2","sin":false,"ep":3,"en":"k3","ein":false,"i":"n"})"), (Keys{"k7"}));
  // startAfter(2) / endBefore(2) as the SDK sends them.
  EXPECT_EQ(Select(Scores(), R"({"sp":2,"sn":"[MAX_NAME]","sin":false,"i":"n"})"), (Keys{"k3", "k4", "k6"}));
  EXPECT_EQ(Select(Scores(), R"({"ep":2,"en":"[MIN_NAME]","ein":false,"i":"n"})"), (Keys{"k5", "k0", "k1"}));
}

TEST(EvaluateChildIndex, Limits) {
  EXPECT_EQ(Select(Scores(), R"({"l":3,"vf":"l","i":"n"})"), (Keys{"k5", "k0", "k1"}));
  EXPECT_EQ(Select(Scores(), R"({"l":3,"vf":"r","i":"n"})"), (Keys{"k3", "k4", "k6"}));
  EXPECT_EQ(Select(Scores(), R"({"sp":1,"ep":3,"l":2,"vf":"r","i":"n"})"), (Keys{"k7", "k3"}));
  EXPECT_EQ(Select(Scores(), R"({"l":100,"vf":"r","i":"n"})").size(), 8u);
  EXPECT_EQ(Select(Scores(), R"({"sp":100,"l":2,"vf":"l","i":"n"})"), (Keys{"k6"}));
}

TEST(EvaluateChildIndex, DeepPath) {
  const Node node = J(R"({"x":{"a":{"b":2}},"y":{"a":{"b":1}},"z":{"a":5},"w":{"a":{"b":{"c":1}}}})");
  EXPECT_EQ(Select(node, R"({"i":"a/b"})"), (Keys{"z", "y", "x", "w"}));
  EXPECT_EQ(Select(node, R"({"sp":1,"ep":2,"i":"a/b"})"), (Keys{"y", "x"}));
}

// --- priority index ---

TEST(EvaluatePriorityIndex, Order) {
  EXPECT_EQ(Select(Prioritized(), R"({"l":10,"vf":"l"})"), (Keys{"d", "e", "c", "a", "b"}));
  EXPECT_EQ(Select(Prioritized(), R"({"ep":"m","ein":true})"), (Keys{"d", "e", "c", "a"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":3})"), (Keys{"c", "a", "b"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":null,"ep":null})"), (Keys{"d"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":null,"sn":"e"})"), (Keys{"e", "c", "a", "b"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":2,"ep":5})"), (Keys{"e", "c"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":2,"sn":"[MAX_NAME]","sin":false,"ep":"z","en":"[MIN_NAME]","ein":false})"),
            (Keys{"c", "a"}));
  EXPECT_EQ(Select(Prioritized(), R"({"l":2,"vf":"r"})"), (Keys{"a", "b"}));
  EXPECT_EQ(Select(Prioritized(), R"({"sp":"a","l":1,"vf":"l"})"), (Keys{"a"}));
}

// --- value index ---

TEST(EvaluateValueIndex, Order) {
  EXPECT_EQ(Select(Values(), R"({"i":".value"})"), (Keys{"d", "b", "f", "a", "c", "e"}));
  EXPECT_EQ(Select(Values(), R"({"sp":1,"ep":1,"i":".value"})"), (Keys{"b", "f"}));
  EXPECT_EQ(Select(Values(), R"({"sp":1,"sn":"f","ep":1,"en":"f","i":".value"})"), (Keys{"f"}));
  EXPECT_EQ(Select(Values(), R"({"sp":1,"sn":"c","i":".value"})"), (Keys{"f", "a", "c", "e"}));
  EXPECT_EQ(Select(Values(), R"({"l":2,"vf":"r","i":".value"})"), (Keys{"c", "e"}));
  EXPECT_EQ(Select(Values(), R"({"l":3,"vf":"l","i":".value"})"), (Keys{"d", "b", "f"}));
  EXPECT_EQ(Select(Values(), R"({"sp":"a","i":".value"})"), (Keys{"c", "e"}));
  EXPECT_EQ(Select(Values(), R"({"sp":false,"ep":true,"i":".value"})"), (Keys{"d"}));
  EXPECT_EQ(Select(Values(), R"({"sp":1,"sn":"[MAX_NAME]","sin":false,"ep":"x","en":"[MIN_NAME]","ein":false,)"
                             R"("i":".value"})"),
            (Keys{"a"}));
}

// --- key index ---

TEST(EvaluateKeyIndex, Bounds) {
  EXPECT_EQ(Select(Keyed(), R"({"i":".key","l":10,"vf":"l"})"), (Keys{"1", "2", "10", "a", "b", "c"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"2","i":".key"})"), (Keys{"2", "10", "a", "b", "c"}));
  EXPECT_EQ(Select(Keyed(), R"({"ep":"a","i":".key"})"), (Keys{"1", "2", "10", "a"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"a","sin":false,"i":".key"})"), (Keys{"b", "c"}));
  EXPECT_EQ(Select(Keyed(), R"({"ep":"2","ein":false,"i":".key"})"), (Keys{"1"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"b","ep":"b","i":".key"})"), (Keys{"b"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"bb","ep":"bc","i":".key"})"), (Keys{}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"5","ep":"aa","i":".key"})"), (Keys{"10", "a"}));
  // Names are ignored with the key index.
  EXPECT_EQ(Select(Keyed(), R"({"sp":"b","sn":"zzz","i":".key"})"), (Keys{"b", "c"}));
}

TEST(EvaluateKeyIndex, Limits) {
  EXPECT_EQ(Select(Keyed(), R"({"l":2,"vf":"l","i":".key"})"), (Keys{"1", "2"}));
  EXPECT_EQ(Select(Keyed(), R"({"l":2,"vf":"r","i":".key"})"), (Keys{"b", "c"}));
  EXPECT_EQ(Select(Keyed(), R"({"ep":"b","l":2,"vf":"r","i":".key"})"), (Keys{"a", "b"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"k1","sin":false,"ep":"k4","ein":false,"i":".key"})"), (Keys{}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"a","l":2,"vf":"r","i":".key"})"), (Keys{"b", "c"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"2","ep":"b","l":2,"vf":"l","i":".key"})"), (Keys{"2", "10"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"2","ep":"b","ein":false,"l":2,"vf":"r","i":".key"})"), (Keys{"10", "a"}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"1","sin":false,"ep":"2","ein":false,"i":".key"})"), (Keys{}));
  EXPECT_EQ(Select(Keyed(), R"({"sp":"c","ep":"a","i":".key"})"), (Keys{}));  // start past the end
  EXPECT_EQ(Select(Keyed(), R"({"sp":"z","i":".key"})"), (Keys{}));
  EXPECT_EQ(Select(Keyed(), R"({"ep":"0","i":".key"})"), (Keys{}));
}

// --- evaluate() and edge cases ---

TEST(Evaluate, ResultKeepsSubtreesAndPrioritiesButNoTopLevelPriority) {
  const Node node =
      J(R"({"a":{"x":{".value":1,".priority":9},".priority":1},"b":{"x":2},"c":{"x":3},".priority":"top"})");
  const Node result = evaluate(node, Q(R"({"sp":1,"ep":2,"i":"x"})"));
  EXPECT_EQ(to_json(result, {.format = Format::export_}),
            R"({"a":{"x":{".value":1,".priority":9},".priority":1},"b":{"x":2}})");
  EXPECT_FALSE(evaluate(node, Q("{}")).priority().has_value());
  EXPECT_EQ(evaluate(node, Q("{}")).child_count(), 3u);
}

TEST(Evaluate, LeavesAndNullHaveNoChildren) {
  EXPECT_TRUE(evaluate(Node(), Q(R"({"l":1})")).is_null());
  EXPECT_TRUE(evaluate(J("5"), Q(R"({"l":1})")).is_null());
  EXPECT_TRUE(evaluate_keys(J(R"("s")"), Q("{}")).empty());
  EXPECT_TRUE(evaluate(Scores(), Q(R"({"sp":99,"ep":100,"i":"n"})")).is_null());
}

TEST(Evaluate, LimitsMatchAFullSort) {
  std::mt19937 random(7);
  Children children;
  for (int i = 0; i < 300; ++i) {
    children.emplace("k" + std::to_string(i), std::make_unique<Node>(Node::leaf(static_cast<double>(random() % 20))));
  }
  const Node node(std::move(children));
  Keys all = Select(node, R"({"i":".value"})");
  ASSERT_EQ(all.size(), 300u);
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(compare_by_index(Q(R"({"i":".value"})"), all[i - 1], node.find_child(all[i - 1]), all[i],
                               node.find_child(all[i])),
              0);
  }
  EXPECT_EQ(Select(node, R"({"l":25,"vf":"l","i":".value"})"), Keys(all.begin(), all.begin() + 25));
  EXPECT_EQ(Select(node, R"({"l":25,"vf":"r","i":".value"})"), Keys(all.end() - 25, all.end()));
}

TEST(CompareByIndex, EachIndex) {
  const Node one = Node::leaf(1.0, Priority(std::string("z")));
  const Node two = Node::leaf(2.0, Priority(5.0));
  const Node object = J(R"({"n":0})");
  Query query;
  EXPECT_GT(compare_by_index(query, "a", &one, "b", &two), 0);        // "z" priority after 5
  EXPECT_LT(compare_by_index(query, "a", &object, "b", &two), 0);     // no priority first
  EXPECT_LT(compare_by_index(query, "a", &object, "b", &object), 0);  // tie: by key
  EXPECT_LT(compare_by_index(query, "2", nullptr, "10", nullptr), 0);
  query.index = Query::Index::value;
  EXPECT_LT(compare_by_index(query, "b", &one, "a", &two), 0);
  EXPECT_GT(compare_by_index(query, "a", &object, "b", &two), 0);
  EXPECT_EQ(compare_by_index(query, "a", &one, "a", &one), 0);
  query.index = Query::Index::key;
  EXPECT_LT(compare_by_index(query, "9", &two, "10", &one), 0);
  query.index = Query::Index::child;
  query.child_path = Path::parse("n").value();
  EXPECT_GT(compare_by_index(query, "a", &object, "b", &one), 0);  // 0 vs missing (null)
  EXPECT_LT(compare_by_index(query, "a", &one, "b", &two), 0);     // both missing: by key
}

}  // namespace
}  // namespace backside::tree
