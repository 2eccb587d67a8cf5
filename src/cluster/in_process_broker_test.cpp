#include "cluster/in_process_broker.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace backside::cluster {
namespace {

PublishedBatchPtr batch(const std::string& database, std::uint64_t sequence) {
  return std::make_shared<const PublishedBatch>(PublishedBatch{database, sequence, {}});
}

TEST(InProcessBroker, DeliversEachDatabasesBatchesInPublishOrderToItsSubscribers) {
  InProcessBroker broker;
  std::vector<std::string> seen;
  auto record = [&](const std::string& who) {
    return [&seen, who](const PublishedBatchPtr& b) { seen.push_back(who + ":" + b->database + std::to_string(b->sequence)); };
  };
  auto first = broker.subscribe("a", record("first"));
  auto second = broker.subscribe("a", record("second"));
  auto other = broker.subscribe("b", record("other"));
  ASSERT_TRUE(broker.publish(batch("a", 1)).ok());
  ASSERT_TRUE(broker.publish(batch("b", 1)).ok());
  ASSERT_TRUE(broker.publish(batch("a", 2)).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"first:a1", "second:a1", "other:b1", "first:a2", "second:a2"}));

  // An ended subscription gets nothing more; a handler may end its own subscription while it runs.
  seen.clear();
  second.reset();
  std::unique_ptr<Subscription> once;
  once = broker.subscribe("a", [&](const PublishedBatchPtr& b) {
    seen.push_back("once:a" + std::to_string(b->sequence));
    once.reset();
  });
  ASSERT_TRUE(broker.publish(batch("a", 3)).ok());
  ASSERT_TRUE(broker.publish(batch("a", 4)).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"first:a3", "once:a3", "first:a4"}));
}

}  // namespace
}  // namespace backside::cluster
