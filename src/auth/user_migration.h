#pragma once
// From one user directory per database (<data_dir>/db/<name>/users, the versions before project users) to the
// project's users and tenants, at start-up (the server, and `backside users|tenants`, `token create --tenant` on a
// data dir no server has opened yet), before any directory opens:
//   - the default database's users become the project's users (<data_dir>/auth/users): their ID tokens (no tenant)
//     and refresh tokens keep working;
//   - every other database D's users become the users of a new tenant D (display name D): apps that set
//     auth.tenantId = 'D' keep signing them in, and their ID tokens (claim firebase.tenant = D) stay valid;
//   - each database that had its users keeps accepting exactly those (auth/accepted_users.h: the default database
//     the project's users, D tenant D's), so that no one reaches a database who could not before — say, a user of
//     another pool under the same chosen uid. The admin widens that when the apps are ready.
// Every step is one rename (atomic) or an atomic file replacement, and each is checked again on the next start: a
// crash at any point loses nothing and the next start completes the move. Idempotent: once moved, nothing is left
// to do and nothing is logged. A conflict (the project or tenant D has users already) moves nothing and says so.
#include <filesystem>
#include <string>
#include <vector>

#include "auth/tenant_folders.h"

namespace backside::auth {

struct UserMigration {
  std::vector<std::string> moved;     // what was moved, one sentence each (for the log, once)
  std::vector<std::string> conflicts;  // what could not be moved and why (logged at each start until resolved)
};

// What it did and could not do, for the caller to log. Database names are valid tenant ids (auth/tenants.h).
UserMigration migrate_database_users(const std::filesystem::path& data_dir, const std::string& default_database,
                                     TenantFolders& tenants);

}  // namespace backside::auth
