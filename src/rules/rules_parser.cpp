// Rules::parse: the rules file's JSON tree into a compiled RuleNode tree, with errors naming the rule path,
// line and column.
#include <algorithm>

#include "rules/commented_json.h"
#include "rules/rules.h"

namespace backside::rules {
namespace {

struct Failure {
  Error error;
};

[[noreturn]] void fail(const std::string& rule_path, SourcePosition at, const std::string& message) {
  throw Failure{invalid("invalid rules at " + rule_path + " (line " + std::to_string(at.line) + ", column " +
                        std::to_string(at.column) + "): " + message)};
}

// Whether `name` occurs as an identifier anywhere in `expr` (the tree's depth is bounded at compile time).
bool names_identifier(const Expr& expr, std::string_view name) {
  if (expr.kind == Expr::Kind::identifier && expr.name == name) return true;
  for (const ExprPtr& operand : expr.operands) {
    if (operand && names_identifier(*operand, name)) return true;
  }
  return false;
}

class Builder {
 public:
  void node(const JsonItem& item, RuleNode& out, const std::string& rule_path, std::vector<std::string>& wildcards) {
    if (item.kind != JsonItem::Kind::object) {
      fail(rule_path, item.position, std::string("a rules node must be an object, not ") + item.kind_name());
    }
    for (const auto& [key, value] : item.members) {
      const std::string path = rule_path + "/" + key;
      if (key == ".read") {
        out.read = rule(value, path, RuleKind::read, wildcards);
      } else if (key == ".write") {
        out.write = rule(value, path, RuleKind::write, wildcards);
      } else if (key == ".validate") {
        out.validate = rule(value, path, RuleKind::validate, wildcards);
      } else if (key == ".indexOn") {
        out.index_on = index_on(value, path);
      } else if (key.starts_with('.')) {
        fail(path, value.position, "unknown rule type \"" + key + "\"");
      } else if (key.starts_with('$')) {
        if (!out.wildcard_name.empty()) {
          fail(path, value.position, "only one wildcard per level (already have " + out.wildcard_name + ")");
        }
        if (key.size() < 2 || !tree::is_valid_key(key.substr(1))) fail(path, value.position, "invalid wildcard name");
        if (std::find(wildcards.begin(), wildcards.end(), key) != wildcards.end()) {
          fail(path, value.position, "wildcard " + key + " is already used by an ancestor");
        }
        out.wildcard_name = key;
        out.wildcard = std::make_unique<RuleNode>();
        wildcards.push_back(key);
        node(value, *out.wildcard, path, wildcards);
        wildcards.pop_back();
      } else {
        if (const std::string why = tree::key_error(key); !why.empty()) fail(path, value.position, why);
        auto child = std::make_unique<RuleNode>();
        node(value, *child, path, wildcards);
        out.children.emplace(key, std::move(child));
      }
    }
  }

 private:
  static Rule rule(const JsonItem& item, const std::string& rule_path, RuleKind kind,
                   const std::vector<std::string>& wildcards) {
    if (item.kind == JsonItem::Kind::boolean) {
      return Rule{item.boolean, nullptr, false, rule_path, item.boolean ? "true" : "false"};
    }
    if (item.kind != JsonItem::Kind::string) {
      fail(rule_path, item.position, std::string("a rule must be a boolean or an expression string, not ") +
                                         item.kind_name());
    }
    auto compiled = compile_expression(item.string, kind, wildcards);
    if (auto* error = std::get_if<ExpressionError>(&compiled)) {
      const std::size_t at = std::min(error->offset, item.string_positions.size() - 1);
      fail(rule_path, item.string_positions[at], error->message);
    }
    ExprPtr expression = std::move(std::get<ExprPtr>(compiled));
    const bool reads_new_data = names_identifier(*expression, "newData");
    return Rule{std::nullopt, std::move(expression), reads_new_data, rule_path, item.string};
  }

  static std::vector<std::string> index_on(const JsonItem& item, const std::string& rule_path) {
    if (item.kind == JsonItem::Kind::string) return {item.string};
    if (item.kind != JsonItem::Kind::array) {
      fail(rule_path, item.position, std::string(".indexOn must be a string or an array of strings, not ") +
                                         item.kind_name());
    }
    std::vector<std::string> fields;
    for (const JsonItem& field : item.items) {
      if (field.kind != JsonItem::Kind::string) {
        fail(rule_path, field.position, std::string(".indexOn entries must be strings, not ") + field.kind_name());
      }
      fields.push_back(field.string);
    }
    return fields;
  }
};

}  // namespace

Result<std::shared_ptr<const Rules>> Rules::parse(std::string_view text) {
  auto json = parse_commented_json(text);
  if (!json.ok()) return invalid("invalid rules JSON: " + json.error().message);
  auto rules = std::make_shared<Rules>();
  try {
    if (json->kind != JsonItem::Kind::object) {
      fail("/", json->position, "the rules file must be an object with a \"rules\" key");
    }
    const JsonItem* body = nullptr;
    for (const auto& [key, value] : json->members) {
      if (key != "rules") fail("/" + key, value.position, "unknown top-level key \"" + key + "\"");
      body = &value;
    }
    if (!body) fail("/", json->position, "missing the \"rules\" key");
    std::vector<std::string> wildcards;
    Builder().node(*body, rules->root_, "/rules", wildcards);
  } catch (const Failure& failure) {
    return failure.error;
  }
  return std::shared_ptr<const Rules>(std::move(rules));
}

const std::vector<std::string>& Rules::index_on(const tree::Path& path) const {
  static const std::vector<std::string> kNone;
  const RuleNode* node = &root_;
  for (const std::string& key : path.segments()) {
    const auto it = node->children.find(key);
    node = it != node->children.end() ? it->second.get() : node->wildcard.get();
    if (!node) return kNone;
  }
  return node->index_on;
}

}  // namespace backside::rules
