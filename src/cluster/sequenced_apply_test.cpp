#include "cluster/sequenced_apply.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tree/json_codec.h"

namespace backside::cluster {
namespace {

// A batch that sets /n to `value`, so that each sequence's batch is told apart by its row.
store::WriteBatch batch_setting(int value) {
  store::WriteBatch batch;
  batch.replace_subtree(tree::Path::parse("/n").value(), tree::Node(tree::Node::Leaf(double(value))));
  return batch;
}

// The committed history the owner's store holds: batch i sets /n to i. `first` is the oldest kept (trimming).
struct History {
  std::uint64_t last = 0;
  std::uint64_t first = 1;
  bool reachable = true;
  int reads = 0;

  ChangeLog log() {
    return [this](std::uint64_t after, std::size_t max) -> Result<std::vector<store::SequencedBatch>> {
      ++reads;
      if (!reachable) return Error{ErrorCode::unavailable, "PostgreSQL is down"};
      if (after + 1 < first && after < last) return Error{ErrorCode::not_found, "trimmed: load a snapshot"};
      std::vector<store::SequencedBatch> batches;
      for (std::uint64_t s = after + 1; s <= last && batches.size() < max; ++s) {
        batches.push_back({s, batch_setting(static_cast<int>(s))});
      }
      return batches;
    };
  }
};

struct Replica {
  std::vector<std::uint64_t> applied;
  ApplyBatch apply() {
    return [this](std::uint64_t sequence, const store::WriteBatch& batch) {
      // Each batch is the one of its sequence, applied once, in order.
      EXPECT_EQ(batch.ops().back().value, batch_setting(static_cast<int>(sequence)).ops().back().value);
      applied.push_back(sequence);
    };
  }
};

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = from; s <= to; ++s) out.push_back(s);
  return out;
}

TEST(SequencedApply, AppliesInOrderDropsDuplicatesAndFillsGapsFromTheLog) {
  History history;
  history.last = 5;
  Replica replica;
  SequencedApply apply(0, history.log(), replica.apply(), {.read_batches = 2});
  ASSERT_TRUE(apply.receive(1, batch_setting(1)).ok());
  ASSERT_TRUE(apply.receive(2, batch_setting(2)).ok());
  ASSERT_TRUE(apply.receive(2, batch_setting(2)).ok());  // redelivered
  EXPECT_EQ(history.reads, 0);  // no gap, no reads
  // 3 never arrives: 4 shows the gap, and the log fills it (and brings 5, already committed), two per read.
  ASSERT_TRUE(apply.receive(4, batch_setting(4)).ok());
  EXPECT_EQ(replica.applied, range(1, 5));
  EXPECT_EQ(apply.applied(), 5u);
  EXPECT_EQ(apply.held(), 0u);
  // The late ones are duplicates now.
  ASSERT_TRUE(apply.receive(3, batch_setting(3)).ok());
  ASSERT_TRUE(apply.receive(5, batch_setting(5)).ok());
  EXPECT_EQ(replica.applied, range(1, 5));
}

TEST(SequencedApply, WhileTheLogIsUnreachableNothingIsAppliedOutOfOrder) {
  History history;
  history.last = 4;
  Replica replica;
  SequencedApply apply(1, history.log(), replica.apply());
  history.reachable = false;
  Status refused = apply.receive(3, batch_setting(3));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  ASSERT_FALSE(apply.receive(4, batch_setting(4)).ok());
  EXPECT_TRUE(replica.applied.empty());
  EXPECT_EQ(apply.held(), 2u);
  // 2 arrives late: it and the held ones go in, in order, without the log.
  ASSERT_TRUE(apply.receive(2, batch_setting(2)).ok());
  EXPECT_EQ(replica.applied, range(2, 4));
  // The log back: a catch-up (after a reconnect) finds what was committed meanwhile.
  history.reachable = true;
  history.last = 6;
  ASSERT_TRUE(apply.catch_up().ok());
  EXPECT_EQ(replica.applied, range(2, 6));
}

TEST(SequencedApply, TooFarBehindAsksForASnapshotAndContinuesFromIt) {
  History history;
  history.last = 20;
  history.first = 15;  // 2 to 14 were trimmed
  Replica replica;
  SequencedApply apply(1, history.log(), replica.apply());
  Status behind = apply.receive(21, batch_setting(21));
  ASSERT_FALSE(behind.ok());
  EXPECT_EQ(behind.error().code, ErrorCode::not_found);
  EXPECT_TRUE(replica.applied.empty());
  history.last = 21;
  // The caller reloads the snapshot at 20, then continues: the held 21 follows it.
  apply.restart(20);
  EXPECT_EQ(replica.applied, std::vector<std::uint64_t>{21});
  EXPECT_EQ(apply.applied(), 21u);
}

TEST(SequencedApply, HoldsABoundedNumberOfBatchesAheadOfAGap) {
  History history;
  Replica replica;
  SequencedApply apply(0, history.log(), replica.apply(), {.max_held = 3});
  history.reachable = false;
  for (int s = 2; s <= 10; ++s) EXPECT_FALSE(apply.receive(s, batch_setting(s)).ok());
  EXPECT_EQ(apply.held(), 3u);
  history.reachable = true;
  history.last = 10;
  ASSERT_TRUE(apply.receive(1, batch_setting(1)).ok());
  ASSERT_TRUE(apply.catch_up().ok());
  EXPECT_EQ(replica.applied, range(1, 10));
}

}  // namespace
}  // namespace backside::cluster
