#pragma once
// Firebase security rules (docs/security.md): a rules file is parsed, and every expression compiled and type-checked,
// once per load; reads and writes are then checked against the compiled tree.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.h"
#include "rules/data_view.h"
#include "rules/expression.h"
#include "tree/node.h"
#include "tree/path.h"
#include "tree/query.h"
#include "util/result.h"

namespace backside::rules {

// A compiled rule: a constant or an expression.
struct Rule {
  std::optional<bool> constant;
  ExprPtr expression;
  bool reads_new_data = false;  // the expression names `newData`: it cannot be decided before the data is known
  // Where it was written and what, for traces: "/rules/users/$uid/.read" and "auth.uid == $uid" (or true/false).
  std::string rule_path;
  std::string source;
};

// The rules at one level of the rules tree.
struct RuleNode {
  std::optional<Rule> read;
  std::optional<Rule> write;
  std::optional<Rule> validate;
  std::vector<std::string> index_on;
  std::map<std::string, std::unique_ptr<RuleNode>, std::less<>> children;
  std::string wildcard_name;  // "$uid"; empty when the level has no wildcard
  std::unique_ptr<RuleNode> wildcard;
};

class Rules {
 public:
  // Parses a rules file (JSON with // and /* */ comments). Errors name the rule path, line and column.
  static Result<std::shared_ptr<const Rules>> parse(std::string_view text);

  const RuleNode& root() const { return root_; }

  // The `.indexOn` entries of the rule node for `path` (exact keys or wildcards), empty if none.
  const std::vector<std::string>& index_on(const tree::Path& path) const;

 private:
  RuleNode root_;
};

// One rule met while deciding a request: what the console's rules playground shows (console/rules_playground.h).
struct TraceEntry {
  enum class Result {
    allow,    // evaluated to true
    deny,     // evaluated to false
    error,    // could not be evaluated (a member of null, mismatched types...): as false, with `error` saying why
    skipped,  // not evaluated: a rule above already granted (rules cascade), or it needs data not known yet
  };
  std::string rule_path;  // "/rules/users/$uid/.read"
  tree::Path path;        // the data location it was evaluated at ("/users/alice")
  RuleKind kind = RuleKind::read;
  std::string expression;  // the rule's source: the expression, or true/false
  Result result = Result::deny;
  std::string error;  // result == error: why; skipped: why
};

// The rules a request met, in the order they were evaluated. The functions below take a nullable Trace*: null (the
// database's requests) records nothing and costs one test per rule evaluated. Bounded: past kMaxEntries, entries
// are counted in `omitted` and the last one is always the last evaluated (the one that decided).
struct Trace {
  static constexpr std::size_t kMaxEntries = 10000;
  std::vector<TraceEntry> entries;
  std::size_t omitted = 0;

  void add(TraceEntry entry);
  void clear() {
    entries.clear();
    omitted = 0;
  }
};

// ".read", ".write", ".validate"; "allow", "deny", "error", "skipped".
std::string_view kind_name(RuleKind kind);
std::string_view result_name(TraceEntry::Result result);

// The query of a read, as the rules' `query` variable sees it. A missing bound is null.
struct QueryInfo {
  bool order_by_key = false;
  bool order_by_priority = false;
  bool order_by_value = false;
  std::optional<std::string> order_by_child;
  std::optional<tree::Node::Leaf> start_at;
  std::optional<tree::Node::Leaf> end_at;
  std::optional<tree::Node::Leaf> equal_to;
  std::optional<double> limit_to_first;
  std::optional<double> limit_to_last;
};

// The rules' view of a tree query (equalTo when start and end are the same inclusive bound).
QueryInfo query_info(const tree::Query& query);

// May `auth` read `path`? `root` is the current data; `query` is null for a plain read. Admin always may.
// `trace`, when given, receives every rule evaluated (for the playground; the database passes none).
bool can_read(const Rules& rules, const tree::Path& path, const tree::Node& root, const identity::Identity& auth, double now,
              const QueryInfo* query = nullptr, Trace* trace = nullptr);

// May `auth` make a write that changes `written_locations` (one for a set, one per key of a multi-path update),
// turning `old_root` into `new_root`? Every location must pass .write and .validate; otherwise the error is
// permission_denied ("Permission denied") and nothing may be written. Admin always may.
Status check_write(const Rules& rules, const std::vector<tree::Path>& written_locations, const tree::Node& old_root,
                   const tree::Node& new_root, const identity::Identity& auth, double now);
// Whether the .write rules alone already refuse a write at one of `written_locations`, before its data is known:
// true when, at some location, every .write rule on the way down from the root is false and none reads `newData`.
// Then check_write would refuse it too, so the database answers without expanding the data into a tree first (a
// denied client's body costs no more than its bytes). False: the data decides, or the write may be allowed.
// Traced, the .write rules that read `newData` are listed as skipped.
bool write_denied_before_data(const Rules& rules, const std::vector<tree::Path>& written_locations,
                              const DataView& old_root, const identity::Identity& auth, double now,
                              Trace* trace = nullptr);
// The same over views: the database checks a write before applying it, with `new_root` an OverlayView.
Status check_write(const Rules& rules, const std::vector<tree::Path>& written_locations, const DataView& old_root,
                   const DataView& new_root, const identity::Identity& auth, double now, Trace* trace = nullptr);

}  // namespace backside::rules
