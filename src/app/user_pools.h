#pragma once
// Where the users are: in a data dir — the project's in <data_dir>/auth/users, each tenant's under
// <data_dir>/auth/tenants — or, for a node of a cluster (a postgresql:// store), in PostgreSQL; and the start-up step that moves the per-database users of earlier versions there
// (auth/user_migration.h), for the server and for every admin command that touches users (`users`, `tenants`,
// `token`), whichever opens the data dir first.
#include <filesystem>

#include "app/config.h"
#include "auth/tenants.h"
#include "auth/user_directories.h"
#include "util/result.h"

namespace backside::app {

std::filesystem::path project_users_directory(const Config& config);
std::filesystem::path tenants_directory(const Config& config);
// Moves what is left to move and logs it (once: a moved directory is not there to move again); conflicts are
// logged as warnings at each start until resolved, and leave those users where they are.
void migrate_users(const Config& config, auth::Tenants& tenants);
// The users of config.store's kind: the data dir's for the embedded store, PostgreSQL's (connected here) otherwise.
Result<auth::UserStorage> user_storage(const Config& config, const auth::Tenants& tenants);

}  // namespace backside::app
