#pragma once
// The broker between nodes (docs/cluster.md): a database's owner publishes each committed batch with its sequence
// after COMMIT; every node subscribed to the database receives the batches in the order they were published. One
// node uses InProcessBroker; a cluster will use RabbitMQ behind the same interface.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace backside::cluster {

struct PublishedBatch {
  std::string database;
  std::uint64_t sequence = 0;
  store::WriteBatch batch;
};
using PublishedBatchPtr = std::shared_ptr<const PublishedBatch>;
using BatchHandler = std::function<void(const PublishedBatchPtr&)>;

// Ends its subscription when destroyed: no delivery starts after the destructor returns.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Called by the database's owner, after COMMIT, in sequence order. An error means the batch may not have reached
  // every node: they find the gap and catch up from the change log.
  virtual Status publish(PublishedBatchPtr batch) = 0;
  // Every batch of `database` published after this call, in publish order, goes to `handler`.
  virtual std::unique_ptr<Subscription> subscribe(const std::string& database, BatchHandler handler) = 0;
};

}  // namespace backside::cluster
