#pragma once
// The broker of one node: publish() hands the batch to the database's subscribers on the publisher's thread, before
// it returns, so the publish order is the delivery order. Handlers must not block (they run on the committer).
// The broker must outlive its subscriptions.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/broker.h"

namespace backside::cluster {

class InProcessBroker final : public Broker {
 public:
  Status publish(PublishedBatchPtr batch) override;
  std::unique_ptr<Subscription> subscribe(const std::string& database, BatchHandler handler) override;
  // The request goes to the server on the caller's thread; no timeout (the owner is in this process).
  std::unique_ptr<Subscription> serve_writes(const std::string& database, WriteServer server) override;
  void forward_write(const std::string& database, std::string request, std::chrono::milliseconds timeout,
                     ForwardReply reply) override;

 private:
  struct Entry {
    BatchHandler handler;
    bool cancelled = false;  // guarded by the broker's delivery mutex
  };
  class InProcessSubscription;

  // Held while delivering, so that a subscription's end waits for a delivery in progress (unless the handler
  // itself ends it: then it is only marked).
  std::recursive_mutex delivery_mutex_;
  std::multimap<std::string, std::shared_ptr<Entry>> subscribers_;
  class WriteServerHandle;
  std::mutex servers_mutex_;
  std::map<std::string, std::shared_ptr<WriteServer>> write_servers_;
};

}  // namespace backside::cluster
