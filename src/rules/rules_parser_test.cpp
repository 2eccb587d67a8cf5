// Loading rules files: structure, comments, and errors that name the rule path, line and column.
#include <string>

#include "gtest/gtest.h"
#include "rules/rules.h"

namespace backside::rules {
namespace {

std::string error_of(std::string_view text) {
  const auto rules = Rules::parse(text);
  EXPECT_FALSE(rules.ok()) << text;
  if (rules.ok()) return {};
  EXPECT_EQ(rules.error().code, ErrorCode::invalid_argument);
  return rules.error().message;
}

TEST(RulesParser, AcceptsCommentsAndAllRuleTypes) {
  const auto rules = Rules::parse(R"J(
    // line comment
    {
      /* block
         comment */
      "rules": {
        ".read": "auth != null", // trailing comment
        ".write": false,
        "users": {
          "$uid": {".validate": "newData.hasChildren(['name'])", ".indexOn": ["age", ".value"]}
        },
        "scores": {".indexOn": "points"}
      }
    })J");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  const RuleNode& root = (*rules)->root();
  ASSERT_TRUE(root.read.has_value());
  EXPECT_NE(root.read->expression, nullptr);
  ASSERT_TRUE(root.write.has_value());
  EXPECT_EQ(root.write->constant, false);
  EXPECT_EQ(root.children.at("users")->wildcard_name, "$uid");
  EXPECT_EQ((*rules)->index_on(tree::Path::parse("/users/bob").value()),
            (std::vector<std::string>{"age", ".value"}));
  EXPECT_EQ((*rules)->index_on(tree::Path::parse("/scores").value()), (std::vector<std::string>{"points"}));
  EXPECT_TRUE((*rules)->index_on(tree::Path::parse("/other").value()).empty());
}

TEST(RulesParser, JsonErrorsHaveLineAndColumn) {
  EXPECT_EQ(error_of("{\n  \"rules\": {\n    \".read\": tru\n  }\n}"),
            "invalid rules JSON: line 3, column 14: unexpected character 't'");
  EXPECT_EQ(error_of("{\"rules\": {} /* open"), "invalid rules JSON: line 1, column 14: unterminated /* comment");
  EXPECT_EQ(error_of("{\"rules\": {}, \"rules\": {}}"), "invalid rules JSON: line 1, column 15: duplicate key \"rules\"");
  EXPECT_EQ(error_of("{\"rules\": {\"a\": 1,}}"), "invalid rules JSON: line 1, column 19: expected a quoted key");
  EXPECT_EQ(error_of(""), "invalid rules JSON: line 1, column 1: unexpected end of input");
}

TEST(RulesParser, StructureErrorsNameTheRulePath) {
  EXPECT_EQ(error_of("[]"), "invalid rules at / (line 1, column 1): the rules file must be an object with a \"rules\" key");
  EXPECT_EQ(error_of("{}"), "invalid rules at / (line 1, column 1): missing the \"rules\" key");
  EXPECT_EQ(error_of("{\"rules\": {}, \"extra\": 1}"),
            "invalid rules at /extra (line 1, column 24): unknown top-level key \"extra\"");
  EXPECT_EQ(error_of("{\"rules\": {\"a\": {\".raed\": true}}}"),
            "invalid rules at /rules/a/.raed (line 1, column 27): unknown rule type \".raed\"");
  EXPECT_EQ(error_of("{\"rules\": {\"a\": true}}"),
            "invalid rules at /rules/a (line 1, column 17): a rules node must be an object, not a boolean");
  EXPECT_EQ(error_of("{\"rules\": {\".read\": 1}}"),
            "invalid rules at /rules/.read (line 1, column 21): a rule must be a boolean or an expression string, not "
            "a number");
  EXPECT_EQ(error_of("{\"rules\": {\"$a\": {}, \"$b\": {}}}"),
            "invalid rules at /rules/$b (line 1, column 28): only one wildcard per level (already have $a)");
  EXPECT_EQ(error_of("{\"rules\": {\"$a\": {\"$a\": {}}}}"),
            "invalid rules at /rules/$a/$a (line 1, column 25): wildcard $a is already used by an ancestor");
  EXPECT_EQ(error_of("{\"rules\": {\"a\": {\".indexOn\": [1]}}}"),
            "invalid rules at /rules/a/.indexOn (line 1, column 31): .indexOn entries must be strings, not a number");
  EXPECT_EQ(error_of("{\"rules\": {\"a#b\": {}}}"),
            error_of("{\"rules\": {\"a#b\": {}}}"));  // message comes from the key validator
  EXPECT_NE(error_of("{\"rules\": {\"a#b\": {}}}").find("/rules/a#b (line 1, column 19)"), std::string::npos);
}

TEST(RulesParser, ExpressionErrorsPointIntoTheExpression) {
  // Column of the offending token inside the JSON string, on its own line.
  const std::string text = "{\n  \"rules\": {\n    \"users\": {\n      \"$uid\": {\n        \".read\": \"auth.uid == $user\"\n      }\n    }\n  }\n}";
  EXPECT_EQ(error_of(text),
            "invalid rules at /rules/users/$uid/.read (line 5, column 31): unknown wildcard variable '$user'");
}

struct ExpressionErrorCase {
  std::string expression;
  std::string kind;  // ".read", ".write" or ".validate"
  std::string message;
};

TEST(RulesParser, ExpressionsAreTypeCheckedAtLoad) {
  const std::vector<ExpressionErrorCase> cases = {
      {"foo == 1", ".read", "unknown variable 'foo'"},
      {"newData.exists()", ".read", "newData is not available in .read rules"},
      {"query.limitToFirst == 1", ".write", "query is only available in .read rules"},
      {"data.exists", ".read", "method 'exists' must be called"},
      {"data.size()", ".read", "unknown RuleDataSnapshot method 'size'"},
      {"data.foo", ".read", "unknown RuleDataSnapshot property 'foo'"},
      {"data.child()", ".read", "method 'child' takes 1 argument(s), got 0"},
      {"data.child(1).exists()", ".read", "argument 1 of 'child' must be string, not number"},
      {"'a'.size == 1", ".read", "unknown string property 'size'"},
      {"'a'.trim() == 'a'", ".read", "unknown string method 'trim'"},
      {"'a'.matches('a')", ".read", "argument 1 of 'matches' must be regular expression, not string"},
      {"'a'.matches(/a(/)", ".read", "invalid regular expression /a(/ at offset 2: missing ')'"},
      {"'a'.matches(/(a)\\\\1/)", ".read", "invalid regular expression /(a)\\1/ at offset 5: backreferences are not supported"},
      {"'a'.matches(/a/g)", ".read", "unsupported regular expression flags 'g'"},
      {"data.hasChildren(['a', 1])", ".read", "array elements must be string literals"},
      {"['a'] == 1", ".read", "an array is only allowed as the argument of hasChildren()"},
      {"1", ".read", "rule expression must be boolean, not number"},
      {"'yes'", ".read", "rule expression must be boolean, not string"},
      {"null", ".read", "rule expression must be boolean, not null"},
      {"data", ".read", "rule expression must be boolean, not RuleDataSnapshot"},
      {"!1", ".read", "operand of ! must be boolean, not number"},
      {"-'a' == 1", ".read", "operand of - must be number, not string"},
      {"1 && true", ".read", "operator && cannot be applied to number"},
      {"'a' - 1 == 0", ".read", "operator - cannot be applied to string"},
      {"true + 1 == 2", ".read", "operator + cannot be applied to boolean"},
      {"1 < 'a'", ".read", "operator < compares number with string"},
      {"null < 1", ".read", "operator < cannot be applied to null"},
      {"1 ? true : false", ".read", "'?' condition must be boolean, not number"},
      {"data == data", ".read", "operator == cannot be applied to RuleDataSnapshot"},
      {"now()", ".read", "only methods can be called"},
      {"auth.uid = 'a'", ".read", "assignment is not allowed (use ==)"},
      {"auth.uid == 'a", ".read", "unterminated string"},
      {"(true", ".read", "expected ')' at end of expression"},
      {"true true", ".read", "unexpected 'true'"},
      {"", ".read", "unexpected end of expression"},
      {"1.2.3 == 1", ".read", "invalid number '1.2.3'"},
      {"typeof auth == 'object'", ".read", "unknown variable 'typeof'"},
      {"auth.uid == 'a' & true", ".read", "unexpected character '&'"},
      {"now.foo == 1", ".read", "a number has no property 'foo'"},
      {"query.foo == 1", ".read", "unknown query property 'foo'"},
  };
  for (const auto& c : cases) {
    const std::string text = "{\"rules\":{\"" + c.kind + "\":\"" + c.expression + "\"}}";
    const std::string message = error_of(text);
    EXPECT_NE(message.find("/rules/" + c.kind + " (line 1, column "), std::string::npos) << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << c.expression << " -> " << message;
  }
}

TEST(RulesParser, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(5000, '(') + "true" + std::string(5000, ')');
  EXPECT_NE(error_of("{\"rules\":{\".read\":\"" + deep + "\"}}").find("expression nested too deeply"),
            std::string::npos);
  const std::string deep_json = "{\"rules\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EXPECT_NE(error_of(deep_json).find("nesting too deep"), std::string::npos);
}

// `count` copies of `term` joined by `op`.
std::string chain_of(const std::string& term, const std::string& op, std::size_t count) {
  std::string text = term;
  for (std::size_t k = 1; k < count; ++k) text += op + term;
  return text;
}

std::string root_read(const std::string& expression) { return "{\"rules\":{\".read\":\"" + expression + "\"}}"; }

// Whether `expression` as the root .read rule compiles and grants a read of the root.
bool grants(const std::string& expression) {
  const auto rules = Rules::parse(root_read(expression));
  EXPECT_TRUE(rules.ok()) << rules.error().message.substr(0, 300);
  if (!rules.ok()) return false;
  return can_read(**rules, tree::Path(), tree::Node(), identity::Identity(), 0);
}

TEST(RulesParser, LongConditionChainsCompileFlatAndEvaluate) {
  // && and || chains are one node each: as long as the rules file allows, and evaluated without recursion.
  constexpr std::size_t kTerms = 100000;
  EXPECT_TRUE(grants(chain_of("false", " || ", kTerms) + " || true"));
  EXPECT_FALSE(grants(chain_of("false", " || ", kTerms)));
  EXPECT_FALSE(grants(chain_of("true", " && ", kTerms) + " && false"));
  EXPECT_TRUE(grants(chain_of("true", " && ", kTerms)));
  EXPECT_TRUE(grants(chain_of("(false && true)", " || ", kTerms) + " || (true && true)"));
  // Short-circuit: the erring term after the deciding one is never evaluated; one before it denies.
  EXPECT_TRUE(grants("false || true || auth.uid.length == 1"));
  EXPECT_FALSE(grants("false || auth.uid.length == 1 || true"));
  // Each term is type-checked, wherever it is in the chain.
  EXPECT_NE(error_of(root_read(chain_of("true", " || ", 1000) + " || 1 || true")).find(
                "operator || cannot be applied to number"),
            std::string::npos);
}

TEST(RulesParser, DeepOperatorChainsAreAnErrorNotACrash) {
  constexpr std::size_t kTerms = 100000;
  // Left-leaning chains build a tree as deep as they are long; the bound is on that depth, with the place.
  for (const std::string& expression :
       {chain_of("1", "+", kTerms) + " == 1", chain_of("1", " * ", kTerms) + " == 1",
        "auth" + chain_of("", ".a", kTerms) + " == 1", "data" + chain_of("", ".parent()", kTerms) + ".exists()",
        chain_of("1", " - ", kTerms) + " == 1"}) {
    const std::string message = error_of(root_read(expression));
    EXPECT_NE(message.find("/rules/.read (line 1, column "), std::string::npos) << message;
    EXPECT_NE(message.find("expression too deep: more than 1000 levels"), std::string::npos) << message;
  }
  // Right-recursive forms are bounded by the parser's nesting limit.
  for (const std::string& expression :
       {std::string(kTerms, '!') + "true", std::string(kTerms, '-') + "1 == 1",
        chain_of("true ? true :", " ", kTerms) + " true", "auth" + chain_of("", "[auth", kTerms) +
        std::string(kTerms - 1, ']') + " == 1"}) {
    EXPECT_NE(error_of(root_read(expression)).find("expression nested too deeply"), std::string::npos);
  }
}

TEST(RulesParser, ChainsUpToTheDepthBoundEvaluate) {
  // 1+1+...+1 with N ones is N levels deep; `== N` adds one.
  const std::size_t ones = kMaxExpressionDepth - 1;
  EXPECT_TRUE(grants(chain_of("1", "+", ones) + " == " + std::to_string(ones)));
  EXPECT_FALSE(grants(chain_of("1", "+", ones) + " == 0"));
  EXPECT_NE(error_of(root_read(chain_of("1", "+", ones + 1) + " == 0")).find("expression too deep"),
            std::string::npos);
  EXPECT_TRUE(grants("'' + " + chain_of("'a'", " + ", ones - 1) + " == '" + std::string(ones - 1, 'a') + "'"));
}

}  // namespace
}  // namespace backside::rules
