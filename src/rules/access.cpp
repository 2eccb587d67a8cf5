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

void record(Trace& trace, const Rule& rule, RuleKind kind, const Path& at, TraceEntry::Result result,
            std::string why) {
  trace.add({rule.rule_path, at, kind, rule.source, result, std::move(why)});
}

// Evaluates `rule` at context.path, recording it when the request is traced (out of line: untraced, this is one
// test before evaluate()).
[[gnu::noinline]] bool decide_traced(const Rule& rule, RuleKind kind, const EvalContext& context) {
  std::string error;
  const Verdict verdict = evaluate_rule(rule, context, &error);
  const auto result = verdict == Verdict::allow  ? TraceEntry::Result::allow
                      : verdict == Verdict::deny ? TraceEntry::Result::deny
                                                 : TraceEntry::Result::error;
  record(*context.trace, rule, kind, context.path, result, std::move(error));
  return verdict == Verdict::allow;
}

inline bool decide(const Rule& rule, RuleKind kind, const EvalContext& context) {
  if (context.trace) [[unlikely]] return decide_traced(rule, kind, context);
  return evaluate(rule, context);
}

// Whether some .read (or .write) rule along root..path is true: rules cascade, so the first true one grants.
// `undecided`, when given: rules that read `newData` are not evaluated and set *undecided instead. Traced, the
// rules below the one that granted are listed as skipped.
bool cascades(const Rules& rules, const Path& path, RuleKind kind, EvalContext& context, Wildcards& wildcards,
              bool* undecided = nullptr) {
  const RuleNode* node = &rules.root();
  std::vector<std::string> segments;
  bool granted = false;
  for (std::size_t depth = 0;; ++depth) {
    if (const auto& rule = kind == RuleKind::read ? node->read : node->write) {
      context.path = Path(segments);
      if (granted) {
        record(*context.trace, *rule, kind, context.path, TraceEntry::Result::skipped, "a rule above granted");
      } else if (undecided && rule->reads_new_data) {
        *undecided = true;
        if (context.trace) {
          record(*context.trace, *rule, kind, context.path, TraceEntry::Result::skipped,
                 "reads newData: decided with the data");
        }
      } else if (decide(*rule, kind, context)) {
        if (!context.trace) return true;
        granted = true;
      }
    }
    if (depth == path.size()) return granted;
    node = descend(*node, path[depth], wildcards);
    if (!node) return granted;
    segments.push_back(path[depth]);
  }
}

// .validate at every node of newData at or below `path` that has a rule node (validate does not cascade).
bool validates_below(const RuleNode& node, const Node& data, Path path, EvalContext& context, Wildcards& wildcards) {
  if (node.validate) {
    context.path = path;
    if (!decide(*node.validate, RuleKind::validate, context)) return false;
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
  if (!cascades(rules, location, RuleKind::write, context, wildcards)) return false;
  const Node* written = context.new_root->find(location);
  if (!written || written->is_null()) return true;  // deletes are not validated
  // Ancestors (newData exists at each, since it exists at the location), then the written subtree.
  wildcards.clear();
  const RuleNode* node = &rules.root();
  std::vector<std::string> segments;
  for (std::size_t depth = 0; depth < location.size(); ++depth) {
    if (node->validate) {
      context.path = Path(segments);
      if (!decide(*node->validate, RuleKind::validate, context)) return false;
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

void Trace::add(TraceEntry entry) {
  if (entries.size() < kMaxEntries) {
    entries.push_back(std::move(entry));
  } else {
    ++omitted;
    entries.back() = std::move(entry);
  }
}

std::string_view kind_name(RuleKind kind) {
  switch (kind) {
    case RuleKind::read: return ".read";
    case RuleKind::write: return ".write";
    case RuleKind::validate: return ".validate";
  }
  return "";
}

std::string_view result_name(TraceEntry::Result result) {
  switch (result) {
    case TraceEntry::Result::allow: return "allow";
    case TraceEntry::Result::deny: return "deny";
    case TraceEntry::Result::error: return "error";
    case TraceEntry::Result::skipped: return "skipped";
  }
  return "";
}

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
              const QueryInfo* query, Trace* trace) {
  if (auth.admin) return true;
  Wildcards wildcards;
  const NodeView data(root);
  EvalContext context{
      .auth = auth_value(auth), .now = now, .root = &data, .wildcards = &wildcards, .query = query, .trace = trace};
  return cascades(rules, path, RuleKind::read, context, wildcards);
}

Status check_write(const Rules& rules, const std::vector<Path>& written_locations, const Node& old_root,
                   const Node& new_root, const identity::Identity& auth, double now) {
  return check_write(rules, written_locations, NodeView(old_root), NodeView(new_root), auth, now);
}

bool write_denied_before_data(const Rules& rules, const std::vector<Path>& written_locations,
                              const DataView& old_root, const identity::Identity& auth, double now, Trace* trace) {
  if (auth.admin) return false;
  // No newData: rules that read it are not evaluated.
  EvalContext context{.auth = auth_value(auth), .now = now, .root = &old_root, .trace = trace};
  for (const Path& location : written_locations) {
    Wildcards wildcards;
    context.wildcards = &wildcards;
    bool needs_data = false;
    const bool granted = cascades(rules, location, RuleKind::write, context, wildcards, &needs_data);
    if (!granted && !needs_data) return true;
  }
  return false;
}

Status check_write(const Rules& rules, const std::vector<Path>& written_locations, const DataView& old_root,
                   const DataView& new_root, const identity::Identity& auth, double now, Trace* trace) {
  if (auth.admin) return ok_status();
  EvalContext context{.auth = auth_value(auth), .now = now, .root = &old_root, .new_root = &new_root, .trace = trace};
  for (const Path& location : written_locations) {
    if (!may_write(rules, location, context)) return Error{ErrorCode::permission_denied, "Permission denied"};
  }
  return ok_status();
}

}  // namespace backside::rules
