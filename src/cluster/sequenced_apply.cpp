#include "cluster/sequenced_apply.h"

#include <utility>

namespace backside::cluster {

SequencedApply::SequencedApply(std::uint64_t applied, ChangeLog change_log, ApplyBatch apply,
                               SequencedApplyOptions options)
    : applied_(applied), change_log_(std::move(change_log)), apply_(std::move(apply)), options_(options) {}

Status SequencedApply::receive(std::uint64_t sequence, const store::WriteBatch& batch) {
  if (sequence <= applied_) return ok_status();  // a duplicate (redelivered, or already read from the log)
  if (sequence == applied_ + 1) {
    apply_(sequence, batch);
    applied_ = sequence;
    apply_held();
    return ok_status();
  }
  // A gap: hold this one (bounded: the log has it too) and read what is missing.
  if (held_.size() < options_.max_held) held_.emplace(sequence, batch);
  return catch_up();
}

Status SequencedApply::catch_up() {
  for (;;) {
    apply_held();
    auto batches = change_log_(applied_, options_.read_batches);
    if (!batches) return batches.error();
    const std::uint64_t before = applied_;
    for (store::SequencedBatch& next : *batches) {
      if (next.sequence <= applied_) continue;
      if (next.sequence != applied_ + 1) {
        return Error{ErrorCode::internal, "the change log skipped from sequence " + std::to_string(applied_) +
                                              " to " + std::to_string(next.sequence)};
      }
      apply_(next.sequence, next.batch);
      applied_ = next.sequence;
      held_.erase(next.sequence);
    }
    if (applied_ == before) return ok_status();  // the log holds nothing newer
  }
}

void SequencedApply::restart(std::uint64_t applied) {
  applied_ = applied;
  held_.erase(held_.begin(), held_.upper_bound(applied));
  apply_held();
}

void SequencedApply::apply_held() {
  held_.erase(held_.begin(), held_.upper_bound(applied_));
  for (auto it = held_.begin(); it != held_.end() && it->first == applied_ + 1; it = held_.erase(it)) {
    apply_(it->first, it->second);
    applied_ = it->first;
  }
}

}  // namespace backside::cluster
