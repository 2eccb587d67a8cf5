#include "rules/evaluator.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <variant>

#include "tree/json_codec.h"

// GCC 12 at -O2 reports a false -Wmaybe-uninitialized inside std::optional<std::variant<..., std::string, ...>>
// moves (GCC bug 105562); the values here are always constructed.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace backside::rules {
namespace {

using tree::Node;
using tree::Path;

struct Snapshot {
  const DataView* root;
  Path path;
  const Node* node() const { return root ? root->find(path) : nullptr; }
};
struct JsonRef {  // an object or array inside `auth`
  const boost::json::value* value;
};
struct Opaque {  // val() of a node with children: equal only to itself
  const Node* node;
};
struct QueryRef {};

using Value = std::variant<std::monostate, bool, double, std::string, Snapshot, JsonRef, Opaque, QueryRef>;
using Outcome = std::optional<Value>;  // nullopt: a runtime error

Value from_json(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return std::monostate{};
    case boost::json::kind::bool_: return v.get_bool();
    case boost::json::kind::int64: return static_cast<double>(v.get_int64());
    case boost::json::kind::uint64: return static_cast<double>(v.get_uint64());
    case boost::json::kind::double_: return v.get_double();
    case boost::json::kind::string: return std::string(v.get_string());
    default: return JsonRef{&v};
  }
}

Value from_leaf(const Node::Leaf& leaf) {
  return std::visit([](const auto& v) -> Value { return v; }, leaf);
}

Value from_priority(const std::optional<tree::Priority>& priority) {
  if (!priority) return std::monostate{};
  return std::visit([](const auto& v) -> Value { return v; }, *priority);
}

Value from_optional_leaf(const std::optional<Node::Leaf>& leaf) {
  return leaf ? from_leaf(*leaf) : Value(std::monostate{});
}

// JavaScript's String length: UTF-16 code units.
double utf16_length(const std::string& s) {
  double length = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) length += c >= 0xF0 ? 2 : 1;
  }
  return length;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  std::size_t start = 0;
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, start)) {
    out.append(s, start, at - start);
    out += to;
    start = at + from.size();
  }
  out.append(s, start);
  return out;
}

// A relative child path given to child()/hasChild(): slash-separated valid keys.
std::optional<Path> child_path(const Snapshot& snapshot, const std::string& relative) {
  auto parsed = Path::parse(relative);
  if (!parsed.ok() || snapshot.path.size() + parsed->size() > tree::kMaxDepth) return std::nullopt;
  return snapshot.path.child(*parsed);
}

bool strictly_equal(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, std::monostate>) {
          return true;
        } else if constexpr (std::is_same_v<T, Snapshot> || std::is_same_v<T, QueryRef>) {
          return false;  // excluded by the caller
        } else if constexpr (std::is_same_v<T, JsonRef>) {
          return x.value == y.value;
        } else if constexpr (std::is_same_v<T, Opaque>) {
          return x.node == y.node;
        } else {
          return x == y;
        }
      },
      a);
}

// What a value is, for error messages.
std::string type_name(const Value& v) {
  switch (v.index()) {
    case 0: return "null";
    case 1: return "a boolean";
    case 2: return "a number";
    case 3: return "a string";
    case 4: return "a snapshot (call val() for its value)";
    case 5: return std::get<JsonRef>(v).value->is_array() ? "an array" : "an object";
    case 6: return "a value with children";
    default: return "query";
  }
}

class Evaluator {
 public:
  // `error`, when given, receives the first reason an evaluation fails (the rules playground's trace).
  Evaluator(const EvalContext& context, std::string* error) : c_(context), error_(error) {}

  Outcome eval(const Expr& e) const {
    switch (e.kind) {
      case Expr::Kind::literal: return std::visit([](const auto& v) -> Value { return v; }, e.literal);
      case Expr::Kind::identifier: return identifier(e.name);
      case Expr::Kind::member: {
        auto target = eval(*e.operands[0]);
        if (!target) return std::nullopt;
        return member(*target, e.name);
      }
      case Expr::Kind::index: {
        auto target = eval(*e.operands[0]);
        auto key = eval(*e.operands[1]);
        if (!target || !key) return std::nullopt;
        if (const auto* s = std::get_if<std::string>(&*key)) return member(*target, *s);
        const auto* ref = std::get_if<JsonRef>(&*target);
        const auto* n = std::get_if<double>(&*key);
        if (!ref || !n || !ref->value->is_array() || *n < 0 || *n != std::floor(*n)) {
          return fail([&] { return "cannot index " + type_name(*target) + " with " + type_name(*key); });
        }
        const auto& array = ref->value->get_array();
        if (*n >= static_cast<double>(array.size())) return Value(std::monostate{});
        return from_json(array[static_cast<std::size_t>(*n)]);
      }
      case Expr::Kind::call: return call(e);
      case Expr::Kind::unary: {
        auto operand = eval(*e.operands[0]);
        if (!operand) return std::nullopt;
        if (e.name == "!") {
          const auto* b = std::get_if<bool>(&*operand);
          if (!b) return fail([&] { return "! needs a boolean, not " + type_name(*operand); });
          return !*b;
        }
        const auto* n = std::get_if<double>(&*operand);
        if (!n) return fail([&] { return "- needs a number, not " + type_name(*operand); });
        return -*n;
      }
      case Expr::Kind::binary: return binary(e);
      case Expr::Kind::conditional: {
        auto condition = eval(*e.operands[0]);
        if (!condition) return std::nullopt;
        const bool* b = std::get_if<bool>(&*condition);
        if (!b) return fail([&] { return "the condition of ?: must be a boolean, not " + type_name(*condition); });
        return eval(*e.operands[*b ? 1 : 2]);
      }
      case Expr::Kind::regex:
      case Expr::Kind::string_list:  // only ever evaluated as call arguments
        return fail([] { return std::string("a regular expression or list outside of its method"); });
    }
    return std::nullopt;
  }

 private:
  // A runtime error: evaluates to nullopt, and records why (the first reason) when asked to. The message is built
  // out of line, so that the evaluation's own code stays as compact as it was without messages.
  template <typename Describe>
  Outcome fail(const Describe& describe) const {
    if (error_) [[unlikely]] note(describe);
    return std::nullopt;
  }
  template <typename Describe>
  [[gnu::cold, gnu::noinline]] void note(const Describe& describe) const {
    if (error_->empty()) *error_ = describe();
  }

  Outcome identifier(const std::string& name) const {
    if (name == "auth") return from_json(*c_.auth);
    if (name == "now") return c_.now;
    if (name == "root") return Snapshot{c_.root, Path()};
    if (name == "data") return Snapshot{c_.root, c_.path};
    if (name == "newData") {
      if (!c_.new_root) return fail([] { return std::string("newData is not known here"); });
      return Snapshot{c_.new_root, c_.path};
    }
    if (name == "query") return QueryRef{};  // a plain read sees the default query (all false/null)
    for (const auto& [wildcard, key] : *c_.wildcards) {
      if (wildcard == name) return key;
    }
    return fail([&] { return name + " is not defined"; });
  }

  Outcome member(const Value& target, const std::string& name) const {
    if (const auto* ref = std::get_if<JsonRef>(&target)) {
      if (!ref->value->is_object()) return fail([&] { return "cannot read \"" + name + "\" of an array"; });
      const auto* found = ref->value->get_object().if_contains(name);
      return found ? from_json(*found) : Value(std::monostate{});
    }
    if (const auto* s = std::get_if<std::string>(&target)) {
      if (name == "length") return utf16_length(*s);
      return fail([&] { return "a string has no \"" + name + "\""; });
    }
    if (std::holds_alternative<QueryRef>(target)) return query_field(name);
    return fail([&] { return "cannot read \"" + name + "\" of " + type_name(target); });
  }

  Outcome query_field(const std::string& name) const {
    static const QueryInfo kDefault;
    const QueryInfo& q = c_.query ? *c_.query : kDefault;
    if (name == "orderByKey") return q.order_by_key;
    if (name == "orderByPriority") return q.order_by_priority;
    if (name == "orderByValue") return q.order_by_value;
    if (name == "orderByChild") return q.order_by_child ? Value(*q.order_by_child) : Value(std::monostate{});
    if (name == "startAt") return from_optional_leaf(q.start_at);
    if (name == "endAt") return from_optional_leaf(q.end_at);
    if (name == "equalTo") return from_optional_leaf(q.equal_to);
    if (name == "limitToFirst") return q.limit_to_first ? Value(*q.limit_to_first) : Value(std::monostate{});
    if (name == "limitToLast") return q.limit_to_last ? Value(*q.limit_to_last) : Value(std::monostate{});
    return fail([&] { return "query has no \"" + name + "\""; });
  }

  Outcome call(const Expr& e) const {
    auto target = eval(*e.operands[0]);
    if (!target) return std::nullopt;
    if (const auto* snapshot = std::get_if<Snapshot>(&*target)) return snapshot_method(*snapshot, e);
    if (const auto* s = std::get_if<std::string>(&*target)) return string_method(*s, e);
    return fail([&] { return "cannot call " + e.name + "() on " + type_name(*target); });
  }

  // The string value of argument `k` (1-based operand index), or nullopt.
  std::optional<std::string> string_argument(const Expr& e, std::size_t k) const {
    auto value = eval(*e.operands[k]);
    if (!value) return std::nullopt;
    if (auto* s = std::get_if<std::string>(&*value)) return std::move(*s);
    fail([&] { return e.name + "() needs a string argument, not " + type_name(*value); });
    return std::nullopt;
  }

  Outcome navigate(const Snapshot& snapshot, const Expr& e) const {
    const std::string& m = e.name;
    if (m == "parent") {
      if (snapshot.path.empty()) return fail([] { return std::string("the root has no parent()"); });
      return Snapshot{snapshot.root, snapshot.path.parent()};
    }
    const auto relative = string_argument(e, 1);
    if (!relative) return std::nullopt;
    auto path = child_path(snapshot, *relative);
    if (!path) return fail([&] { return m + "(): invalid child path \"" + *relative + "\""; });
    if (m == "child") return Snapshot{snapshot.root, std::move(*path)};
    return snapshot.root && snapshot.root->find(*path) != nullptr;  // hasChild
  }

  Outcome snapshot_method(const Snapshot& snapshot, const Expr& e) const {
    const std::string& m = e.name;
    if (m == "child" || m == "hasChild" || m == "parent") return navigate(snapshot, e);
    if (m == "hasChildren" && e.operands.size() > 1) {
      for (const std::string& key : e.operands[1]->strings) {
        auto path = child_path(snapshot, key);
        if (!path) return fail([&] { return "hasChildren(): invalid child path \"" + key + "\""; });
        if (!snapshot.root || !snapshot.root->find(*path)) return false;
      }
      return true;
    }
    // Only methods that look at the node itself resolve it (an ancestor of a write may be materialized).
    const Node* node = snapshot.node();
    if (m == "val") {
      if (!node) return Value(std::monostate{});
      if (const auto* leaf = node->leaf_value()) return from_leaf(*leaf);
      return Opaque{node};
    }
    if (m == "hasChildren") return node != nullptr && node->has_children();
    if (m == "exists") return node != nullptr && !node->is_null();
    if (m == "getPriority") return node ? from_priority(node->priority()) : Value(std::monostate{});
    const Node::Leaf* leaf = node ? node->leaf_value() : nullptr;
    if (m == "isNumber") return leaf && std::holds_alternative<double>(*leaf);
    if (m == "isString") return leaf && std::holds_alternative<std::string>(*leaf);
    if (m == "isBoolean") return leaf && std::holds_alternative<bool>(*leaf);
    return fail([&] { return "a snapshot has no method " + m + "()"; });
  }

  Outcome string_method(const std::string& s, const Expr& e) const {
    const std::string& m = e.name;
    if (m == "matches") return e.operands[1]->regex->search(s);
    if (m == "toLowerCase" || m == "toUpperCase") {
      std::string out = s;
      for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) c = static_cast<char>(m == "toLowerCase" ? std::tolower(u) : std::toupper(u));
      }
      return out;
    }
    const auto first = string_argument(e, 1);
    if (!first) return std::nullopt;
    if (m == "contains") return s.find(*first) != std::string::npos;
    if (m == "beginsWith") return s.starts_with(*first);
    if (m == "endsWith") return s.ends_with(*first);
    if (m == "replace") {
      const auto second = string_argument(e, 2);
      if (!second) return std::nullopt;
      return replace_all(s, *first, *second);
    }
    return fail([&] { return "a string has no method " + m + "()"; });
  }

  Outcome binary(const Expr& e) const {
    const std::string& o = e.name;
    if (o == "&&" || o == "||") {
      // A chain: the first operand that decides (false for &&, true for ||) ends it.
      const bool decisive = o == "||";
      for (const ExprPtr& operand : e.operands) {
        const auto value = eval(*operand);
        if (!value) return std::nullopt;
        const bool* b = std::get_if<bool>(&*value);
        if (!b) return fail([&] { return o + " needs booleans, not " + type_name(*value); });
        if (*b == decisive) return decisive;
      }
      return !decisive;
    }
    auto left = eval(*e.operands[0]);
    if (!left) return std::nullopt;
    auto right = eval(*e.operands[1]);
    if (!right) return std::nullopt;
    // Snapshots and `query` are not values: comparing one (reachable only through `?:` of mixed types) errs.
    for (const Value* side : {&*left, &*right}) {
      if (std::holds_alternative<Snapshot>(*side) || std::holds_alternative<QueryRef>(*side)) {
        return fail([&] { return o + " cannot compare " + type_name(*side); });
      }
    }
    if (o == "==" || o == "===") return strictly_equal(*left, *right);
    if (o == "!=" || o == "!==") return !strictly_equal(*left, *right);
    const auto* ln = std::get_if<double>(&*left);
    const auto* rn = std::get_if<double>(&*right);
    const auto* ls = std::get_if<std::string>(&*left);
    const auto* rs = std::get_if<std::string>(&*right);
    if (o == "<" || o == "<=" || o == ">" || o == ">=") {
      int order = 0;
      if (ln && rn) {
        if (std::isnan(*ln) || std::isnan(*rn)) return false;
        order = *ln < *rn ? -1 : *ln > *rn ? 1 : 0;
      } else if (ls && rs) {
        order = ls->compare(*rs);
      } else {
        return fail([&] { return o + " compares two numbers or two strings, not " + type_name(*left) + " and " +
                                 type_name(*right); });
      }
      if (o == "<") return order < 0;
      if (o == "<=") return order <= 0;
      if (o == ">") return order > 0;
      return order >= 0;
    }
    if (o == "+") {
      if (ln && rn) return *ln + *rn;
      if ((ls || ln) && (rs || rn)) return text_of(*left) + text_of(*right);
      return fail([&] { return "+ adds numbers or strings, not " + type_name(*left) + " and " + type_name(*right); });
    }
    if (!ln || !rn) {
      return fail([&] { return o + " needs two numbers, not " + type_name(*left) + " and " + type_name(*right); });
    }
    if (o == "-") return *ln - *rn;
    if (o == "*") return *ln * *rn;
    if (o == "/") return *ln / *rn;
    return std::fmod(*ln, *rn);  // "%"
  }

  // A string or number as JavaScript's string concatenation renders it.
  static std::string text_of(const Value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    std::string out;
    tree::append_number(out, std::get<double>(v));
    return out;
  }

  const EvalContext& c_;
  std::string* error_;
};

}  // namespace

bool evaluate(const Rule& rule, const EvalContext& context) {
  if (rule.constant) return *rule.constant;
  const Outcome result = Evaluator(context, nullptr).eval(*rule.expression);
  const bool* granted = result ? std::get_if<bool>(&*result) : nullptr;
  return granted && *granted;
}

Verdict evaluate_rule(const Rule& rule, const EvalContext& context, std::string* error) {
  if (rule.constant) return *rule.constant ? Verdict::allow : Verdict::deny;
  std::string why;
  const Outcome result = Evaluator(context, error ? &why : nullptr).eval(*rule.expression);
  if (!result) {
    if (error) *error = why.empty() ? "the expression could not be evaluated" : std::move(why);
    return Verdict::error;
  }
  const bool* granted = std::get_if<bool>(&*result);
  if (!granted) {
    if (error) *error = "the rule evaluated to " + type_name(*result) + ", not a boolean";
    return Verdict::error;
  }
  return *granted ? Verdict::allow : Verdict::deny;
}

}  // namespace backside::rules
