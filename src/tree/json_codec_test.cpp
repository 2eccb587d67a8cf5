#include "tree/json_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tree/hash.h"

namespace backside::tree {
namespace {

constexpr std::string_view kInvalidJson = "Invalid data; couldn't parse JSON object, array, or value.";

Node J(std::string_view json, const ParseOptions& options = {}) {
  Result<Node> node = parse_json(json, options);
  EXPECT_TRUE(node.ok()) << json << ": " << node.error().message;
  return node.ok() ? std::move(node).value() : Node();
}
std::string E(const Node& node) { return to_json(node, {.format = Format::export_}); }
std::string Plain(const Node& node) { return to_json(node); }
// Normalizes `json` and renders it in export format.
std::string Normalized(std::string_view json, const ParseOptions& options = {}) { return E(J(json, options)); }
std::string ErrorOf(std::string_view json, const ParseOptions& options = {}) {
  Result<Node> node = parse_json(json, options);
  EXPECT_FALSE(node.ok()) << json << " parsed as " << (node.ok() ? E(*node) : "");
  return node.ok() ? "" : node.error().message;
}
std::string Number(double value) {
  std::string out;
  append_number(out, value);
  return out;
}
std::string Nested(std::size_t levels, std::string_view leaf = "1") {
  std::string json;
  for (std::size_t i = 0; i < levels; ++i) json += R"({"k":)";
  json += leaf;
  json.append(levels, '}');
  return json;
}

// --- parsing and normalization ---

TEST(ParseJson, Primitives) {
  EXPECT_EQ(J("1"), Node::leaf(1.0));
  EXPECT_EQ(J("-2.5"), Node::leaf(-2.5));
  EXPECT_EQ(J(R"("text")"), Node::leaf("text"));
  EXPECT_EQ(J("true"), Node::leaf(true));
  EXPECT_EQ(J("false"), Node::leaf(false));
  EXPECT_TRUE(J("null").is_null());
  EXPECT_TRUE(J(" null ").is_null());
  EXPECT_EQ(J(R"("\u00e9\ud83d\ude00")"), Node::leaf("\u00e9\U0001F600"));
}

TEST(ParseJson, LargeIntegersBecomeDoubles) {
  EXPECT_EQ(J("12345678901234567890"), Node::leaf(12345678901234567890.0));
  EXPECT_EQ(J("-9223372036854775808"), Node::leaf(-9223372036854775808.0));
  EXPECT_EQ(J("9007199254740993"), Node::leaf(9007199254740992.0));
}

TEST(ParseJson, NegativeZeroBecomesZero) {
  const Node zero = J("-0");
  EXPECT_FALSE(std::signbit(std::get<double>(*zero.leaf_value())));
  EXPECT_EQ(node_hash(zero), node_hash(Node::leaf(0.0)));
  EXPECT_EQ(Normalized(R"({".value":-0.0,".priority":-0})"), R"({".value":0,".priority":0})");
}

TEST(ParseJson, InvalidJson) {
  for (std::string_view text : {"", " ", "{", "[1,]", "{'a':1}", "nul", "1 2", "NaN", "Infinity", "{\"a\"}",
                                "\"unterminated", "[1,2]x", "01", "\"\xff\"", "{\"a\":1,}", "// c\n1"}) {
    Result<Node> node = parse_json(text);
    ASSERT_FALSE(node.ok()) << text;
    EXPECT_EQ(node.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(node.error().message, kInvalidJson) << text;
  }
}

TEST(ParseJson, NonFiniteNumbers) {
  EXPECT_EQ(ErrorOf("1e999"), "Invalid number: NaN and Infinity are not allowed");
  EXPECT_EQ(ErrorOf("[-1e999]"), "Invalid number: NaN and Infinity are not allowed");
  Result<Node> nan = from_json(boost::json::value(std::numeric_limits<double>::quiet_NaN()));
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.error().message, "Invalid number: NaN and Infinity are not allowed");
}

TEST(ParseJson, ArraysBecomeIndexedChildren) {
  EXPECT_EQ(Normalized(R"(["a","b"])"), R"({"0":"a","1":"b"})");
  EXPECT_EQ(Normalized(R"([1,null,3])"), R"({"0":1,"2":3})");
  EXPECT_EQ(Normalized(R"([[1],[],{"x":[null,true]}])"), R"({"0":{"0":1},"2":{"x":{"1":true}}})");
  EXPECT_TRUE(J("[]").is_null());
  EXPECT_TRUE(J("[null,[],{}]").is_null());
  std::string long_array = "[";
  for (int i = 0; i < 12; ++i) long_array += std::to_string(i) + (i < 11 ? "," : "]");
  EXPECT_EQ(Normalized(long_array), R"({"0":0,"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"11":11})");
}

TEST(ParseJson, NullsAndEmptyObjectsAreRemoved) {
  EXPECT_TRUE(J("{}").is_null());
  EXPECT_TRUE(J(R"({"a":null})").is_null());
  EXPECT_TRUE(J(R"({"a":{"b":{"c":null}},"d":{}})").is_null());
  EXPECT_EQ(Normalized(R"({"a":1,"b":null,"c":{},"d":{"e":null,"f":2}})"), R"({"a":1,"d":{"f":2}})");
  // An empty object cannot carry a priority.
  EXPECT_TRUE(J(R"({".priority":1})").is_null());
  EXPECT_TRUE(J(R"({"a":null,".priority":1})").is_null());
  EXPECT_FALSE(J(R"({"a":{},".priority":"p"})").priority().has_value());
}

TEST(ParseJson, ValueAndPriority) {
  EXPECT_EQ(Normalized(R"({".value":1,".priority":2})"), R"({".value":1,".priority":2})");
  EXPECT_EQ(Normalized(R"({".priority":"p",".value":"v"})"), R"({".value":"v",".priority":"p"})");
  EXPECT_EQ(Normalized(R"({".value":true})"), "true");
  EXPECT_EQ(Normalized(R"({".value":1,".priority":null})"), "1");
  EXPECT_TRUE(J(R"({".value":null,".priority":2})").is_null());
  EXPECT_EQ(Normalized(R"({".value":{"a":1},".priority":3})"), R"({"a":1,".priority":3})");
  EXPECT_EQ(Normalized(R"({".value":[5,6],".priority":3})"), R"({"0":5,"1":6,".priority":3})");
  EXPECT_EQ(Normalized(R"({"a":1,"b":2,".priority":1.5})"), R"({"a":1,"b":2,".priority":1.5})");
  EXPECT_EQ(Normalized(R"({"a":{"b":{".value":"x",".priority":-1}},".priority":"top"})"),
            R"({"a":{"b":{".value":"x",".priority":-1}},".priority":"top"})");
  const Node node = J(R"({".value":1,".priority":2})");
  EXPECT_EQ(node.priority(), Priority(2.0));
  EXPECT_EQ(J(R"({"a":1,".priority":"x"})").priority(), Priority(std::string("x")));
}

TEST(ParseJson, ValueWrapperErrors) {
  EXPECT_EQ(ErrorOf(R"({".value":1,"a":2})"),
            "Invalid data: \".value\" and \".sv\" may only be combined with \".priority\"");
  EXPECT_EQ(ErrorOf(R"({".value":{".value":1}})"),
            "Invalid data: a \".value\" may not itself contain \".value\" or \".priority\"");
  EXPECT_EQ(ErrorOf(R"({".value":{"a":1,".priority":1}})"),
            "Invalid data: a \".value\" may not itself contain \".value\" or \".priority\"");
}

TEST(ParseJson, InvalidPriority) {
  for (std::string_view json : {R"({".value":1,".priority":true})", R"({"a":1,".priority":{"x":1}})",
                                R"({"a":1,".priority":[1]})", R"({"a":1,".priority":{".sv":{"increment":1}}})"}) {
    const std::string error = ErrorOf(json);
    EXPECT_EQ(error.rfind("Invalid priority ", 0), 0u) << error;
  }
  EXPECT_EQ(ErrorOf(R"({".value":1,".priority":false})"), "Invalid priority false: must be a number, a string or null");
}

TEST(ParseJson, InvalidKeys) {
  for (std::string_view key :
       {"a.b", "a$b", "a#b", "a[b", "a]b", "a/b", ".foo", ".", "\\u0001", "\\u001f", "\\u007f", "tab\\there", ""}) {
    const std::string json = "{\"" + std::string(key) + "\":1}";
    Result<Node> node = parse_json(json);
    ASSERT_FALSE(node.ok()) << json;
    EXPECT_EQ(node.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(node.error().message.rfind("Invalid key \"", 0), 0u) << node.error().message;
  }
  EXPECT_NE(ErrorOf(R"({"ok":{"bad.key":1}})").find("\"bad.key\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a":null,".foo":1})").find("\".foo\""), std::string::npos);
  EXPECT_TRUE(parse_json("{\"" + std::string(768, 'k') + "\":1}").ok());
  EXPECT_FALSE(parse_json("{\"" + std::string(769, 'k') + "\":1}").ok());
  // Keys are checked even when their value is null.
  EXPECT_FALSE(parse_json(R"({"a/b":null})").ok());
}

TEST(ParseJson, Depth) {
  EXPECT_TRUE(parse_json(Nested(32)).ok());
  EXPECT_EQ(ErrorOf(Nested(33)), "Data too deep: more than 32 levels");
  EXPECT_TRUE(parse_json(Nested(2), {.base_depth = 30}).ok());
  EXPECT_EQ(ErrorOf(Nested(3), {.base_depth = 30}), "Data too deep: more than 32 levels");
  EXPECT_TRUE(parse_json("1", {.base_depth = 32}).ok());
  EXPECT_EQ(ErrorOf("[1]", {.base_depth = 32}), "Data too deep: more than 32 levels");
  // Far deeper than the JSON parser's own limit: still the depth message, not "invalid JSON".
  EXPECT_EQ(ErrorOf(Nested(5000)), "Data too deep: more than 32 levels");
  EXPECT_EQ(ErrorOf(std::string(100, '[') + std::string(100, ']')), "Data too deep: more than 32 levels");
  // Wrappers around the deepest leaf are not data levels.
  const ServerValues server{.now_ms = 1};
  EXPECT_TRUE(parse_json(Nested(32, R"({".value":{".sv":{"increment":1}},".priority":{".sv":"timestamp"}})"),
                         {.server_values = &server})
                  .ok());
}

TEST(ParseJson, StringLimit) {
  const std::string largest = "\"" + std::string(kMaxStringBytes, 'x') + "\"";
  EXPECT_TRUE(parse_json(largest).ok());
  const std::string too_long = "\"" + std::string(kMaxStringBytes + 1, 'x') + "\"";
  Result<Node> node = parse_json(too_long);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code, ErrorCode::too_large);
  EXPECT_EQ(node.error().message, "String value too long: more than 10485760 bytes");
}

// --- server values ---

TEST(ServerValues, NotAllowedWithoutServerValues) {
  EXPECT_EQ(ErrorOf(R"({".sv":"timestamp"})"), "Server values are not allowed here");
  EXPECT_EQ(ErrorOf(R"({"a":{".sv":{"increment":1}}})"), "Server values are not allowed here");
  EXPECT_EQ(ErrorOf(R"({"a":1,".priority":{".sv":"timestamp"}})"), "Server values are not allowed here");
}

TEST(ServerValues, Timestamp) {
  const ServerValues server{.now_ms = 1700000000123};
  const ParseOptions options{.server_values = &server};
  EXPECT_EQ(Normalized(R"({".sv":"timestamp"})", options), "1700000000123");
  EXPECT_EQ(Normalized(R"({"at":{".sv":"timestamp"},"n":1})", options), R"({"at":1700000000123,"n":1})");
  EXPECT_EQ(Normalized(R"({"a":1,".priority":{".sv":"timestamp"}})", options), R"({"a":1,".priority":1700000000123})");
  EXPECT_EQ(Normalized(R"({".value":{".sv":"timestamp"},".priority":5})", options),
            R"({".value":1700000000123,".priority":5})");
  EXPECT_EQ(Normalized(R"({".sv":"timestamp",".priority":"p"})", options),
            R"({".value":1700000000123,".priority":"p"})");
  EXPECT_EQ(Normalized(R"([{".sv":"timestamp"}])", options), R"({"0":1700000000123})");
}

TEST(ServerValues, IncrementOnNumber) {
  const ServerValues server{.now_ms = 1};
  const Node existing = Node::leaf(10.0);
  EXPECT_EQ(Normalized(R"({".sv":{"increment":5}})", {.server_values = &server, .existing = &existing}), "15");
  EXPECT_EQ(Normalized(R"({".sv":{"increment":-0.5}})", {.server_values = &server, .existing = &existing}), "9.5");
  const Node big = Node::leaf(9007199254740990.0);
  EXPECT_EQ(Normalized(R"({".sv":{"increment":1}})", {.server_values = &server, .existing = &big}), "9007199254740991");
}

TEST(ServerValues, IncrementOnNonNumberOrAbsent) {
  const ServerValues server{.now_ms = 1};
  EXPECT_EQ(Normalized(R"({".sv":{"increment":5}})", {.server_values = &server}), "5");
  for (const Node& existing : {Node(), Node::leaf("12"), Node::leaf(true), J(R"({"a":1})")}) {
    EXPECT_EQ(Normalized(R"({".sv":{"increment":5}})", {.server_values = &server, .existing = &existing}), "5");
  }
}

TEST(ServerValues, IncrementUsesTheExistingValueAtEachLocation) {
  const ServerValues server{.now_ms = 1};
  const Node existing = J(R"({"a":{"b":5,"s":"x"},"list":[1,2],"leaf":3})");
  const ParseOptions options{.server_values = &server, .existing = &existing};
  EXPECT_EQ(
      Normalized(R"({"a":{"b":{".sv":{"increment":2}},"s":{".sv":{"increment":2}},"new":{".sv":{"increment":2}}}})",
                 options),
      R"({"a":{"b":7,"new":2,"s":2}})");
  EXPECT_EQ(Normalized(R"({"list":[{".sv":{"increment":10}},{".sv":{"increment":10}}]})", options),
            R"({"list":{"0":11,"1":12}})");
  // Below a leaf there is nothing to add to.
  EXPECT_EQ(Normalized(R"({"leaf":{"x":{".sv":{"increment":1}}}})", options), R"({"leaf":{"x":1}})");
  EXPECT_EQ(Normalized(R"({".value":{".sv":{"increment":1}},".priority":1})",
                       {.server_values = &server, .existing = existing.find_child("leaf")}),
            R"({".value":4,".priority":1})");
}

TEST(ServerValues, Unknown) {
  const ServerValues server{.now_ms = 1};
  const ParseOptions options{.server_values = &server};
  EXPECT_EQ(ErrorOf(R"({".sv":"foo"})", options), R"(Invalid server value: {".sv":"foo"})");
  EXPECT_EQ(ErrorOf(R"({"a":{".sv":{"increment":"1"}}})", options),
            R"(Invalid server value: {".sv":{"increment":"1"}})");
  EXPECT_EQ(ErrorOf(R"({".sv":{"incr":1}})", options), R"(Invalid server value: {".sv":{"incr":1}})");
  EXPECT_EQ(ErrorOf(R"({".sv":{"increment":1,"x":2}})", options).rfind("Invalid server value: ", 0), 0u);
  EXPECT_EQ(ErrorOf(R"({".sv":null})", options), R"(Invalid server value: {".sv":null})");
  EXPECT_EQ(ErrorOf(R"({".sv":"timestamp","x":1})", options),
            "Invalid data: \".value\" and \".sv\" may only be combined with \".priority\"");
}

TEST(PriorityFromJson, Values) {
  const auto parse = [](std::string_view json, const ParseOptions& options = {}) {
    return priority_from_json(boost::json::parse(json), options);
  };
  EXPECT_EQ(parse("null").value(), std::nullopt);
  EXPECT_EQ(parse("3").value(), Priority(3.0));
  EXPECT_EQ(parse("-1.5").value(), Priority(-1.5));
  EXPECT_EQ(parse(R"("p")").value(), Priority(std::string("p")));
  EXPECT_FALSE(parse("true").ok());
  EXPECT_FALSE(parse("[1]").ok());
  EXPECT_FALSE(parse(R"({"a":1})").ok());
  EXPECT_EQ(parse(R"({".sv":"timestamp"})").error().message, "Server values are not allowed here");
  const ServerValues server{.now_ms = 42};
  EXPECT_EQ(parse(R"({".sv":"timestamp"})", {.server_values = &server}).value(), Priority(42.0));
  EXPECT_FALSE(parse(R"({".sv":{"increment":1}})", {.server_values = &server}).ok());
}

// --- rendering ---

TEST(ToJson, ExportFormat) {
  EXPECT_EQ(E(Node()), "null");
  EXPECT_EQ(E(Node::leaf(1.0, Priority(2.0))), R"({".value":1,".priority":2})");
  EXPECT_EQ(E(Node::leaf("s", Priority(std::string("p")))), R"({".value":"s",".priority":"p"})");
  EXPECT_EQ(Normalized(R"({"b":true,"a":{"x":1,".priority":1}, "10":"t", "9":"n",".priority":"root"})"),
            R"({"9":"n","10":"t","a":{"x":1,".priority":1},"b":true,".priority":"root"})");
  // Export keeps array-like objects as objects.
  EXPECT_EQ(Normalized(R"(["a","b"])"), R"({"0":"a","1":"b"})");
}

TEST(ToJson, PlainFormatDropsPriorities) {
  const Node node = J(R"({"a":{".value":1,".priority":2},"b":{"c":"x",".priority":"p"},".priority":3})");
  EXPECT_EQ(Plain(node), R"({"a":1,"b":{"c":"x"}})");
  EXPECT_EQ(Plain(Node::leaf(true, Priority(1.0))), "true");
  EXPECT_EQ(Plain(Node()), "null");
}

TEST(ToJson, PlainFormatArrays) {
  EXPECT_EQ(Plain(J(R"(["a","b","c"])")), R"(["a","b","c"])");
  EXPECT_EQ(Plain(J(R"([1,null,3])")), "[1,null,3]");
  EXPECT_EQ(Plain(J(R"({"1":1})")), "[null,1]");                // max 1 < 2 * 1
  EXPECT_EQ(Plain(J(R"({"2":1})")), R"({"2":1})");              // max 2 >= 2 * 1
  EXPECT_EQ(Plain(J(R"({"0":1,"3":1})")), "[1,null,null,1]");   // 3 < 4
  EXPECT_EQ(Plain(J(R"({"0":1,"4":1})")), R"({"0":1,"4":1})");  // 4 >= 4
  EXPECT_EQ(Plain(J(R"({"0":1,"a":2})")), R"({"0":1,"a":2})");
  EXPECT_EQ(Plain(J(R"({"00":1,"1":2})")), R"({"00":1,"1":2})");  // "00" is not canonical
  EXPECT_EQ(Plain(J(R"({"-1":1,"0":2})")), R"({"-1":1,"0":2})");
  EXPECT_EQ(Plain(J(R"({"0":{"0":"x","1":{"k":[true]}}})")), R"([["x",{"k":[true]}]])");
  EXPECT_EQ(Plain(J(R"({"99999999999999999999":1})")), R"({"99999999999999999999":1})");
  std::string twelve = "[";
  for (int i = 0; i < 12; ++i) twelve += std::to_string(i * 10) + (i < 11 ? "," : "]");
  EXPECT_EQ(Plain(J(twelve)), twelve);  // numeric, not string, order
}

TEST(ToJson, Pretty) {
  const Node node = J(R"({"a":1,"b":[1,{"c":"x"}],"d":{"e":null,"f":true}})");
  EXPECT_EQ(to_json(node, {.pretty = true}),
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    1,\n"
            "    {\n"
            "      \"c\": \"x\"\n"
            "    }\n"
            "  ],\n"
            "  \"d\": {\n"
            "    \"f\": true\n"
            "  }\n"
            "}");
  EXPECT_EQ(to_json(J("[1,null,3]"), {.pretty = true}), "[\n  1,\n  null,\n  3\n]");
  EXPECT_EQ(to_json(J(R"({".value":1,".priority":2})"), {.format = Format::export_, .pretty = true}),
            "{\n  \".value\": 1,\n  \".priority\": 2\n}");
  EXPECT_EQ(to_json(J("1"), {.pretty = true}), "1");
  EXPECT_EQ(to_json(Node(), {.pretty = true}), "null");
}

TEST(ToJson, AppendJsonAppends) {
  std::string out = "data: ";
  append_json(out, J(R"({"a":1})"));
  EXPECT_EQ(out, R"(data: {"a":1})");
}

TEST(AppendNumber, IntegersWithoutFraction) {
  EXPECT_EQ(Number(0), "0");
  EXPECT_EQ(Number(-0.0), "0");
  EXPECT_EQ(Number(10), "10");
  EXPECT_EQ(Number(-3), "-3");
  EXPECT_EQ(Number(1700000000123), "1700000000123");
  EXPECT_EQ(Number(9007199254740991), "9007199254740991");
  EXPECT_EQ(Number(-9007199254740991), "-9007199254740991");
  EXPECT_EQ(Number(9007199254740992), "9007199254740992");
  EXPECT_EQ(Number(9007199254740994), "9007199254740994");
  EXPECT_EQ(Number(1e20), "100000000000000000000");
  EXPECT_EQ(Number(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(Number(1e21), "1e+21");
  EXPECT_EQ(Number(-1e21), "-1e+21");
  EXPECT_EQ(Number(12345678901234567890.0), "12345678901234567000");
}

TEST(AppendNumber, FractionsAndExponentsLikeJavaScript) {
  EXPECT_EQ(Number(2.5), "2.5");
  EXPECT_EQ(Number(-0.5), "-0.5");
  EXPECT_EQ(Number(0.1), "0.1");
  EXPECT_EQ(Number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Number(123.456), "123.456");
  EXPECT_EQ(Number(0.000001), "0.000001");
  EXPECT_EQ(Number(0.0000012), "0.0000012");
  EXPECT_EQ(Number(1e-7), "1e-7");
  EXPECT_EQ(Number(1.5e-7), "1.5e-7");
  EXPECT_EQ(Number(-1e-7), "-1e-7");
  EXPECT_EQ(Number(1.5e300), "1.5e+300");
  EXPECT_EQ(Number(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(Number(5e-324), "5e-324");
  EXPECT_EQ(Number(1.2345e21), "1.2345e+21");
  EXPECT_EQ(Number(100.5), "100.5");
  EXPECT_EQ(Number(std::numeric_limits<double>::infinity()), "null");
}

TEST(AppendNumber, RoundTrips) {
  for (double value : {0.1, 1.0 / 3, 2.0 / 3 * 1e-10, 123456.789e200, 4.35, 5e-7, 9.87654321e-5}) {
    EXPECT_EQ(std::stod(Number(value)), value) << Number(value);
  }
}

TEST(AppendString, Escapes) {
  static constexpr char kRaw[] = "q\"b\\s/n\nt\tr\rb\bf\f\x01\x1f\x7f\0end";
  std::string out;
  append_string(out, std::string_view(kRaw, sizeof kRaw - 1));
  EXPECT_EQ(out, R"("q\"b\\s/n\nt\tr\rb\bf\f\u0001\u001f)"
                 "\x7f"
                 R"(\u0000end")");
  out.clear();
  append_string(out, "\u00e9\U0001F600\u2028");
  EXPECT_EQ(out, "\"\u00e9\U0001F600\u2028\"");
  out.clear();
  append_string(out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(ToJson, StringsRoundTrip) {
  const std::string json = R"({"k":"line\nbreak \"quoted\" \\ \u0001 é 😀"})";
  EXPECT_EQ(Plain(J(json)), R"({"k":"line\nbreak \"quoted\" \\ \u0001 é 😀"})");
}

TEST(ToShallowJson, Shapes) {
  EXPECT_EQ(to_shallow_json(J(R"({"b":{"x":1},"a":1,"2":[1],".priority":1})")), R"({"2":true,"a":true,"b":true})");
  EXPECT_EQ(to_shallow_json(J(R"({".value":"s",".priority":1})")), R"("s")");
  EXPECT_EQ(to_shallow_json(J("5")), "5");
  EXPECT_EQ(to_shallow_json(Node()), "null");
  EXPECT_EQ(to_shallow_json(J(R"(["x","y"])")), R"({"0":true,"1":true})");
  EXPECT_EQ(to_shallow_json(J(R"({"a":1,"b":2})"), true), "{\n  \"a\": true,\n  \"b\": true\n}");
}

TEST(ToJsonValue, Formats) {
  const Node node = J(R"({"a":{".value":2.5,".priority":1},"l":["x","y"],"n":10,".priority":"p"})");
  EXPECT_EQ(boost::json::serialize(to_json_value(node)),
            R"({"a":{".value":2.5E0,".priority":1},"l":{"0":"x","1":"y"},"n":10,".priority":"p"})");
  EXPECT_EQ(boost::json::serialize(to_json_value(node, Format::plain)), R"({"a":2.5E0,"l":["x","y"],"n":10})");
  EXPECT_TRUE(to_json_value(Node()).is_null());
  EXPECT_TRUE(to_json_value(J("10")).is_int64());
  EXPECT_TRUE(to_json_value(J("1e300")).is_double());
  // What to_json_value builds, from_json reads back unchanged.
  EXPECT_EQ(from_json(to_json_value(node)).value(), node);
}

TEST(PriorityToJson, Values) {
  EXPECT_EQ(priority_to_json(std::nullopt), "null");
  EXPECT_EQ(priority_to_json(Priority(1.5)), "1.5");
  EXPECT_EQ(priority_to_json(Priority(7.0)), "7");
  EXPECT_EQ(priority_to_json(Priority(std::string("a\"b"))), R"("a\"b")");
}

TEST(ToJson, ExportRoundTrip) {
  for (std::string_view json : {R"({"a":{"b":[1,2,{"c":null}],".priority":2},"d":{".value":"x",".priority":"p"}})",
                                R"([true,false,"",0.5,-7])", R"("just a string")"}) {
    const Node node = J(json);
    EXPECT_EQ(J(E(node)), node) << json;
  }
}

// write_json (export) renders the same text as to_json, in pieces of about chunk_bytes, counting leaves.
TEST(WriteJson, PiecesJoinToTheSameTextWithLeavesCounted) {
  boost::json::object users;
  for (int i = 0; i < 500; ++i) {
    users["u" + std::to_string(i)] = boost::json::object{
        {"name", "User " + std::to_string(i)}, {"age", i}, {"p", boost::json::object{{".value", i}, {".priority", 1}}}};
  }
  const Node node = from_json(boost::json::object{{"users", users}, {"n", nullptr}, {"e", "x"}}).value();
  for (const Format format : {Format::export_, Format::plain}) {
    for (const bool pretty : {false, true}) {
      const std::string whole = to_json(node, {.format = format, .pretty = pretty});
      std::string joined;
      std::uint64_t last_leaves = 0;
      int calls = 0;
      write_json(node, {.format = format, .pretty = pretty}, 1000, [&](std::string& out, std::uint64_t leaves) {
        EXPECT_GE(leaves, last_leaves);
        last_leaves = leaves;
        ++calls;
        joined += out;
        out.clear();
      });
      EXPECT_EQ(joined, whole);
      EXPECT_EQ(last_leaves, node.leaf_count());
      EXPECT_GT(calls, 10);
    }
  }
  std::string empty;
  write_json(Node(), {}, 1000, [&](std::string& out, std::uint64_t leaves) {
    EXPECT_EQ(leaves, 0u);
    empty += out;
    out.clear();
  });
  EXPECT_EQ(empty, "null");
}

}  // namespace
}  // namespace backside::tree
