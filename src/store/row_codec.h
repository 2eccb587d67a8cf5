#pragma once
// Internal to the store module: the bytes of a row value, and a printable form of row keys for error messages.
//
// Row value layout:
//   byte 0    row kind: 0x01 false, 0x02 true, 0x03 number, 0x04 string, 0x05 object priority
//   byte 1    priority kind: 0x00 none, 0x01 number, 0x02 string
//   then      the priority: number = 8 bytes (IEEE-754 binary64, little-endian);
//                           string = 4-byte little-endian length, then the bytes
//   then      the leaf: number = 8 bytes as above; string = all remaining bytes; false/true/object priority: none
// An object-priority row (an object's own priority; its children are rows of their own) must carry a priority.
// Anything else — unknown kinds, missing or trailing bytes — is reported as corrupt.
#include <optional>
#include <string>
#include <string_view>

#include "tree/node.h"
#include "util/result.h"

namespace backside::store {

struct Row {
  std::optional<tree::Node::Leaf> leaf;  // nullopt for an object-priority row
  std::optional<tree::Priority> priority;
};

std::string encode_leaf_row(const tree::Node::Leaf& leaf, const std::optional<tree::Priority>& priority);
std::string encode_object_priority_row(const tree::Priority& priority);
// Error{internal} with the reason if `bytes` is not a well-formed row value.
Result<Row> decode_row(std::string_view bytes);

// An encoded path as "/a/b" for messages, with bytes that are not printable ASCII escaped as \xNN.
std::string describe_key(std::string_view key);

}  // namespace backside::store
