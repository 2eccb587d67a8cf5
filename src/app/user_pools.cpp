#include "app/user_pools.h"

#include <spdlog/spdlog.h>

#include "auth/user_migration.h"

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

}  // namespace backside::app
