#include "tree/json_size.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "tree/json_codec.h"

namespace backside::tree {
namespace {

constexpr std::size_t kNoBound = std::numeric_limits<std::size_t>::max();

Node J(std::string_view json) {
  Result<Node> node = parse_json(json);
  EXPECT_TRUE(node.ok()) << json << ": " << node.error().message;
  return node.ok() ? std::move(node).value() : Node();
}

// The count must equal the rendered export JSON, byte for byte.
void ExpectExact(std::string_view json) {
  const Node node = J(json);
  EXPECT_EQ(export_json_size(node, kNoBound), to_json(node, {.format = Format::export_}).size()) << json;
}

TEST(ExportJsonSize, EqualsTheRenderedExportJson) {
  ExpectExact("true");
  ExpectExact("false");
  ExpectExact("0");
  ExpectExact("-1.5");
  ExpectExact("1e300");
  ExpectExact("5e-324");
  ExpectExact("123456789012345678901234567890");
  ExpectExact(R"("text")");
  ExpectExact(R"("quote \" backslash \\ newline \n tab \t bell \u0007 nul \u0000 é 😀")");
  ExpectExact(R"({"a":1,"b":{"c":"x","d":[1,2,3]},"e":false})");
  ExpectExact(R"({"key \"quoted\" \\ back":{"x":1}})");
  // Priorities: {".value",".priority"} on leaves, ".priority" on objects, numbers and strings.
  ExpectExact(R"({".value":"v",".priority":2.5})");
  ExpectExact(R"({"a":{".value":1,".priority":"p\n"},"b":{"c":true,".priority":-3},".priority":7})");
}

TEST(ExportJsonSize, NullIsNoData) { EXPECT_EQ(export_json_size(Node(), kNoBound), 0u); }

TEST(ExportJsonSize, StopsSoonAfterTheBound) {
  std::string json = "{";
  for (int i = 0; i < 10000; ++i) json += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "}";
  json += "}";
  const Node big = J(json);
  const std::size_t full = export_json_size(big, kNoBound);
  EXPECT_EQ(full, to_json(big, {.format = Format::export_}).size());
  // Below the bound: the exact size. Past it: more than the bound, but counted only a child or so beyond it.
  EXPECT_EQ(export_json_size(big, full), full);
  const std::size_t stopped = export_json_size(big, 100);
  EXPECT_GT(stopped, 100u);
  EXPECT_LT(stopped, 200u);
}

}  // namespace
}  // namespace backside::tree
