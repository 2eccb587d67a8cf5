#pragma once
// Where the users and tenants are: in the data dir — the project's users in <data_dir>/auth/users, each tenant's
// under <data_dir>/auth/tenants — or, for a node of a cluster (a postgresql:// store), in PostgreSQL, shared by
// every node (docs/cluster.md). For the server and for every admin command that touches users (`users`,
// `tenants`, `token`). Opening the data dir's pools first moves the per-database users of earlier versions into
// them (auth/user_migration.h), whichever opens the data dir first.
#include <filesystem>
#include <memory>

#include "app/config.h"
#include "auth/tenants.h"
#include "auth/user_directories.h"
#include "store/postgresql_shared_connection.h"
#include "util/result.h"

namespace backside::app {

struct UserPools {
  std::unique_ptr<auth::Tenants> tenants;
  auth::UserStorage storage;  // reaches into *tenants: keep them together
  std::shared_ptr<store::PgSharedConnection> shared;  // a cluster's connection to them; null for the data dir's
};

// The pools of config.store's kind. Migration moves what is left to move and logs it (once: a moved directory is not
// there to move again); conflicts are logged as warnings at each start until resolved, and leave those users where
// they are. unavailable when PostgreSQL cannot be reached.
Result<UserPools> open_user_pools(const Config& config);

}  // namespace backside::app
