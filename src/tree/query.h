#pragma once
// Query evaluation: an index, a [start, end] window and an optional limit over the
// children of a node.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tree/node.h"
#include "util/result.h"

namespace backside::tree {

struct Query {
  enum class Index { priority, key, value, child };
  Index index = Index::priority;
  Path child_path;  // for Index::child

  // A bound: an index value (JSON primitive, as a leaf Node or null) plus an optional key name.
  struct Bound {
    Node value;                // null node = null
    std::optional<std::string> name;  // absent = MIN_NAME for start, MAX_NAME for end
    bool inclusive = true;
  };
  std::optional<Bound> start;
  std::optional<Bound> end;
  std::optional<std::size_t> limit;
  bool limit_from_last = false;  // limitToLast

  // Whether this query selects every child (no bounds, no limit): then it is a plain listen.
  bool loads_all_data() const { return !start && !end && !limit; }

  // Checks what the SDK checks: key-index bounds are strings, priority-index bounds are not booleans, the limit
  // is positive, a child index has a non-empty path. For front doors that build queries themselves.
  Status validate() const;

  // The Firebase wire query object `q` <-> Query. Errors are specific.
  static Result<Query> from_wire(const boost::json::object& q);
  boost::json::object to_wire() const;
  // A canonical string identifying the query (equal queries give equal strings); "" for loads_all_data with
  // the default index.
  std::string identifier() const;
};

// The keys of the children of `node` that the query selects, in index order.
std::vector<std::string> evaluate_keys(const Node& node, const Query& query);
// The selected children as a node (object of full child subtrees with priorities; no top-level priority).
Node evaluate(const Node& node, const Query& query);
// Compares two children (key, node) by the query's index, ties by key. <0, 0, >0.
int compare_by_index(const Query& query, std::string_view key_a, const Node* a, std::string_view key_b,
                     const Node* b);

}  // namespace backside::tree
