// The table of rule cases: rules text, identity, data and an operation, with the expected decision. Each case
// runs through Rules::parse, can_read and check_write exactly as the database core calls them.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rules/rules.h"
#include "tree/json_codec.h"

namespace backside::rules {
namespace {

using tree::Node;
using tree::Path;

constexpr double kNow = 1700000000000;

enum class Op { read, set, update };

struct Case {
  std::string rules;
  std::string auth;   // "null" (unauthenticated), "admin", or the token claims as JSON
  std::string data;   // the database before the operation
  Op op = Op::read;
  std::string path;
  std::string value;  // set: the new value; update: {"relative/path": value, ...}
  bool allowed = false;
  std::optional<QueryInfo> query = std::nullopt;
};

const std::string kAlice = R"J({"sub":"alice","firebase":{"sign_in_provider":"password"},"email":"a@x.com","email_verified":true,"admin":true})J";
const std::string kBob = R"J({"user_id":"bob","email_verified":false})J";

// An expression case: `expression` as the root .read rule, read at the root by alice over kExpressionData.
const std::string kExpressionData =
    R"J({"s":"Hello","n":5,"t":true,"f":false,"o":{"x":1,"y":"two"},"p":{".value":3,".priority":7},"e":""})J";
Case expr(std::string expression, bool allowed, std::string auth = kAlice) {
  boost::json::object rules{{"rules", boost::json::object{{".read", expression}}}};
  return Case{boost::json::serialize(rules), std::move(auth), kExpressionData, Op::read, "/", "", allowed};
}

QueryInfo child_query(std::string child, std::optional<Node::Leaf> equal) {
  QueryInfo q;
  q.order_by_child = std::move(child);
  q.equal_to = std::move(equal);
  return q;
}
QueryInfo limit_query(double first) {
  QueryInfo q;
  q.order_by_key = true;
  q.limit_to_first = first;
  return q;
}

const std::string kOpenDefault = R"J({"rules":{}})J";
const std::string kCascade = R"J({"rules":{".read":false,"a":{".read":true,"b":{".read":false}},"w":{".write":true,"x":{".write":false}}}})J";
const std::string kPublic = R"J({"rules":{"public":{".read":true}}})J";
const std::string kUsers = R"J({
  // The documentation's user-owned data example.
  "rules": {"users": {"$uid": {".read": "auth != null && auth.uid == $uid", ".write": "auth != null && auth.uid == $uid"}}}
})J";
const std::string kUsersNoGuard = R"J({"rules":{"users":{"$uid":{".read":"auth.uid == $uid"}}}})J";
const std::string kTypes = R"J({"rules":{".read":true,".write":true,
  "name":{".validate":"newData.isString() && newData.val().length > 0 && newData.val().length < 10"},
  "age":{".validate":"newData.isNumber() && newData.val() >= 0 && newData.val() % 1 === 0"},
  "flag":{".validate":"newData.isBoolean()"},
  "email":{".validate":"newData.val().matches(/^[A-Z0-9._%+-]+@[A-Z0-9.-]+\\.[A-Z]{2,4}$/i)"}}})J";
const std::string kNoCascadeValidate = R"J({"rules":{".write":true,"a":{".validate":true,"b":{".validate":false}}}})J";
const std::string kHasChildren = R"J({"rules":{".write":true,"a":{".validate":"newData.hasChildren(['x', 'y'])"}}})J";
const std::string kTimestamps = R"J({"rules":{"msgs":{"$m":{".write":true,
  ".validate":"newData.hasChildren(['text','ts']) && newData.child('ts').isNumber() && newData.child('ts').val() <= now",
  "text":{".validate":"newData.isString() && newData.val().length <= 20"}}}}})J";
const std::string kCreateOnly = R"J({"rules":{"items":{"$id":{".write":"!data.exists()"}}}})J";
const std::string kDeleteOnly = R"J({"rules":{"items":{"$id":{".write":"data.exists() && !newData.exists()"}}}})J";
const std::string kRootLookup = R"J({"rules":{"posts":{"$p":{".write":"root.child('admins/' + auth.uid).exists()",
  ".read":"root.child('admins').hasChild(auth.uid)"}}}})J";
const std::string kParent = R"J({"rules":{"rooms":{"$r":{"msgs":{"$m":{".write":"newData.parent().parent().child('owner').val() == auth.uid"}}}}}})J";
const std::string kQuery = R"J({"rules":{"items":{".read":"query.orderByChild == 'owner' && query.equalTo == auth.uid"},
  "feed":{".read":"query.limitToFirst <= 10"},"keys":{".read":"query.orderByKey && !query.orderByValue"}}})J";
const std::string kMulti = R"J({"rules":{"a":{".write":true},"b":{".write":false},"c":{".write":true,".validate":"newData.isNumber()"}}})J";
const std::string kClaims = R"J({"rules":{"v":{".read":"auth.token.email_verified == true"},
  "adm":{".read":"auth.token.admin === true"},"prov":{".read":"auth.provider == 'password'"},
  "dom":{".read":"auth.token.email.endsWith('@x.com')"}}})J";
const std::string kPriority = R"J({"rules":{".write":true,"p":{".validate":"newData.getPriority() != null"},
  "d":{".validate":"newData.val() != data.val()"}}})J";
const std::string kWildcardNames = R"J({"rules":{"rooms":{"$room":{"members":{"$member":{
  ".write":"$member == auth.uid && root.child('rooms/' + $room + '/open').val() == true"}}}}}})J";
const std::string kNested = R"J({"rules":{"a":{"$x":{"b":{".validate":"newData.val() == $x"}}},".write":true}})J";
const std::string kIndexed = R"J({"rules":{".read":true,"dinos":{".indexOn":["height","length"]},"scores":{".indexOn":".value"}}})J";
const std::string kLengthKey = R"J({"rules":{"$k":{".write":"$k.length <= 3 && $k.beginsWith('k')"}}})J";

std::vector<Case> cases() {
  std::vector<Case> c = {
      // Default deny and admin bypass.
      {kOpenDefault, "null", "null", Op::read, "/", "", false},
      {kOpenDefault, kAlice, "null", Op::read, "/x", "", false},
      {kOpenDefault, kAlice, "null", Op::set, "/x", "1", false},
      {kOpenDefault, "admin", "null", Op::read, "/x", "", true},
      {kOpenDefault, "admin", "null", Op::set, "/x", "1", true},
      {kUsers, "admin", "null", Op::set, "/users/zed", "1", true},
      // Reads and writes cascade; a descendant cannot revoke.
      {kCascade, "null", "null", Op::read, "/", "", false},
      {kCascade, "null", "null", Op::read, "/a", "", true},
      {kCascade, "null", "null", Op::read, "/a/b", "", true},
      {kCascade, "null", "null", Op::read, "/a/c/d", "", true},
      {kCascade, "null", "null", Op::read, "/z", "", false},
      {kCascade, "null", "null", Op::set, "/w", "1", true},
      {kCascade, "null", "null", Op::set, "/w/x", "1", true},
      {kCascade, "null", "null", Op::set, "/w/x/y", "1", true},
      {kCascade, "null", "null", Op::set, "/", "1", false},
      {kCascade, "null", "null", Op::set, "/a", "1", false},
      // Rules are not filters.
      {kPublic, "null", R"J({"public":{"x":1},"private":2})J", Op::read, "/", "", false},
      {kPublic, "null", R"J({"public":{"x":1}})J", Op::read, "/public", "", true},
      {kPublic, "null", R"J({"public":{"x":1}})J", Op::read, "/public/x", "", true},
      {kPublic, "null", "null", Op::read, "/private", "", false},
      // User-owned data.
      {kUsers, kAlice, "null", Op::read, "/users/alice", "", true},
      {kUsers, kAlice, "null", Op::read, "/users/alice/profile/name", "", true},
      {kUsers, kAlice, "null", Op::read, "/users/bob", "", false},
      {kUsers, kAlice, "null", Op::read, "/users", "", false},
      {kUsers, "null", "null", Op::read, "/users/alice", "", false},
      {kUsers, kAlice, "null", Op::set, "/users/alice", R"J({"name":"A"})J", true},
      {kUsers, kAlice, "null", Op::set, "/users/alice/name", R"J("A")J", true},
      {kUsers, kAlice, R"J({"users":{"alice":1}})J", Op::set, "/users/alice", "null", true},
      {kUsers, kAlice, "null", Op::set, "/users/bob/name", R"J("A")J", false},
      {kUsers, kBob, "null", Op::set, "/users/bob/name", R"J("B")J", true},  // uid from user_id
      {kUsers, kBob, "null", Op::read, "/users/alice", "", false},
      {kUsers, "null", "null", Op::set, "/users/alice", "1", false},
      {kUsers, kAlice, "null", Op::set, "/users", R"J({"alice":1})J", false},
      {kUsersNoGuard, "null", "null", Op::read, "/users/alice", "", false},  // auth.uid on null: error → false
      {kUsersNoGuard, kAlice, "null", Op::read, "/users/alice", "", true},
      // Type and length validation.
      {kTypes, "null", "null", Op::set, "/name", R"J("bob")J", true},
      {kTypes, "null", "null", Op::set, "/name", R"J("")J", false},
      {kTypes, "null", "null", Op::set, "/name", "12345", false},
      {kTypes, "null", "null", Op::set, "/name", R"J("abcdefghijk")J", false},
      {kTypes, "null", "null", Op::set, "/name", R"J({"first":"a"})J", false},
      {kTypes, "null", "null", Op::set, "/age", "5", true},
      {kTypes, "null", "null", Op::set, "/age", "-1", false},
      {kTypes, "null", "null", Op::set, "/age", "2.5", false},
      {kTypes, "null", "null", Op::set, "/age", R"J("5")J", false},
      {kTypes, "null", "null", Op::set, "/flag", "true", true},
      {kTypes, "null", "null", Op::set, "/flag", R"J("true")J", false},
      {kTypes, "null", "null", Op::set, "/email", R"J("Someone@Example.com")J", true},
      {kTypes, "null", "null", Op::set, "/email", R"J("someone@")J", false},
      {kTypes, "null", "null", Op::set, "/email", "42", false},  // matches() on a number: error → false
      {kTypes, "null", R"J({"name":"bob"})J", Op::set, "/name", "null", true},  // deletes skip .validate
      {kTypes, "null", "null", Op::set, "/", R"J({"name":5})J", false},        // validated below the write
      {kTypes, "null", "null", Op::set, "/", R"J({"name":"ok","age":3})J", true},
      {kTypes, "null", "null", Op::set, "/", R"J({"other":{"deep":1}})J", true},
      {kTypes, "null", "null", Op::update, "/", R"J({"name":"ok","age":-1})J", false},
      {kTypes, "null", "null", Op::update, "/", R"J({"name":"ok","age":1})J", true},
      {kTypes, "null", R"J({"age":4})J", Op::update, "/", R"J({"name":null,"age":null})J", true},
      // .validate does not cascade, and ancestors' .validate still applies.
      {kNoCascadeValidate, "null", "null", Op::set, "/a/b", "1", false},
      {kNoCascadeValidate, "null", "null", Op::set, "/a", R"J({"c":1})J", true},
      {kNoCascadeValidate, "null", "null", Op::set, "/a", R"J({"b":1})J", false},
      {kNoCascadeValidate, "null", R"J({"a":{"b":1}})J", Op::set, "/a/b", "null", true},
      {kNoCascadeValidate, "null", "null", Op::set, "/a/c/d", "1", true},
      // newData.hasChildren([...]) and validation of the resulting ancestor.
      {kHasChildren, "null", "null", Op::set, "/a", R"J({"x":1,"y":2})J", true},
      {kHasChildren, "null", "null", Op::set, "/a", R"J({"x":1})J", false},
      {kHasChildren, "null", R"J({"a":{"y":2}})J", Op::set, "/a/x", "1", true},
      {kHasChildren, "null", "null", Op::set, "/a/x", "1", false},
      {kHasChildren, "null", R"J({"a":{"x":1,"y":2}})J", Op::set, "/a/x", "null", true},
      {kHasChildren, "null", "null", Op::set, "/a", "5", false},
      // Timestamps with `now`.
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"hi","ts":1700000000000})J", true},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"hi","ts":1600000000000})J", true},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"hi","ts":1700000000001})J", false},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"hi","ts":"1"})J", false},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"hi"})J", false},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":"this text is far too long","ts":1})J", false},
      {kTimestamps, "null", "null", Op::set, "/msgs/m1", R"J({"text":7,"ts":1})J", false},
      {kTimestamps, "null", R"J({"msgs":{"m1":{"text":"a","ts":1}}})J", Op::set, "/msgs/m1/text", R"J("b")J", true},
      {kTimestamps, "null", R"J({"msgs":{"m1":{"text":"a","ts":1}}})J", Op::set, "/msgs/m1/ts", "null", true},
      // data vs newData: create-only and delete-only.
      {kCreateOnly, "null", "null", Op::set, "/items/i1", "1", true},
      {kCreateOnly, "null", R"J({"items":{"i1":1}})J", Op::set, "/items/i1", "2", false},
      {kCreateOnly, "null", R"J({"items":{"i1":1}})J", Op::set, "/items/i2", "2", true},
      {kDeleteOnly, "null", R"J({"items":{"i1":1}})J", Op::set, "/items/i1", "null", true},
      {kDeleteOnly, "null", R"J({"items":{"i1":1}})J", Op::set, "/items/i1", "2", false},
      {kDeleteOnly, "null", "null", Op::set, "/items/i1", "null", false},
      // root lookups.
      {kRootLookup, kAlice, R"J({"admins":{"alice":true}})J", Op::set, "/posts/p1", R"J("x")J", true},
      {kRootLookup, kBob, R"J({"admins":{"alice":true}})J", Op::set, "/posts/p1", R"J("x")J", false},
      {kRootLookup, "null", R"J({"admins":{"alice":true}})J", Op::set, "/posts/p1", R"J("x")J", false},
      {kRootLookup, kAlice, R"J({"admins":{"alice":true}})J", Op::read, "/posts/p1", "", true},
      {kRootLookup, kBob, R"J({"admins":{"alice":true}})J", Op::read, "/posts/p1", "", false},
      // parent().
      {kParent, kAlice, R"J({"rooms":{"r1":{"owner":"alice"}}})J", Op::set, "/rooms/r1/msgs/m1", R"J("hi")J", true},
      {kParent, kBob, R"J({"rooms":{"r1":{"owner":"alice"}}})J", Op::set, "/rooms/r1/msgs/m1", R"J("hi")J", false},
      {kParent, kAlice, "null", Op::set, "/rooms/r1/msgs/m1", R"J("hi")J", false},
      // Query-based rules.
      {kQuery, kAlice, "null", Op::read, "/items", "", true, child_query("owner", Node::Leaf(std::string("alice")))},
      {kQuery, kAlice, "null", Op::read, "/items", "", false, child_query("owner", Node::Leaf(std::string("bob")))},
      {kQuery, kAlice, "null", Op::read, "/items", "", false, child_query("name", Node::Leaf(std::string("alice")))},
      {kQuery, kAlice, "null", Op::read, "/items", "", false},
      {kQuery, kAlice, "null", Op::read, "/feed", "", true, limit_query(10)},
      {kQuery, kAlice, "null", Op::read, "/feed", "", false, limit_query(11)},
      {kQuery, kAlice, "null", Op::read, "/feed", "", false},  // null <= 10: error → false
      {kQuery, kAlice, "null", Op::read, "/keys", "", true, limit_query(1)},
      {kQuery, kAlice, "null", Op::read, "/keys", "", false},
      // Multi-path updates: every key is checked, all or nothing.
      {kMulti, "null", "null", Op::update, "/", R"J({"a":1,"b":1})J", false},
      {kMulti, "null", "null", Op::update, "/", R"J({"a":1,"c":2})J", true},
      {kMulti, "null", "null", Op::update, "/", R"J({"a/x":1,"c":2})J", true},
      {kMulti, "null", "null", Op::update, "/", R"J({"a/x":1,"c":"two"})J", false},
      {kMulti, "null", "null", Op::update, "/", R"J({"b/x":null})J", false},
      {kMulti, "null", R"J({"c":1})J", Op::update, "/", R"J({"c":null})J", true},
      // Token claims.
      {kClaims, kAlice, "null", Op::read, "/v", "", true},
      {kClaims, kBob, "null", Op::read, "/v", "", false},
      {kClaims, kAlice, "null", Op::read, "/adm", "", true},
      {kClaims, kBob, "null", Op::read, "/adm", "", false},  // missing claim is null
      {kClaims, kAlice, "null", Op::read, "/prov", "", true},
      {kClaims, kBob, "null", Op::read, "/prov", "", false},
      {kClaims, kAlice, "null", Op::read, "/dom", "", true},
      {kClaims, kBob, "null", Op::read, "/dom", "", false},  // null.endsWith: error → false
      // Priorities; data vs newData equality.
      {kPriority, "null", "null", Op::set, "/p", R"J({".value":1,".priority":5})J", true},
      {kPriority, "null", "null", Op::set, "/p", "1", false},
      {kPriority, "null", R"J({"d":1})J", Op::set, "/d", "2", true},
      {kPriority, "null", R"J({"d":1})J", Op::set, "/d", "1", false},
      {kPriority, "null", R"J({"d":{"x":1}})J", Op::set, "/d", R"J({"x":1})J", true},  // objects: distinct opaque values
      // Several wildcards in scope.
      {kWildcardNames, kAlice, R"J({"rooms":{"r1":{"open":true}}})J", Op::set, "/rooms/r1/members/alice", "true", true},
      {kWildcardNames, kAlice, R"J({"rooms":{"r1":{"open":true}}})J", Op::set, "/rooms/r1/members/bob", "true", false},
      {kWildcardNames, kAlice, R"J({"rooms":{"r1":{"open":false}}})J", Op::set, "/rooms/r1/members/alice", "true", false},
      {kWildcardNames, kAlice, R"J({"rooms":{"r1":{"open":true}}})J", Op::set, "/rooms/r2/members/alice", "true", false},
      {kNested, "null", "null", Op::set, "/a/k1/b", R"J("k1")J", true},
      {kNested, "null", "null", Op::set, "/a/k1/b", R"J("k2")J", false},
      {kNested, "null", "null", Op::set, "/a", R"J({"k1":{"b":"k1"},"k2":{"b":"k2"}})J", true},
      {kNested, "null", "null", Op::set, "/a", R"J({"k1":{"b":"k1"},"k2":{"b":"k1"}})J", false},
      // .indexOn does not affect access.
      {kIndexed, "null", "null", Op::read, "/dinos", "", true},
      {kIndexed, "null", "null", Op::set, "/dinos", "1", false},
      // Wildcard values are strings.
      {kLengthKey, "null", "null", Op::set, "/k12", "1", true},
      {kLengthKey, "null", "null", Op::set, "/k123", "1", false},
      {kLengthKey, "null", "null", Op::set, "/x1", "1", false},
  };
  const std::vector<Case> expressions = {
      // Literals, logic and conditionals.
      expr("true", true), expr("false", false), expr("!false", true), expr("true && false", false),
      expr("false || true", true), expr("true ? true : false", true), expr("false ? true : false", false),
      expr("(1 < 2) ? 'a' == 'a' : false", true), expr("data.child('n').val() ? true : true", false), expr("!data.child('n').val()", false),
      expr("data.child('n').val() && true", false), expr("false && (auth.nothing.deeper == 1)", false),
      expr("true || (auth.nothing.deeper == 1)", true), expr("null == null", true), expr("data.child('s').val()", false),
      expr("auth.uid", false), expr("data.child('o').exists() || data.child('n').val()", true),
      // Arithmetic.
      expr("1 + 2 == 3", true), expr("7 - 10 == -3", true), expr("2 * 3 == 6", true), expr("7 / 2 == 3.5", true),
      expr("7 % 3 == 1", true), expr("-(2) == -2", true), expr("1 + 2 * 3 == 7", true), expr("(1 + 2) * 3 == 9", true),
      expr("0.1 + 0.2 == 0.3", false), expr("1e3 == 1000", true), expr("10 - 2 - 3 == 5", true),
      expr("data.child('s').val() - 1 == 0", false), expr("data.child('t').val() + 1 == 2", false),
      // Strict equality without coercion.
      expr("1 == '1'", false), expr("1 != '1'", true), expr("1 === 1", true), expr("'a' !== 'b'", true),
      expr("true == 1", false), expr("null == 0", false), expr("null != false", true),
      // Comparison.
      expr("1 < 2", true), expr("2 <= 2", true), expr("3 > 2", true), expr("2 >= 3", false),
      expr("'apple' < 'banana'", true), expr("'b' >= 'a'", true), expr("data.child('n').val() < '9'", false), expr("data.child('missing').val() < 1", false),
      // Strings.
      expr("'ab' + 'cd' == 'abcd'", true), expr("'n' + 1 == 'n1'", true), expr("1 + 'n' == '1n'", true),
      expr("'v' + 1.5 == 'v1.5'", true), expr("'abc'.length == 3", true), expr("''.length == 0", true),
      expr("'héllo'.length == 5", true), expr("'😀'.length == 2", true), expr("'hello'.contains('ell')", true),
      expr("'hello'.contains('xyz')", false), expr("'hello'.beginsWith('he')", true),
      expr("'hello'.beginsWith('lo')", false), expr("'hello'.endsWith('lo')", true),
      expr("'hello'.endsWith('he')", false), expr("'a.b.c'.replace('.', '-') == 'a-b-c'", true),
      expr("'aaa'.replace('a', 'bb') == 'bbbbbb'", true), expr("'MiXeD'.toLowerCase() == 'mixed'", true),
      expr("'MiXeD'.toUpperCase() == 'MIXED'", true), expr("'abc123'.matches(/^[a-z]+\\d+$/)", true),
      expr("'ABC'.matches(/^abc$/i)", true), expr("'ABC'.matches(/^abc$/)", false), expr("'a\\'b'.length == 3", true),
      expr("\"dq\" == 'dq'", true), expr("'\\u0041' == 'A'", true), expr("'tab\\there'.contains('\\t')", true),
      // Snapshot methods over the data.
      expr("data.child('s').val() == 'Hello'", true), expr("data.child('n').val() == 5", true),
      expr("data.child('t').val() == true", true), expr("data.child('missing').val() == null", true),
      expr("data.child('o/x').val() == 1", true), expr("data.child('o').child('y').val() == 'two'", true),
      expr("data.child('o').val() == data.child('o').val()", true),
      expr("data.child('o').val() == data.child('s').val()", false), expr("data.child('o').val() == null", false),
      expr("data.child('s').exists()", true), expr("data.child('nope').exists()", false),
      expr("data.hasChild('o/x')", true), expr("data.hasChild('o/z')", false), expr("data.hasChildren()", true),
      expr("data.child('s').hasChildren()", false), expr("data.hasChildren(['s', 'n', 'o'])", true),
      expr("data.hasChildren(['s', 'zz'])", false), expr("data.child('s').isString()", true),
      expr("data.child('s').isNumber()", false), expr("data.child('n').isNumber()", true),
      expr("data.child('t').isBoolean()", true), expr("data.child('o').isString()", false),
      expr("data.child('p').getPriority() == 7", true), expr("data.child('p').val() == 3", true),
      expr("data.child('s').getPriority() == null", true), expr("data.child('o/x').parent().hasChild('y')", true),
      expr("data.parent().exists()", false),  // parent of the root: error → false
      expr("data.child('s').val().length == 5", true), expr("data.child('s').val().toLowerCase() == 'hello'", true),
      expr("data.child('n').val().contains('5')", false),  // number.contains: error → false
      expr("data.child('e').val() == ''", true), expr("data.child('e').exists()", true),
      expr("root.child('n').val() + data.child('n').val() == 10", true),
      expr("data.child('..').exists()", false), expr("data.child('s').val() > 'A'", true),
      // auth as a value.
      expr("auth != null", true), expr("auth == null", true, "null"), expr("auth.uid == 'alice'", true),
      expr("auth.token.email == 'a@x.com'", true), expr("auth.token['email_verified'] == true", true),
      expr("auth.token.firebase.sign_in_provider == 'password'", true), expr("auth.token.missing == null", true),
      expr("auth.uid.length == 5", true), expr("auth.uid.beginsWith('al')", true),
      expr("auth.uid.beginsWith('al')", false, "null"), expr("auth.token.email.replace('@x.com', '') == 'alice'", false),
      expr("auth.token.email.replace('@x.com', '') == 'a'", true),
      // now.
      expr("now == 1700000000000", true), expr("now > 0 && now < 2000000000000", true),
  };
  c.insert(c.end(), expressions.begin(), expressions.end());
  return c;
}

identity::Identity auth_of(const std::string& text) {
  identity::Identity auth;
  if (text == "admin") {
    auth.admin = true;
  } else if (text != "null") {
    auth = identity::Identity::from_token_claims(boost::json::parse(text).as_object());
  }
  return auth;
}

Path P(std::string_view text) { return Path::parse(text).value(); }

TEST(RulesTable, EveryCase) {
  const std::vector<Case> all = cases();
  EXPECT_GE(all.size(), 150u);
  std::size_t denied_early = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Case& c = all[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": rules " + c.rules + "; path " + c.path + "; value " + c.value +
                 "; auth " + c.auth);
    const auto rules = Rules::parse(c.rules);
    ASSERT_TRUE(rules.ok()) << rules.error().message;
    const auto data = tree::parse_json(c.data);
    ASSERT_TRUE(data.ok()) << data.error().message;
    const identity::Identity auth = auth_of(c.auth);
    bool allowed = false;
    if (c.op == Op::read) {
      allowed = can_read(**rules, P(c.path), *data, auth, kNow, c.query ? &*c.query : nullptr);
      // Tracing (the rules playground) records the decision and never changes it.
      Trace trace;
      EXPECT_EQ(can_read(**rules, P(c.path), *data, auth, kNow, c.query ? &*c.query : nullptr, &trace), allowed);
      if (!auth.admin && allowed) {
        EXPECT_FALSE(trace.entries.empty());
      }
    } else {
      Node after = *data;
      std::vector<Path> locations;
      if (c.op == Op::set) {
        locations.push_back(P(c.path));
        after.set(locations.back(), tree::parse_json(c.value).value());
      } else {
        const boost::json::value update = boost::json::parse(c.value);
        for (const auto& [key, value] : update.as_object()) {
          locations.push_back(P(c.path).child(P(key)));
          after.set(locations.back(), tree::from_json(value).value());
        }
      }
      const Status status = check_write(**rules, locations, *data, after, auth, kNow);
      allowed = status.ok();
      Trace trace;
      EXPECT_EQ(check_write(**rules, locations, NodeView(*data), NodeView(after), auth, kNow, &trace).ok(), allowed);
      Trace early_trace;
      EXPECT_EQ(write_denied_before_data(**rules, locations, NodeView(*data), auth, kNow, &early_trace),
                write_denied_before_data(**rules, locations, NodeView(*data), auth, kNow));
      // The early answer, given before the data is known, may only ever agree with the full check.
      if (write_denied_before_data(**rules, locations, NodeView(*data), auth, kNow)) {
        ++denied_early;
        EXPECT_FALSE(allowed) << "refused before its data, but the full check allows it";
      }
      if (!allowed) {
        EXPECT_EQ(status.error().code, ErrorCode::permission_denied);
        EXPECT_EQ(status.error().message, "Permission denied");
      }
    }
    EXPECT_EQ(allowed, c.allowed);
  }
  EXPECT_GT(denied_early, 0u);
}

// Which writes are refused before their data is known: those whose .write rules are false on the whole way down
// and never name newData. A newData rule, a true rule anywhere on the way, or an admin leaves it to the full check.
TEST(RulesTable, WritesDeniedBeforeTheirData) {
  const auto rules = Rules::parse(R"J({"rules":{
      "closed": {".write": false},
      "own": {"$uid": {".write": "auth != null && auth.uid == $uid"}},
      "shape": {".write": "newData.isNumber()"},
      "mixed": {".write": "auth == null", "x": {".write": "newData.exists()"}},
      "existing": {".write": "!data.exists()"}}})J");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  const Node data = tree::parse_json(R"J({"existing":{"k":1}})J").value();
  const NodeView before(data);
  const identity::Identity anonymous;
  const identity::Identity alice = auth_of(kAlice);
  auto denied = [&](std::vector<Path> at, const identity::Identity& auth) {
    return write_denied_before_data(**rules, at, before, auth, kNow);
  };
  EXPECT_TRUE(denied({P("/closed/a")}, anonymous));
  EXPECT_TRUE(denied({P("/nowhere")}, alice));                      // no rule grants: closed by default
  EXPECT_TRUE(denied({P("/own/bob")}, alice));                      // auth decides alone
  EXPECT_FALSE(denied({P("/own/alice")}, alice));                   // granted: the full check follows
  EXPECT_FALSE(denied({P("/shape")}, anonymous));                   // newData decides
  EXPECT_FALSE(denied({P("/mixed/x")}, alice));                     // false above, newData below: undecided
  EXPECT_FALSE(denied({P("/mixed/x")}, anonymous));                 // granted above
  EXPECT_TRUE(denied({P("/existing/k")}, alice));                   // current data decides
  EXPECT_TRUE(denied({P("/own/alice"), P("/closed")}, alice));      // one refused location refuses the update
  EXPECT_FALSE(denied({P("/closed")}, identity::Identity::admin_identity()));  // the admin is never refused
}

}  // namespace
}  // namespace backside::rules
