#pragma once
// This node's name in the shared store's leases (docs/cluster.md): random, kept in <data_dir>/node-id so that a
// node restarted on the same data directory (after a crash too) is the same node and takes its leases back at once.
#include <string>

#include "util/result.h"

namespace backside::app {

Result<std::string> load_or_create_node_id(const std::string& data_dir);

}  // namespace backside::app
