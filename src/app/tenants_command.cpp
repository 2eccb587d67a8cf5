// `backside tenants create|list|get|rename|delete`: the admin's tenants (auth/tenants.h) from the shell, on the data
// directory (safe beside a running server, which sees a change at its next request; deleting a tenant ends its
// users' sessions there within about a second). Prints each tenant as JSON, as the Identity Toolkit names its
// fields.
#include <boost/json/serialize.hpp>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/user_pools.h"
#include "auth/tenants.h"
#include "auth/user_directories.h"

namespace backside::app {

namespace {

void print(const auth::Tenant& tenant) {
  std::cout << boost::json::serialize(boost::json::object{{"tenantId", tenant.id},
                                                          {"displayName", tenant.display_name},
                                                          {"createdAt", std::to_string(tenant.created_at_ms)}})
            << '\n';
}

// 2 for what the admin asked wrongly (no such tenant, a bad name), 1 for what failed.
int refused(const Error& error, const std::string& id) {
  spdlog::error("{}{}", error.message, id.empty() ? "" : " (tenant \"" + id + "\")");
  return error.code == ErrorCode::invalid_argument || error.code == ErrorCode::not_found ? 2 : 1;
}

}  // namespace

int manage_tenants(const Config& config, const TenantsCommand& command) {
  auto pools = open_user_pools(config);
  if (!pools) {
    spdlog::error("{}", pools.error().message);
    return 1;
  }
  auth::Tenants& tenants = *pools->tenants;
  if (command.action == "list") {
    for (const auto& tenant : tenants.list()) print(tenant);
    return 0;
  }
  if (command.action == "create") {
    auto created = tenants.create(command.display_name, command.id);
    if (!created) return refused(created.error(), command.id);
    print(*created);
    return 0;
  }
  if (command.action == "get") {
    auto tenant = tenants.get(command.id);
    if (!tenant) return refused(tenant.error(), command.id);
    print(*tenant);
    return 0;
  }
  if (command.action == "rename") {
    auto renamed = tenants.rename(command.id, command.display_name);
    if (!renamed) return refused(renamed.error(), command.id);
    print(*renamed);
    return 0;
  }
  if (command.action == "delete") {
    auth::UserDirectories directories(std::move(pools->storage), tenants);
    if (auto removed = directories.remove_tenant(command.id); !removed) return refused(removed.error(), command.id);
    return 0;
  }
  spdlog::error("unknown tenants command {}", command.action);
  return 2;
}

}  // namespace backside::app
