#pragma once
// The Firebase SDK's node hash (what a listen's `h` and a REST ETag carry): base64(SHA-1(canonical string)), "" for
// null.
#include <string>

#include "tree/node.h"

namespace backside::tree {

std::string node_hash(const Node& node);

// base64(SHA-1(text)): the node hash's last step, and a WebSocket handshake's Sec-WebSocket-Accept.
std::string base64_sha1(const std::string& text);

}  // namespace backside::tree
