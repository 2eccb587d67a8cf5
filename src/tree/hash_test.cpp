#include "tree/hash.h"

#include "gtest/gtest.h"
#include "tree/json_codec.h"

namespace backside::tree {
namespace {

Node J(std::string_view json) { return parse_json(json).value(); }

// Expected values below were computed independently as base64(SHA-1(S)) of the §3.3 string S.

TEST(NodeHash, ReferenceVectors) {
  // Both observed from SDK 12.19.0 (§7).
  EXPECT_EQ(node_hash(J("10")), "+r5aI9HvKKagELki8SYKBk0q7D4=");
  EXPECT_EQ(node_hash(J(R"({"9":2.5,"10":true,"a":"x","n":{"deep":{"s":"é"}},"b":{".value":1,".priority":5},)"
                        R"("z":{"k":-0.5,".priority":"p"}})")),
            "abK9f1mkIYPerXrbGXIpT239CHE=");
}

TEST(NodeHash, NullIsEmpty) { EXPECT_EQ(node_hash(Node()), ""); }

TEST(NodeHash, Leaves) {
  EXPECT_EQ(node_hash(J("true")), "E5z61QM0lN/U2WsOnusszCTkR8M=");    // "boolean:true"
  EXPECT_EQ(node_hash(J(R"("é")")), "1M+kSgpwpb2WVucwSmGGq+h8/uU=");  // "string:é"
  EXPECT_EQ(node_hash(J(R"({".value":"s",".priority":"p"})")), "qWfe4qRYiqXk/gBz0Ux3iOkCrBU=");
  EXPECT_EQ(node_hash(J(R"({".value":0.1,".priority":-1.5})")), "yIENbQv4r7yhAcPaLm2nmjB/AvI=");
  EXPECT_EQ(node_hash(J("10")).size(), 28u);
}

TEST(NodeHash, ChildrenInKeyOrderWithoutPriorities) {
  // ":9:<h(1)>:10:<h(1)>:a:<h(1)>" — integer keys numerically, not as text.
  EXPECT_EQ(node_hash(J(R"({"a":1,"10":1,"9":1})")), "evCfROj4O5BuYeBWBzyApN5V/lQ=");
}

TEST(NodeHash, ChildrenInPriorityOrder) {
  // No priority (c), then numbers (b:1, a:2), then strings (d:"x").
  EXPECT_EQ(node_hash(J(R"({"a":{".value":1,".priority":2},"b":{".value":1,".priority":1},"c":1,)"
                        R"("d":{".value":1,".priority":"x"}})")),
            "4hC7Nm/hc5CVV6ZipJPBHtuW4kI=");
}

TEST(NodeHash, SensitiveToEveryPart) {
  const std::string base = node_hash(J(R"({"a":1,"b":"x"})"));
  EXPECT_EQ(node_hash(J(R"({"b":"x","a":1})")), base);
  EXPECT_NE(node_hash(J(R"({"a":1,"b":"y"})")), base);
  EXPECT_NE(node_hash(J(R"({"a":"1","b":"x"})")), base);
  EXPECT_NE(node_hash(J(R"({"a":1,"c":"x"})")), base);
  EXPECT_NE(node_hash(J(R"({"a":1,"b":"x",".priority":1})")), base);
  EXPECT_NE(node_hash(J(R"({"a":{".value":1,".priority":0},"b":"x"})")), base);  // a zero priority still counts
  EXPECT_NE(node_hash(J("1")), node_hash(J("true")));
}

}  // namespace
}  // namespace backside::tree
