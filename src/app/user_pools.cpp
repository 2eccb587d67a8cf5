#include "app/user_pools.h"

#include <spdlog/spdlog.h>

#include "auth/postgresql_user_store.h"
#include "auth/user_migration.h"
#include "store/postgresql_shared_connection.h"
#include "store/store_factory.h"

namespace backside::app {

std::filesystem::path project_users_directory(const Config& config) {
  return std::filesystem::path(config.data_dir) / "auth" / "users";
}

std::filesystem::path tenants_directory(const Config& config) {
  return std::filesystem::path(config.data_dir) / "auth" / "tenants";
}

void migrate_users(const Config& config, auth::Tenants& tenants) {
  const auth::UserMigration report = auth::migrate_database_users(config.data_dir, config.default_namespace, tenants);
  for (const auto& moved : report.moved) spdlog::info("users: {}", moved);
  for (const auto& conflict : report.conflicts) spdlog::warn("users: {}", conflict);
}

Result<auth::UserStorage> user_storage(const Config& config, const auth::Tenants& tenants) {
  if (store::is_embedded_store(config.store)) return auth::users_on_disk(project_users_directory(config).string(), tenants);
  auto connection = store::PgSharedConnection::open(config.store);
  if (!connection) return Error{connection.error().code, "cannot reach the users in PostgreSQL: " + connection.error().message};
  return auth::users_in_postgresql(std::move(*connection));
}

}  // namespace backside::app
