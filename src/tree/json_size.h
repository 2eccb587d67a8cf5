#pragma once
// The size of a node's JSON without rendering it: what a write's size limit (REST writeSizeLimit) weighs the data
// a write replaces or removes by.
#include <cstddef>

#include "tree/node.h"

namespace backside::tree {

// The bytes of `node`'s compact export-format JSON (to_json(node, {.format = Format::export_}).size(); null is 0,
// as there is no data). Counting stops once it is past `stop_above`, and then some number above `stop_above` is
// returned: weighing a subtree against a bound costs at most the bound's worth of walking, whatever its size.
std::size_t export_json_size(const Node& node, std::size_t stop_above);

}  // namespace backside::tree
