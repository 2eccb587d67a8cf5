#pragma once
// The broker between nodes (docs/cluster.md): a database's owner publishes each committed batch with its sequence
// after COMMIT; every node subscribed to the database receives the batches in the order they were published. One
// node uses InProcessBroker; a cluster will use RabbitMQ behind the same interface.
#include <chrono>
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
// Write forwarding: a node holding a replica sends a client's write (encoded: db/forwarded_write.h) to the owner
// and gets the owner's answer back, or why none came (the owner is unreachable, or did not answer in time).
using ForwardReply = std::function<void(Result<std::string> answer)>;
using WriteServer = std::function<void(std::string request, std::function<void(std::string answer)> answer)>;

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

  // The owner of `database` takes the writes other nodes forward to it; `server` answers each exactly once (on any
  // thread). Ends when the returned handle is destroyed.
  virtual std::unique_ptr<Subscription> serve_writes(const std::string& /*database*/, WriteServer /*server*/) {
    return nullptr;
  }
  // Sends `request` to the owner of `database`; `reply` runs once (on a broker thread), with the owner's answer or
  // an unavailable error after `timeout`. Requests from one node reach the owner in the order they were sent.
  virtual void forward_write(const std::string& database, std::string /*request*/, std::chrono::milliseconds /*timeout*/,
                             ForwardReply reply) {
    reply(Error{ErrorCode::unavailable, "this broker cannot forward writes to the owner of " + database});
  }
};

}  // namespace backside::cluster
