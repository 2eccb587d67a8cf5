#pragma once
// The live Firebase protocol connections by their session id (the `s` of the handshake), so that a reconnecting
// client that names its previous session (`ls=<id>` on the new WebSocket or long-poll connection)
// ends it: its listens go and its onDisconnect writes run now, not when the abandoned transport times out — as the
// SDK expects ("disconnect old session on new connection"). A session id is random and sent only to its client,
// so naming one is proof enough. Thread-safe.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backside::proto::firebase {

class Connection;

class SessionRegistry {
 public:
  void add(const std::string& id, std::weak_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    live_[id] = std::move(connection);
  }
  void remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    live_.erase(id);
  }
  // The connection with session id `id`, if it is live.
  std::shared_ptr<Connection> find(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = live_.find(id);
    return it == live_.end() ? nullptr : it->second.lock();
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return live_.size();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<Connection>> live_;  // an entry lives as long as its connection
};

}  // namespace backside::proto::firebase
