#pragma once
// REST query parameters (docs/rest.md; STOMP's query headers map onto them) -> a core Query.
#include <map>
#include <optional>
#include <string>

#include "tree/query.h"
#include "util/result.h"

namespace backside::tree {

// `params` holds the decoded query parameters. Returns nullopt when no ordering/filtering was asked for.
Result<std::optional<Query>> parse_query_params(const std::map<std::string, std::string>& params);

}  // namespace backside::tree
