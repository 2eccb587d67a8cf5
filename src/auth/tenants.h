#pragma once
// Identity Platform tenants: separate pools of users within the server's project (Firebase's multi-tenancy). The
// project's own users are everyone's by default; a tenant's users are another pool — the same email may sign up in
// both, as two users — and their ID tokens say so (claim `firebase.tenant`, the rules' auth.token.firebase.tenant).
// The admin creates tenants (firebase-admin's tenantManager(), `backside tenants create`); a tenant is not tied to a
// database: which databases accept which pools is auth/accepted_users.h.
// Kept in the data directory on one node (auth/tenant_folders.h), in PostgreSQL for a cluster
// (auth/postgresql_tenants.h).
// Errors carry Firebase's codes as their message: INVALID_TENANT_ID and INVALID_DISPLAY_NAME, MISSING_DISPLAY_NAME,
// DUPLICATE_TENANT_ID (ErrorCode::invalid_argument), TENANT_NOT_FOUND (not_found). Thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace backside::auth {

struct Tenant {
  std::string id;
  std::string display_name;
  std::int64_t created_at_ms = 0;
};

class Tenants {
 public:
  virtual ~Tenants() = default;

  // 1 to 100 of [A-Za-z0-9_-]: the names of databases too, so that each per-database user directory of earlier
  // versions became a tenant of the same name.
  static bool valid_id(std::string_view id);
  // Identity Platform's rule: 4 to 20 characters, letters, digits and '-', beginning with a letter.
  static Status check_display_name(std::string_view name);

  // A new tenant with no users. `id` empty: the display name in lower case, '-' and five random characters, as
  // Identity Platform makes them.
  virtual Result<Tenant> create(const std::string& display_name, const std::string& id = {}) = 0;
  virtual Result<Tenant> get(const std::string& id) const = 0;
  // Whether `id` names a tenant: INVALID_TENANT_ID, TENANT_NOT_FOUND, or ok (or unavailable: cannot tell now).
  virtual Status check(const std::string& id) const = 0;
  bool exists(const std::string& id) const { return check(id).ok(); }
  // Every tenant, oldest first (Firebase lists them in creation order).
  virtual std::vector<Tenant> list() const = 0;
  virtual Result<Tenant> rename(const std::string& id, const std::string& display_name) = 0;
  // The tenant (Firebase's deleteTenant); UserDirectories::remove_tenant deletes its users too and ends their
  // sessions.
  virtual Status remove(const std::string& id) = 0;

 protected:
  // The record of a tenant `create` is asked for, checked, its id made if empty, created now.
  static Result<Tenant> new_tenant(const std::string& display_name, const std::string& id);
};

}  // namespace backside::auth
