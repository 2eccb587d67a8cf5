#pragma once
// REST query parameters (docs/rest.md; STOMP's query headers map onto them) -> a core Query.
#include <map>
#include <optional>
#include <string>

#include "tree/query.h"
#include "util/result.h"

namespace backside::tree {

// Firebase's REST API refuses filters without orderBy, and an orderBy or bound that is not JSON. These read such
// parameters instead (REST shallow reads, as the Firebase Emulator UI sends them).
struct QueryParamsOptions {
  // Filters without orderBy use the default order: by priority, then key (what the SDK's limitToFirst(n) means).
  bool default_order = false;
  // A value that is not JSON is taken as text: an orderBy as a child path (orderBy=age as orderByChild("age")), a
  // bound as a string (startAt=chest as startAt("chest")).
  bool text_values = false;
};

// `params` holds the decoded query parameters. Returns nullopt when no ordering/filtering was asked for.
Result<std::optional<Query>> parse_query_params(const std::map<std::string, std::string>& params,
                                                const QueryParamsOptions& options = {});

}  // namespace backside::tree
