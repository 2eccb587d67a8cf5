#include "cluster/replicated_batch.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "store/row_codec.h"
#include "store/tree_builder.h"

namespace backside::cluster {

namespace {

using Op = store::WriteBatch::Op;

// The value the rows `rows` (full keys, all under `path`'s key) describe.
Result<tree::Node> build_value(const tree::Path& path, std::vector<const Op*>& rows) {
  if (rows.empty()) return tree::Node();
  // The owner writes an object's rows in its children's key order (Firebase order: numbers first); the builder
  // takes byte order.
  std::sort(rows.begin(), rows.end(), [](const Op* a, const Op* b) { return a->key < b->key; });
  store::TreeBuilder builder;
  for (const Op* row : rows) {
    if (Status added = builder.add(row->key, row->value); !added) return added.error();
  }
  auto built = builder.finish();
  if (!built) return built.error();
  return built->set(path, tree::Node());  // moves the subtree out
}

// An ancestor's own priority row (or its removal): the tree changes only where the priority differs.
void apply_object_priority(tree::Node& root, const tree::Path& path, const std::optional<tree::Priority>& priority,
                           const LocationApplied& applied) {
  const tree::Node* node = root.find(path);
  if (node == nullptr || !node->has_children() || node->priority() == priority) return;
  tree::Node changed = *node;
  changed.set_priority(priority);
  applied(path, root.set(path, std::move(changed)));
}

}  // namespace

Status apply_batch(const store::WriteBatch& batch, tree::Node& root, const LocationApplied& applied) {
  const std::vector<Op>& ops = batch.ops();
  std::vector<const Op*> rows;
  for (std::size_t i = 0; i < ops.size();) {
    const Op& op = ops[i++];
    const tree::Path path = store::decode_path(op.key);
    switch (op.kind) {
      case Op::Kind::erase_range: {
        rows.clear();
        for (; i < ops.size() && ops[i].kind == Op::Kind::put && std::string_view(ops[i].key).starts_with(op.key);
             ++i) {
          rows.push_back(&ops[i]);
        }
        auto value = build_value(path, rows);
        if (!value) {
          return Error{ErrorCode::internal, "a replicated change at " + path.to_string() + " cannot be read: " +
                                                value.error().message};
        }
        applied(path, root.set(path, std::move(*value)));
        break;
      }
      case Op::Kind::put: {
        auto row = store::decode_row(op.value);
        if (!row) {
          return Error{ErrorCode::internal, "a replicated row at " + path.to_string() + " cannot be read: " +
                                                row.error().message};
        }
        if (row->leaf) {  // the owner stages leaves under a range delete; a lone one is still a location
          applied(path, root.set(path, tree::Node::leaf(std::move(*row->leaf), row->priority)));
        } else {
          apply_object_priority(root, path, row->priority, applied);
        }
        break;
      }
      case Op::Kind::erase_exact:
        apply_object_priority(root, path, std::nullopt, applied);
        break;
    }
  }
  return ok_status();
}

}  // namespace backside::cluster
