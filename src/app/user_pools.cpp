#include "app/user_pools.h"

#include <spdlog/spdlog.h>

#include "auth/postgresql_tenants.h"
#include "auth/postgresql_user_store.h"
#include "auth/tenant_folders.h"
#include "auth/user_migration.h"
#include "store/postgresql_shared_connection.h"
#include "store/store_factory.h"

namespace backside::app {

Result<UserPools> open_user_pools(const Config& config) {
  if (!store::is_embedded_store(config.store)) {
    auto connection = store::PgSharedConnection::open(config.store);
    if (!connection) {
      return Error{connection.error().code, "cannot reach the users in PostgreSQL: " + connection.error().message};
    }
    return UserPools{std::make_unique<auth::PostgresqlTenants>(*connection), auth::users_in_postgresql(*connection),
                     *connection};
  }
  const std::filesystem::path auth_dir = std::filesystem::path(config.data_dir) / "auth";
  auto tenants = std::make_unique<auth::TenantFolders>(auth_dir / "tenants");
  const auth::UserMigration report = auth::migrate_database_users(config.data_dir, config.default_namespace, *tenants);
  for (const auto& moved : report.moved) spdlog::info("users: {}", moved);
  for (const auto& conflict : report.conflicts) spdlog::warn("users: {}", conflict);
  auth::UserStorage storage = auth::users_on_disk((auth_dir / "users").string(), *tenants);
  return UserPools{std::move(tenants), std::move(storage), nullptr};
}

}  // namespace backside::app
