#pragma once
// One PostgreSQL connection shared by a node's callers that each make a few short statements (shared settings,
// users): one caller at a time, connected again after a failure. Callers include I/O threads, so after a failed
// connect it answers unavailable at once for a second instead of holding each of them up for a connect timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/postgresql_connection.h"
#include "util/result.h"

namespace backside::store {

class PgSharedConnection {
 public:
  // Connects and creates the cluster's tables if needed (store/postgresql_schema.h). unavailable when PostgreSQL
  // cannot be reached.
  static Result<std::shared_ptr<PgSharedConnection>> open(const std::string& url);

  // Runs `work(PgConnection&)`, which returns a Status or a Result, alone on the connection, connecting first if
  // needed; a failed connect is the answer instead.
  template <typename Work>
  auto run(Work&& work) -> decltype(work(std::declval<PgConnection&>())) {
    std::lock_guard lock(mutex_);
    if (Status connected = connect(); !connected) return connected.error();
    return work(connection_);
  }
  // Connections attempted since open (reconnects after a failure included).
  std::uint64_t connect_attempts();

  explicit PgSharedConnection(const std::string& url) : connection_(url, "") {}

 private:
  Status connect();  // under mutex_

  std::mutex mutex_;
  PgConnection connection_;
  std::chrono::steady_clock::time_point connect_failed_at_{};
  std::optional<Error> connect_failure_;
  std::uint64_t connect_attempts_ = 0;
};

}  // namespace backside::store
