// The owner's side and a replica's side together: commits to the PostgreSQL store, published on the in-process
// broker with some batches lost on the way, applied by a replica in sequence order from the broker and the change
// log (src/store/postgresql_test_server.h starts the PostgreSQL).
#include <boost/json/parse.hpp>

#include <random>
#include <string>
#include <vector>

#include "cluster/in_process_broker.h"
#include "cluster/sequenced_apply.h"
#include "gtest/gtest.h"
#include "store/postgresql_store.h"
#include "store/postgresql_test_server.h"
#include "tree/json_codec.h"

namespace backside::cluster {
namespace {

TEST(SequencedApplyOnPostgresql, AReplicaGetsEveryCommittedBatchInOrderThoughTheBrokerLostSome) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = "replica-" + std::to_string(std::random_device{}());
  auto owner = store::open_postgresql_store({.url = url, .database = database, .node_id = "owner"});
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  ASSERT_TRUE((*owner)->load().ok());

  InProcessBroker broker;
  std::vector<std::pair<std::uint64_t, std::string>> applied;  // sequence, first row key of the batch
  SequencedApply replica(
      0, [&](std::uint64_t after, std::size_t max) { return (*owner)->changes_since(after, max); },
      [&](std::uint64_t sequence, const store::WriteBatch& batch) {
        applied.emplace_back(sequence, batch.ops().front().key);
      });
  std::vector<Status> received;
  auto subscription = broker.subscribe(database, [&](const PublishedBatchPtr& published) {
    received.push_back(replica.receive(published->sequence, published->batch));
  });

  std::vector<std::pair<std::uint64_t, std::string>> committed;
  for (int i = 1; i <= 8; ++i) {
    store::WriteBatch batch;
    batch.replace_subtree(tree::Path::parse("/k" + std::to_string(i)).value(),
                          tree::from_json(boost::json::parse(std::to_string(i))).value());
    auto sequence = (*owner)->commit(batch);
    ASSERT_TRUE(sequence.ok()) << sequence.error().message;
    committed.emplace_back(*sequence, batch.ops().front().key);
    // Batches 3, 4 and 8 never reach the replica through the broker.
    if (i == 3 || i == 4 || i == 8) continue;
    ASSERT_TRUE(broker.publish(std::make_shared<const PublishedBatch>(PublishedBatch{database, *sequence, batch})).ok());
  }
  for (const Status& status : received) EXPECT_TRUE(status.ok()) << status.error().message;
  // Up to 7 from the broker (3 and 4 read from the log at the gap); 8 is found by a catch-up (a timer, a reconnect).
  EXPECT_EQ(replica.applied(), 7u);
  ASSERT_TRUE(replica.catch_up().ok());
  EXPECT_EQ(applied, committed);
}

}  // namespace
}  // namespace backside::cluster
