#include "store/postgresql_shared_connection.h"

#include "store/postgresql_schema.h"

namespace backside::store {

Result<std::shared_ptr<PgSharedConnection>> PgSharedConnection::open(const std::string& url) {
  if (Status valid = check_postgresql_url(url); !valid) return valid.error();
  auto shared = std::make_shared<PgSharedConnection>(url);
  if (Status connected = shared->connection_.ensure_connected(); !connected) return connected.error();
  if (Status created = create_postgresql_schema(shared->connection_); !created) return created.error();
  return shared;
}

Status PgSharedConnection::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (connect_failure_ && !connection_.connected() && now - connect_failed_at_ < std::chrono::seconds(1)) {
    return *connect_failure_;
  }
  if (!connection_.connected()) ++connect_attempts_;
  Status connected = connection_.ensure_connected();
  if (connected) {
    connect_failure_.reset();
  } else {
    connect_failure_ = connected.error();
    connect_failed_at_ = now;
  }
  return connected;
}

std::uint64_t PgSharedConnection::connect_attempts() {
  std::lock_guard lock(mutex_);
  return connect_attempts_;
}

}  // namespace backside::store
