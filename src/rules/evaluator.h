#pragma once
// Evaluates a compiled rule against the data of one request. Runtime errors (null member
// access, wrong types, a missing parent) make the rule false; only a boolean `true` grants.
#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>

#include "rules/data_view.h"
#include "rules/rules.h"

namespace backside::rules {

struct EvalContext {
  const boost::json::value* auth = nullptr;  // null, or {uid, provider, token}
  double now = 0;
  const DataView* root = nullptr;      // the data before the request (`root`, `data`)
  const DataView* new_root = nullptr;  // the data after the write (`newData`); null for reads
  tree::Path path;                       // the location of the rule node being evaluated
  const std::vector<std::pair<std::string, std::string>>* wildcards = nullptr;  // $name -> key, outermost first
  const QueryInfo* query = nullptr;
  Trace* trace = nullptr;  // where the callers in access.cpp record each rule (null: not traced)
};

bool evaluate(const Rule& rule, const EvalContext& context);

// The same, telling an error apart from false: `error`, when given, receives why the expression could not be
// evaluated (only then is the message built).
enum class Verdict { allow, deny, error };
Verdict evaluate_rule(const Rule& rule, const EvalContext& context, std::string* error);


}  // namespace backside::rules
