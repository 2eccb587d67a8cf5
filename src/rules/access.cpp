// can_read / check_write: which rule nodes apply to a location and how their results combine.
#include "rules/evaluator.h"
#include "rules/rules.h"

namespace backside::rules {
namespace {

using tree::Node;
using tree::Path;
using Wildcards = std::vector<std::pair<std::string, std::string>>;

// The rule node for `key` below `node`: the exact key if defined, else the wildcard (binding it), else none.
const RuleNode* descend(const RuleNode& node, const std::string& key, Wildcards& wildcards) {
  if (const auto it = node.children.find(key); it != node.children.end()) return it->second.get();
  if (node.wildcard) {
    wildcards.emplace_back(node.wildcard_name, key);
    return node.wildcard.get();
  }
  return nullptr;
}

// Whether some rule selected by `pick` along root..path is true: rules cascade, so the first true one grants.
template <typename Pick>
bool cascades(const Rules& rules, const Path& path, EvalContext& context, Wildcards& wildcards, Pick pick) {
  const RuleNode* node = &rules.root();
  std::vector<std::string> segments;
  for (std::size_t depth = 0;; ++depth) {
    if (const auto& rule = pick(*node)) {
      context.path = Path(segments);
      if (evaluate(*rule, context)) return true;
    }
    if (depth == path.size()) return false;
    node = descend(*node, path[depth], wildcards);
    if (!node) return false;
    segments.push_back(path[depth]);
  }
}

// .validate at every node of newData at or below `path` that has a rule node (validate does not cascade).
bool validates_below(const RuleNode& node, const Node& data, Path path, EvalContext& context, Wildcards& wildcards) {
  if (node.validate) {
    context.path = path;
    if (!evaluate(*node.validate, context)) return false;
  }
  const auto* children = data.children();
  if (!children) return true;
  for (const auto& [key, child] : *children) {
    const std::size_t bound = wildcards.size();
    const RuleNode* rule = descend(node, key, wildcards);
    const bool ok = !rule || validates_below(*rule, *child, path.child(key), context, wildcards);
    wildcards.resize(bound);
    if (!ok) return false;
  }
  return true;
}

bool may_write(const Rules& rules, const Path& location, EvalContext& context) {
  Wildcards wildcards;
  context.wildcards = &wildcards;
  if (!cascades(rules, location, context, wildcards, [](const RuleNode& n) -> const auto& { return n.write; })) {
    return false;
  }
  const Node* written = context.new_root->find(location);
  if (!written || written->is_null()) return true;  // deletes are not validated
  // Ancestors (newData exists at each, since it exists at the location), then the written subtree.
  wildcards.clear();
  const RuleNode* node = &rules.root();
  std::vector<std::string> segments;
  for (std::size_t depth = 0; depth < location.size(); ++depth) {
    if (node->validate) {
      context.path = Path(segments);
      if (!evaluate(*node->validate, context)) return false;
    }
    node = descend(*node, location[depth], wildcards);
    if (!node) return true;
    segments.push_back(location[depth]);
  }
  return validates_below(*node, *written, location, context, wildcards);
}

const boost::json::value* auth_value(const identity::Identity& auth) {
  static const boost::json::value unauthenticated = nullptr;
  return auth.variable ? auth.variable.get() : &unauthenticated;
}

std::optional<Node::Leaf> bound_value(const std::optional<tree::Query::Bound>& bound) {
  if (!bound) return std::nullopt;
  const Node::Leaf* leaf = bound->value.leaf_value();
  if (!leaf) return std::nullopt;
  return *leaf;
}

}  // namespace

QueryInfo query_info(const tree::Query& query) {
  QueryInfo info;
  switch (query.index) {
    case tree::Query::Index::key: info.order_by_key = true; break;
    case tree::Query::Index::priority: info.order_by_priority = true; break;
    case tree::Query::Index::value: info.order_by_value = true; break;
    case tree::Query::Index::child: {
      std::string child;
      for (const auto& segment : query.child_path.segments()) child += (child.empty() ? "" : "/") + segment;
      info.order_by_child = std::move(child);
      break;
    }
  }
  info.start_at = bound_value(query.start);
  info.end_at = bound_value(query.end);
  if (query.start && query.end && query.start->inclusive && query.end->inclusive &&
      query.start->value == query.end->value && query.start->name == query.end->name) {
    info.equal_to = info.start_at;
  }
  if (query.limit) {
    (query.limit_from_last ? info.limit_to_last : info.limit_to_first) = static_cast<double>(*query.limit);
  }
  return info;
}

bool can_read(const Rules& rules, const Path& path, const Node& root, const identity::Identity& auth, double now,
              const QueryInfo* query) {
  if (auth.admin) return true;
  Wildcards wildcards;
  const NodeView data(root);
  EvalContext context{.auth = auth_value(auth), .now = now, .root = &data, .wildcards = &wildcards, .query = query};
  return cascades(rules, path, context, wildcards, [](const RuleNode& n) -> const auto& { return n.read; });
}

Status check_write(const Rules& rules, const std::vector<Path>& written_locations, const Node& old_root,
                   const Node& new_root, const identity::Identity& auth, double now) {
  return check_write(rules, written_locations, NodeView(old_root), NodeView(new_root), auth, now);
}

bool write_denied_before_data(const Rules& rules, const std::vector<Path>& written_locations,
                              const DataView& old_root, const identity::Identity& auth, double now) {
  if (auth.admin) return false;
  EvalContext context{.auth = auth_value(auth), .now = now, .root = &old_root};  // no newData: never read below
  for (const Path& location : written_locations) {
    Wildcards wildcards;
    context.wildcards = &wildcards;
    bool needs_data = false;
    const bool granted = cascades(rules, location, context, wildcards, [&](const RuleNode& n) -> const auto& {
      static const std::optional<Rule> kUndecided;
      if (n.write && n.write->reads_new_data) {
        needs_data = true;
        return kUndecided;
      }
      return n.write;
    });
    if (!granted && !needs_data) return true;
  }
  return false;
}

Status check_write(const Rules& rules, const std::vector<Path>& written_locations, const DataView& old_root,
                   const DataView& new_root, const identity::Identity& auth, double now) {
  if (auth.admin) return ok_status();
  EvalContext context{.auth = auth_value(auth), .now = now, .root = &old_root, .new_root = &new_root};
  for (const Path& location : written_locations) {
    if (!may_write(rules, location, context)) return Error{ErrorCode::permission_denied, "Permission denied"};
  }
  return ok_status();
}

}  // namespace backside::rules
