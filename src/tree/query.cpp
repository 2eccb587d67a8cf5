#include "tree/query.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tree/json_codec.h"

namespace backside::tree {
namespace json = boost::json;
namespace {

// A wire bound's value: a JSON primitive as a node.
Result<Node> bound_value_from_json(const json::value& value, std::string_view field) {
  switch (value.kind()) {
    case json::kind::null: return Node();
    case json::kind::bool_: return Node(Node::Leaf(value.get_bool()));
    case json::kind::string: return Node(Node::Leaf(std::string(value.get_string())));
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return Node(Node::Leaf(value.to_number<double>()));
    default:
      return invalid("Invalid query: \"" + std::string(field) + "\" must be null, a boolean, a number or a string");
  }
}

Result<std::optional<Query::Bound>> bound_from_wire(const json::object& q, std::string_view value_field,
                                                    std::string_view name_field, std::string_view inclusive_field) {
  const json::value* value = q.if_contains(value_field);
  const json::value* name = q.if_contains(name_field);
  const json::value* inclusive = q.if_contains(inclusive_field);
  if (value == nullptr) {
    if (name != nullptr || inclusive != nullptr) {
      return invalid("Invalid query: \"" + std::string(name_field) + "\" and \"" + std::string(inclusive_field) +
                     "\" need \"" + std::string(value_field) + "\"");
    }
    return std::optional<Query::Bound>();
  }
  Query::Bound bound;
  Result<Node> node = bound_value_from_json(*value, value_field);
  if (!node) return node.error();
  bound.value = std::move(*node);
  if (name != nullptr) {
    if (!name->is_string()) return invalid("Invalid query: \"" + std::string(name_field) + "\" must be a string");
    bound.name = std::string(name->get_string());
  }
  if (inclusive != nullptr) {
    if (!inclusive->is_bool()) {
      return invalid("Invalid query: \"" + std::string(inclusive_field) + "\" must be a boolean");
    }
    bound.inclusive = inclusive->get_bool();
  }
  return std::optional<Query::Bound>(std::move(bound));
}

// A positive integer limit, or nullopt.
std::optional<std::size_t> limit_from_json(const json::value& value) {
  if (value.is_int64() && value.get_int64() > 0) return static_cast<std::size_t>(value.get_int64());
  if (value.is_uint64() && value.get_uint64() > 0) return static_cast<std::size_t>(value.get_uint64());
  if (value.is_double()) {
    const double number = value.get_double();
    if (number >= 1 && number <= 9007199254740992.0 && std::trunc(number) == number) {
      return static_cast<std::size_t>(number);
    }
  }
  return std::nullopt;
}

// A priority-index bound's value as a priority (anything but a number or string means "no priority").
std::optional<Priority> bound_priority(const Node& value) {
  const Node::Leaf* leaf = value.leaf_value();
  if (leaf == nullptr) return std::nullopt;
  if (const double* number = std::get_if<double>(leaf)) return Priority(*number);
  if (const std::string* text = std::get_if<std::string>(leaf)) return Priority(*text);
  return std::nullopt;
}

void append_primitive(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::bool_: out += value.get_bool() ? "true" : "false"; break;
    case json::kind::string: append_string(out, value.get_string()); break;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: append_number(out, value.to_number<double>()); break;
    default: out += "null";  // to_wire produces nothing else
  }
}

// The node the index reads: the child itself for the priority (its priority) and value indexes, the node at the
// child path for the child index. May be null (missing sorts as null / no priority).
const Node* indexed_node(const Query& query, const Node* node) {
  if (node == nullptr || query.index != Query::Index::child) return node;
  return node->find(query.child_path);
}

// Compares two indexed nodes (see indexed_node) by a non-key index, without the key tiebreak.
int compare_indexed(Query::Index index, const Node* a, const Node* b) {
  static const std::optional<Priority> kNone;
  if (index == Query::Index::priority) {
    return compare_priorities(a == nullptr ? kNone : a->priority(), b == nullptr ? kNone : b->priority());
  }
  return compare_values(a, b);
}

// A child and the node its index reads, found once rather than at every comparison.
struct Candidate {
  const Children::value_type* entry;
  const Node* indexed;
};

// A query's order and window over the children of a node.
class Selector {
 public:
  explicit Selector(const Query& query) : query_(query) {
    // Priority-index bounds compare as priorities: carry them on a node, as the SDK's priority posts do.
    if (query.index == Query::Index::priority) {
      if (query.start) start_post_.set_priority(bound_priority(query.start->value));
      if (query.end) end_post_.set_priority(bound_priority(query.end->value));
    }
  }

  // The selected children, in index order.
  std::vector<Candidate> select(const Children& children) const {
    if (query_.index == Query::Index::key) return select_by_key(children);
    std::vector<Candidate> selected;
    for (const auto& entry : children) {
      const Candidate candidate{&entry, indexed_node(query_, entry.second.get())};
      if (after_start(candidate) && before_end(candidate)) selected.push_back(candidate);
    }
    sort_and_limit(selected);
    return selected;
  }

 private:
  // The map is in key order: find the range by binary search and take the limit from the proper end, so that
  // orderByKey().limitToLast(n) costs O(log size + n).
  std::vector<Candidate> select_by_key(const Children& children) const {
    auto first = children.begin();
    auto last = children.end();
    if (const std::string* start = query_.start ? bound_key(*query_.start) : nullptr) {
      first = query_.start->inclusive ? children.lower_bound(*start) : children.upper_bound(*start);
    }
    if (const std::string* end = query_.end ? bound_key(*query_.end) : nullptr) {
      last = query_.end->inclusive ? children.upper_bound(*end) : children.lower_bound(*end);
    }
    std::vector<Candidate> selected;
    if (first == children.end() || (last != children.end() && compare_keys(first->first, last->first) > 0)) {
      return selected;  // the start is past the end
    }
    const std::size_t limit = query_.limit.value_or(children.size());
    if (query_.limit_from_last) {
      for (auto it = last; it != first && selected.size() < limit;) selected.push_back({&*--it, nullptr});
      std::reverse(selected.begin(), selected.end());
    } else {
      for (auto it = first; it != last && selected.size() < limit; ++it) selected.push_back({&*it, nullptr});
    }
    return selected;
  }

  bool after_start(const Candidate& candidate) const {
    if (!query_.start) return true;
    const int result = compare_to_bound(candidate, *query_.start, start_post_, kMinName);
    return result > 0 || (result == 0 && query_.start->inclusive);
  }

  bool before_end(const Candidate& candidate) const {
    if (!query_.end) return true;
    const int result = compare_to_bound(candidate, *query_.end, end_post_, kMaxName);
    return result < 0 || (result == 0 && query_.end->inclusive);
  }

  // With the key index a bound is a key: its value when that is a string (validate() ensures it).
  static const std::string* bound_key(const Query::Bound& bound) {
    const Node::Leaf* leaf = bound.value.leaf_value();
    return leaf == nullptr ? nullptr : std::get_if<std::string>(leaf);
  }

  int compare_to_bound(const Candidate& candidate, const Query::Bound& bound, const Node& priority_post,
                       std::string_view default_name) const {
    const Node* bound_node = query_.index == Query::Index::priority ? &priority_post : &bound.value;
    const int result = compare_indexed(query_.index, candidate.indexed, bound_node);
    if (result != 0) return result;
    return compare_keys(candidate.entry->first, bound.name ? std::string_view(*bound.name) : default_name);
  }

  // Sorts `selected` in index order and keeps the first (or, limitToLast, the last) `limit` entries; only the
  // kept ones are fully sorted.
  void sort_and_limit(std::vector<Candidate>& selected) const {
    const Query::Index index = query_.index;
    const auto less = [index](const Candidate& a, const Candidate& b) {
      const int result = compare_indexed(index, a.indexed, b.indexed);
      return result != 0 ? result < 0 : compare_keys(a.entry->first, b.entry->first) < 0;
    };
    if (!query_.limit || *query_.limit >= selected.size()) {
      std::sort(selected.begin(), selected.end(), less);
      return;
    }
    const auto limit = static_cast<std::ptrdiff_t>(*query_.limit);
    if (query_.limit_from_last) {
      std::partial_sort(selected.begin(), selected.begin() + limit, selected.end(),
                        [&](const Candidate& a, const Candidate& b) { return less(b, a); });
      std::reverse(selected.begin(), selected.begin() + limit);
    } else {
      std::partial_sort(selected.begin(), selected.begin() + limit, selected.end(), less);
    }
    selected.resize(*query_.limit);
  }

  const Query& query_;
  // Placeholder leaves carrying the priority-index bounds' priorities.
  Node start_post_ = Node::leaf(false);
  Node end_post_ = Node::leaf(false);
};

}  // namespace

int compare_by_index(const Query& query, std::string_view key_a, const Node* a, std::string_view key_b, const Node* b) {
  if (query.index == Query::Index::key) return compare_keys(key_a, key_b);
  const int result = compare_indexed(query.index, indexed_node(query, a), indexed_node(query, b));
  return result != 0 ? result : compare_keys(key_a, key_b);
}

Status Query::validate() const {
  if (index == Index::child && child_path.empty()) return invalid("Invalid query: orderByChild needs a non-empty path");
  for (const std::optional<Bound>* bound : {&start, &end}) {
    if (!*bound) continue;
    const Node::Leaf* leaf = (*bound)->value.leaf_value();
    if (index == Index::key && (leaf == nullptr || !std::holds_alternative<std::string>(*leaf))) {
      return invalid("Invalid query: with orderByKey, bounds must be strings");
    }
    if (index == Index::priority && leaf != nullptr && std::holds_alternative<bool>(*leaf)) {
      return invalid("Invalid query: with orderByPriority, bounds must be null, numbers or strings");
    }
  }
  if (limit && *limit == 0) return invalid("Invalid query: the limit must be a positive integer");
  return ok_status();
}

Result<Query> Query::from_wire(const json::object& q) {
  Query query;
  if (const json::value* index = q.if_contains("i")) {
    if (!index->is_string()) return invalid("Invalid query: \"i\" must be a string");
    const std::string_view name = index->get_string();
    if (name == ".key") {
      query.index = Index::key;
    } else if (name == ".value") {
      query.index = Index::value;
    } else if (name != ".priority") {
      Result<Path> path = Path::parse(name);
      if (!path) return invalid("Invalid query index: " + path.error().message);
      query.index = Index::child;
      query.child_path = std::move(*path);
    }
  }
  Result<std::optional<Bound>> start = bound_from_wire(q, "sp", "sn", "sin");
  if (!start) return start.error();
  query.start = std::move(*start);
  Result<std::optional<Bound>> end = bound_from_wire(q, "ep", "en", "ein");
  if (!end) return end.error();
  query.end = std::move(*end);
  if (const json::value* limit = q.if_contains("l")) {
    query.limit = limit_from_json(*limit);
    if (!query.limit) return invalid("Invalid query: \"l\" must be a positive integer");
    // Without "vf" the SDK reads from the left when a start is set, else from the right.
    query.limit_from_last = !query.start;
    if (const json::value* view_from = q.if_contains("vf")) {
      if (!view_from->is_string() || (view_from->get_string() != "l" && view_from->get_string() != "r")) {
        return invalid("Invalid query: \"vf\" must be \"l\" or \"r\"");
      }
      query.limit_from_last = view_from->get_string() == "r";
    }
  }
  if (Status status = query.validate(); !status) return status.error();
  return query;
}

json::object Query::to_wire() const {
  json::object q;
  if (start) {
    q["sp"] = to_json_value(start->value, Format::plain);
    if (start->name) q["sn"] = *start->name;
    q["sin"] = start->inclusive;
  }
  if (end) {
    q["ep"] = to_json_value(end->value, Format::plain);
    if (end->name) q["en"] = *end->name;
    q["ein"] = end->inclusive;
  }
  if (limit) {
    q["l"] = static_cast<std::int64_t>(*limit);
    q["vf"] = limit_from_last ? "r" : "l";
  }
  switch (index) {
    case Index::priority: break;
    case Index::key: q["i"] = ".key"; break;
    case Index::value: q["i"] = ".value"; break;
    case Index::child: q["i"] = child_path.to_string().substr(1); break;
  }
  return q;
}

std::string Query::identifier() const {
  if (loads_all_data() && index == Index::priority) return "";
  // As the SDK's ObjectToUniqueKey: members sorted by key (all ASCII here), values as JSON.stringify.
  const json::object q = to_wire();
  std::vector<const json::key_value_pair*> members;
  for (const json::key_value_pair& member : q) members.push_back(&member);
  std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return a->key() < b->key(); });
  std::string out = "{";
  for (const json::key_value_pair* member : members) {
    if (out.size() > 1) out += ',';
    append_string(out, member->key());
    out += ':';
    append_primitive(out, member->value());
  }
  out += '}';
  return out;
}

std::vector<std::string> evaluate_keys(const Node& node, const Query& query) {
  std::vector<std::string> keys;
  const Children* children = node.children();
  if (children == nullptr) return keys;
  const std::vector<Candidate> selected = Selector(query).select(*children);
  keys.reserve(selected.size());
  for (const Candidate& candidate : selected) keys.push_back(candidate.entry->first);
  return keys;
}

Node evaluate(const Node& node, const Query& query) {
  const Children* children = node.children();
  if (children == nullptr) return {};
  Children result;
  for (const Candidate& candidate : Selector(query).select(*children)) {
    result.emplace(candidate.entry->first, std::make_unique<Node>(*candidate.entry->second));
  }
  return Node(std::move(result));
}

}  // namespace backside::tree
