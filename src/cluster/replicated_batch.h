#pragma once
// A replica's view of a committed batch (docs/cluster.md): the owner's batch is rows (store::WriteBatch: range
// deletes, puts, exact deletes, in the order the owner's writes staged them), and a replica turns it back into
// tree changes so that its own tree follows the owner's and its listeners get the events the owner's got.
//
// Each range delete starts a location: the subtree at its key is replaced by the value the puts right after it
// (the rows under that key) describe. Other rows are an ancestor's own priority row (rewritten when a write below
// it changes whether it is a leaf) or its removal; they change the tree only if the priority differs.
#include <functional>

#include "store/store.h"
#include "tree/node.h"
#include "util/result.h"

namespace backside::cluster {

// Called once per location the batch replaced, after `root` holds its new value, with what was there before.
using LocationApplied = std::function<void(const tree::Path& path, tree::Node&& old_value)>;

// Applies `batch` to `root`, in order. Error{internal} for a row that cannot be decoded; the locations applied
// before it stay applied (the caller reloads a snapshot).
Status apply_batch(const store::WriteBatch& batch, tree::Node& root, const LocationApplied& applied);

}  // namespace backside::cluster
