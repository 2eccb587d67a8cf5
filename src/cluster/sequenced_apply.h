#pragma once
// A replica's side of fan-out (docs/cluster.md): applies one database's committed batches strictly in sequence
// order, whatever order the broker brings them in. A batch already applied is dropped (a duplicate); one ahead of
// the next expected is held while the missing ones are read from the change log (Store::changes_since), then
// everything that follows is applied in order. When the change log no longer holds what is missing, the replica
// is too far behind: receive() and catch_up() say so (ErrorCode::not_found) and the caller reloads a snapshot.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "store/store.h"
#include "util/result.h"

namespace backside::cluster {

// Reads the committed batches after a sequence (Store::changes_since of the shared store).
using ChangeLog = std::function<Result<std::vector<store::SequencedBatch>>(std::uint64_t after, std::size_t max)>;
// Applies one batch to the replica; called in sequence order, each sequence once.
using ApplyBatch = std::function<void(std::uint64_t sequence, const store::WriteBatch& batch)>;

struct SequencedApplyOptions {
  std::size_t max_held = 1024;     // batches ahead of a gap held in memory; past it they are read back from the log
  std::size_t read_batches = 500;  // batches read from the change log per call
};

class SequencedApply {
 public:
  // `applied`: the sequence of the snapshot the replica starts from.
  SequencedApply(std::uint64_t applied, ChangeLog change_log, ApplyBatch apply, SequencedApplyOptions options = {});

  // A batch from the broker. Errors come from the catch-up a gap starts (unavailable: try again later; not_found:
  // reload a snapshot, then restart(); either way nothing was applied out of order).
  Status receive(std::uint64_t sequence, const store::WriteBatch& batch);
  // Applies everything committed after applied() (a reconnect, a restart, a timer that finds the replica idle).
  Status catch_up();
  // After a snapshot reload: continue from its sequence, keeping held batches that come after it.
  void restart(std::uint64_t applied);
  std::uint64_t applied() const { return applied_; }
  std::size_t held() const { return held_.size(); }

 private:
  // Applies held batches that continue the sequence.
  void apply_held();

  std::uint64_t applied_;
  ChangeLog change_log_;
  ApplyBatch apply_;
  SequencedApplyOptions options_;
  std::map<std::uint64_t, store::WriteBatch> held_;  // ahead of a gap, by sequence
};

}  // namespace backside::cluster
