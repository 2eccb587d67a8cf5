#pragma once
// The Firebase SDK's node hash (what a listen's `h` and a REST ETag carry): base64(SHA-1(canonical string)), "" for
// null.
#include <string>

#include "tree/node.h"

namespace backside::tree {

std::string node_hash(const Node& node);

}  // namespace backside::tree
