// The trace of a rules decision (the console's rules playground): every rule met, in order, with its result, from
// the same can_read / check_write the database calls.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "rules/rules.h"
#include "tree/json_codec.h"

namespace backside::rules {
namespace {

using Result = TraceEntry::Result;
using tree::Node;
using tree::Path;

constexpr double kNow = 1700000000000;

std::shared_ptr<const Rules> compile(std::string_view text) {
  auto rules = Rules::parse(text);
  EXPECT_TRUE(rules.ok()) << rules.error().message;
  return *rules;
}

identity::Identity user(const char* uid) {
  return identity::Identity::from_token_claims(boost::json::object{{"sub", uid}});
}

Path P(std::string_view text) { return Path::parse(text).value(); }

// rule_path path kind expression result, one line per entry, for readable expectations.
std::string lines(const Trace& trace) {
  std::string out;
  for (const TraceEntry& e : trace.entries) {
    out += e.rule_path + " " + e.path.to_string() + " " + std::string(kind_name(e.kind)) + " [" + e.expression +
           "] " + std::string(result_name(e.result)) + "\n";
  }
  return out;
}

constexpr std::string_view kUsers = R"J({"rules": {
  "users": {
    ".read": "auth != null && auth.token.admin == true",   // admins read every user
    "$uid": {
      ".read": "auth != null && auth.uid == $uid",
      ".write": "auth != null && auth.uid == $uid",
      ".validate": "newData.hasChildren(['name'])",
      "name": {".validate": "newData.isString() && newData.val().length < 20"},
      "age": {".validate": "newData.isNumber() && newData.val() >= 0"}
    }
  }
}})J";

TEST(RulesTrace, ACascadingParentReadAllowsAndTheRulesBelowAreSkipped) {
  const auto rules = compile(kUsers);
  const Node data = tree::parse_json(R"({"users":{"alice":{"name":"Alice"}}})").value();
  const auto admin = identity::Identity::from_token_claims(boost::json::object{{"sub", "root"}, {"admin", true}});
  Trace trace;
  EXPECT_TRUE(can_read(*rules, P("/users/alice"), data, admin, kNow, nullptr, &trace));
  EXPECT_EQ(lines(trace),
            "/rules/users/.read /users .read [auth != null && auth.token.admin == true] allow\n"
            "/rules/users/$uid/.read /users/alice .read [auth != null && auth.uid == $uid] skipped\n");
  EXPECT_EQ(trace.entries[1].error, "a rule above granted");

  // Alice herself: the parent's rule is false, her own grants.
  trace.clear();
  EXPECT_TRUE(can_read(*rules, P("/users/alice"), data, user("alice"), kNow, nullptr, &trace));
  EXPECT_EQ(lines(trace),
            "/rules/users/.read /users .read [auth != null && auth.token.admin == true] deny\n"
            "/rules/users/$uid/.read /users/alice .read [auth != null && auth.uid == $uid] allow\n");
}

TEST(RulesTrace, NoRuleDeniesWithAnEmptyTraceAndFalseRulesAreListed) {
  const auto rules = compile(kUsers);
  const Node data;
  Trace trace;
  EXPECT_FALSE(can_read(*rules, P("/posts/1"), data, user("alice"), kNow, nullptr, &trace));
  EXPECT_TRUE(trace.entries.empty());  // no rule on the way: denied by default

  EXPECT_FALSE(can_read(*rules, P("/users/bob/name"), data, user("alice"), kNow, nullptr, &trace));
  EXPECT_EQ(lines(trace),
            "/rules/users/.read /users .read [auth != null && auth.token.admin == true] deny\n"
            "/rules/users/$uid/.read /users/bob .read [auth != null && auth.uid == $uid] deny\n");
}

TEST(RulesTrace, AValidateFailureOnAChildOfTheNewDataIsTheLastEntry) {
  const auto rules = compile(kUsers);
  const Node before;
  const Node written = tree::parse_json(R"({"name":"Alice","age":"old"})").value();
  const OverlayView after(before, {{P("/users/alice"), &written}});
  Trace trace;
  const Status status = check_write(*rules, {P("/users/alice")}, NodeView(before), after, user("alice"), kNow, &trace);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(lines(trace),
            "/rules/users/$uid/.write /users/alice .write [auth != null && auth.uid == $uid] allow\n"
            "/rules/users/$uid/.validate /users/alice .validate [newData.hasChildren(['name'])] allow\n"
            "/rules/users/$uid/age/.validate /users/alice/age .validate [newData.isNumber() && newData.val() >= 0] "
            "deny\n");

  // With a valid age every .validate of the new data passes (children in key order).
  const Node good = tree::parse_json(R"({"name":"Alice","age":30})").value();
  const OverlayView good_after(before, {{P("/users/alice"), &good}});
  trace.clear();
  EXPECT_TRUE(check_write(*rules, {P("/users/alice")}, NodeView(before), good_after, user("alice"), kNow, &trace).ok());
  ASSERT_EQ(trace.entries.size(), 4u);
  EXPECT_EQ(trace.entries[2].rule_path, "/rules/users/$uid/age/.validate");
  EXPECT_EQ(trace.entries[3].rule_path, "/rules/users/$uid/name/.validate");
  EXPECT_EQ(trace.entries[3].path, P("/users/alice/name"));
  EXPECT_EQ(trace.entries[3].result, Result::allow);
}

TEST(RulesTrace, AnExpressionErrorIsShownAsAnErrorWithItsReason) {
  const auto rules = compile(R"J({"rules": {
    "a": {".read": "auth.uid == 'alice'"},
    "b": {".read": "data.val() > 3"},
    "c": {".read": "data.child('x').val()"}}})J");
  const Node data = tree::parse_json(R"({"b":"text","c":{"x":5}})").value();
  Trace trace;
  EXPECT_FALSE(can_read(*rules, P("/a"), data, identity::Identity(), kNow, nullptr, &trace));
  ASSERT_EQ(trace.entries.size(), 1u);
  EXPECT_EQ(trace.entries[0].result, Result::error);
  EXPECT_EQ(trace.entries[0].error, "cannot read \"uid\" of null");

  trace.clear();
  EXPECT_FALSE(can_read(*rules, P("/b"), data, user("alice"), kNow, nullptr, &trace));
  ASSERT_EQ(trace.entries.size(), 1u);
  EXPECT_EQ(trace.entries[0].result, Result::error);
  EXPECT_EQ(trace.entries[0].error, "> compares two numbers or two strings, not a string and a number");

  trace.clear();
  EXPECT_FALSE(can_read(*rules, P("/c"), data, user("alice"), kNow, nullptr, &trace));
  ASSERT_EQ(trace.entries.size(), 1u);
  EXPECT_EQ(trace.entries[0].result, Result::error);
  EXPECT_EQ(trace.entries[0].error, "the rule evaluated to a number, not a boolean");
}

TEST(RulesTrace, AWriteDeniedBeforeItsDataListsTheRulesThatNeedTheDataAsSkipped) {
  const auto rules = compile(R"J({"rules": {".write": "newData.exists()", "x": {".write": false}}})J");
  const Node data;
  Trace trace;
  EXPECT_FALSE(write_denied_before_data(*rules, {P("/x")}, NodeView(data), user("alice"), kNow, &trace));
  EXPECT_EQ(lines(trace), "/rules/.write / .write [newData.exists()] skipped\n"
                          "/rules/x/.write /x .write [false] deny\n");
}

TEST(RulesTrace, ALongTraceKeepsTheDecidingEntryLast) {
  // 12,000 children each with a passing .validate, then one that fails: past kMaxEntries the trace is cut, but
  // its last entry is the failure that decided.
  const auto rules = compile(R"J({"rules": {".write": true, "$k": {".validate": "newData.val() != 'bad'"}}})J");
  boost::json::object value;
  for (int i = 0; i < 12000; ++i) value["k" + std::to_string(100000 + i)] = i;
  value["z"] = "bad";
  const Node before;
  const Node written = tree::from_json(value).value();
  const OverlayView after(before, {{Path(), &written}});
  Trace trace;
  EXPECT_FALSE(check_write(*rules, {Path()}, NodeView(before), after, user("alice"), kNow, &trace).ok());
  EXPECT_EQ(trace.entries.size(), Trace::kMaxEntries);
  EXPECT_EQ(trace.omitted, 12000u + 2u - Trace::kMaxEntries);
  EXPECT_EQ(trace.entries.back().path, P("/z"));
  EXPECT_EQ(trace.entries.back().result, Result::deny);
}

}  // namespace
}  // namespace backside::rules
