#pragma once
// The Firebase SDK's node hash (reference §3.3): base64(SHA-1(canonical string)), "" for null.
#include <string>

#include "tree/node.h"

namespace backside::tree {

std::string node_hash(const Node& node);

}  // namespace backside::tree
