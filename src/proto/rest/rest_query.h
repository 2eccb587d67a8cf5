#pragma once
// REST query parameters (reference §5.2) -> a core Query.
#include <map>
#include <optional>
#include <string>

#include "tree/query.h"
#include "util/result.h"

namespace backside::proto::rest {

// `params` holds the decoded query parameters. Returns nullopt when no ordering/filtering was asked for.
Result<std::optional<tree::Query>> parse_rest_query(const std::map<std::string, std::string>& params);

}  // namespace backside::proto::rest
