#include "auth/postgresql_tenants.h"

namespace backside::auth {

using store::PgConnection;
using store::PgParam;
using store::PgResult;

namespace {

Error tenant_not_found() { return Error{ErrorCode::not_found, "TENANT_NOT_FOUND"}; }

Result<std::vector<Tenant>> tenants_of(const PgResult& rows) {
  std::vector<Tenant> tenants;
  for (int row = 0; row < rows.rows(); ++row) {
    auto created = rows.integer(row, 2);
    if (!created) return created.error();
    tenants.push_back({std::string(rows.value(row, 0)), std::string(rows.value(row, 1)), *created});
  }
  return tenants;
}

constexpr const char* kColumns = "SELECT id, display_name, created_at_ms FROM backside_tenants ";

}  // namespace

Result<Tenant> PostgresqlTenants::create(const std::string& display_name, const std::string& id) {
  auto made = new_tenant(display_name, id);
  if (!made) return made.error();
  const Tenant& tenant = *made;
  return connection_->run([&](PgConnection& pg) -> Result<Tenant> {
    auto added = pg.query("creating a tenant",
                          "INSERT INTO backside_tenants (id, display_name, created_at_ms) VALUES ($1, $2, $3) "
                          "ON CONFLICT DO NOTHING",
                          {PgParam::text(tenant.id), PgParam::text(tenant.display_name),
                           PgParam::text(std::to_string(tenant.created_at_ms))});
    if (!added) return added.error();
    if (added->affected_rows() == 0) return invalid("DUPLICATE_TENANT_ID");
    return tenant;
  });
}

Result<Tenant> PostgresqlTenants::get(const std::string& id) const {
  if (!valid_id(id)) return invalid("INVALID_TENANT_ID");
  return connection_->run([&](PgConnection& pg) -> Result<Tenant> {
    auto found = pg.query("reading a tenant", std::string(kColumns) + "WHERE id = $1", {PgParam::text(id)});
    if (!found) return found.error();
    auto tenants = tenants_of(*found);
    if (!tenants) return tenants.error();
    if (tenants->empty()) return tenant_not_found();
    return std::move(tenants->front());
  });
}

Status PostgresqlTenants::check(const std::string& id) const {
  auto tenant = get(id);
  if (!tenant) return tenant.error();
  return ok_status();
}

std::vector<Tenant> PostgresqlTenants::list() const {
  auto listed = connection_->run([&](PgConnection& pg) -> Result<std::vector<Tenant>> {
    auto found = pg.query("listing tenants", std::string(kColumns) + "ORDER BY created_at_ms, id", {});
    if (!found) return found.error();
    return tenants_of(*found);
  });
  return listed ? std::move(*listed) : std::vector<Tenant>();  // as TenantFolders: what could be read
}

Result<Tenant> PostgresqlTenants::rename(const std::string& id, const std::string& display_name) {
  if (auto valid = check_display_name(display_name); !valid) return valid.error();
  if (!valid_id(id)) return invalid("INVALID_TENANT_ID");
  return connection_->run([&](PgConnection& pg) -> Result<Tenant> {
    auto renamed = pg.query("renaming a tenant",
                            "UPDATE backside_tenants SET display_name = $2 WHERE id = $1 "
                            "RETURNING id, display_name, created_at_ms",
                            {PgParam::text(id), PgParam::text(display_name)});
    if (!renamed) return renamed.error();
    auto tenants = tenants_of(*renamed);
    if (!tenants) return tenants.error();
    if (tenants->empty()) return tenant_not_found();
    return std::move(tenants->front());
  });
}

Status PostgresqlTenants::remove(const std::string& id) {
  if (!valid_id(id)) return invalid("INVALID_TENANT_ID");
  return connection_->run([&](PgConnection& pg) -> Status {
    auto removed = pg.query("deleting a tenant", "DELETE FROM backside_tenants WHERE id = $1", {PgParam::text(id)});
    if (!removed) return removed.error();
    if (removed->affected_rows() == 0) return tenant_not_found();
    return ok_status();
  });
}

}  // namespace backside::auth
