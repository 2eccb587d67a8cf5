#pragma once
// A cluster's tenants (auth/tenants.h) in PostgreSQL (table backside_tenants), shared by every node: a tenant one
// node creates, renames or deletes is so for every node at its next lookup. Their users are in PostgreSQL too
// (auth/postgresql_user_store.h). Thread-safe; every call is a round trip on the shared connection.
#include <memory>
#include <string>
#include <vector>

#include "auth/tenants.h"
#include "store/postgresql_shared_connection.h"

namespace backside::auth {

class PostgresqlTenants final : public Tenants {
 public:
  explicit PostgresqlTenants(std::shared_ptr<store::PgSharedConnection> connection)
      : connection_(std::move(connection)) {}

  Result<Tenant> create(const std::string& display_name, const std::string& id = {}) override;
  Result<Tenant> get(const std::string& id) const override;
  Status check(const std::string& id) const override;
  std::vector<Tenant> list() const override;
  Result<Tenant> rename(const std::string& id, const std::string& display_name) override;
  // The tenant's record; UserDirectories then deletes its users (users_in_postgresql's remove).
  Status remove(const std::string& id) override;

 private:
  std::shared_ptr<store::PgSharedConnection> connection_;
};

}  // namespace backside::auth
