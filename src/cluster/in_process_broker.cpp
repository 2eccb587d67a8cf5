#include "cluster/in_process_broker.h"

namespace backside::cluster {

class InProcessBroker::InProcessSubscription final : public Subscription {
 public:
  InProcessSubscription(InProcessBroker& broker, std::shared_ptr<Entry> entry)
      : broker_(broker), entry_(std::move(entry)) {}
  ~InProcessSubscription() override {
    std::lock_guard lock(broker_.delivery_mutex_);
    entry_->cancelled = true;
    for (auto it = broker_.subscribers_.begin(); it != broker_.subscribers_.end(); ++it) {
      if (it->second == entry_) {
        broker_.subscribers_.erase(it);
        break;
      }
    }
  }

 private:
  InProcessBroker& broker_;
  std::shared_ptr<Entry> entry_;
};

Status InProcessBroker::publish(PublishedBatchPtr batch) {
  std::lock_guard lock(delivery_mutex_);
  // A handler may end its own (or another) subscription while it runs: deliver to a copy of the list and skip
  // entries ended meanwhile.
  std::vector<std::shared_ptr<Entry>> recipients;
  auto [begin, end] = subscribers_.equal_range(batch->database);
  for (auto it = begin; it != end; ++it) recipients.push_back(it->second);
  for (const auto& entry : recipients) {
    if (!entry->cancelled) entry->handler(batch);
  }
  return ok_status();
}

std::unique_ptr<Subscription> InProcessBroker::subscribe(const std::string& database, BatchHandler handler) {
  auto entry = std::make_shared<Entry>(Entry{std::move(handler)});
  std::lock_guard lock(delivery_mutex_);
  subscribers_.emplace(database, entry);
  return std::make_unique<InProcessSubscription>(*this, std::move(entry));
}

class InProcessBroker::WriteServerHandle final : public Subscription {
 public:
  WriteServerHandle(InProcessBroker& broker, std::string database, std::shared_ptr<WriteServer> server)
      : broker_(broker), database_(std::move(database)), server_(std::move(server)) {}
  ~WriteServerHandle() override {
    // Only its own: another database object may serve the name by now (a takeover in one process).
    std::lock_guard lock(broker_.servers_mutex_);
    if (auto it = broker_.write_servers_.find(database_); it != broker_.write_servers_.end() && it->second == server_) {
      broker_.write_servers_.erase(it);
    }
  }

 private:
  InProcessBroker& broker_;
  std::string database_;
  std::shared_ptr<WriteServer> server_;
};

std::unique_ptr<Subscription> InProcessBroker::serve_writes(const std::string& database, WriteServer server) {
  auto shared = std::make_shared<WriteServer>(std::move(server));
  std::lock_guard lock(servers_mutex_);
  write_servers_[database] = shared;
  return std::make_unique<WriteServerHandle>(*this, database, std::move(shared));
}

void InProcessBroker::forward_write(const std::string& database, std::string request, std::chrono::milliseconds,
                                    ForwardReply reply) {
  std::shared_ptr<WriteServer> server;
  {
    std::lock_guard lock(servers_mutex_);
    if (auto it = write_servers_.find(database); it != write_servers_.end()) server = it->second;
  }
  if (!server) return reply(Error{ErrorCode::unavailable, "no node owns database " + database + " now"});
  (*server)(std::move(request), [reply = std::move(reply)](std::string answer) { reply(std::move(answer)); });
}

}  // namespace backside::cluster
