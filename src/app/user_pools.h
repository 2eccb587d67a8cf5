#pragma once
// Where a data dir keeps its users — the project's in <data_dir>/auth/users, each tenant's under
// <data_dir>/auth/tenants — and the start-up step that moves the per-database users of earlier versions there
// (auth/user_migration.h), for the server and for every admin command that touches users (`users`, `tenants`,
// `token`), whichever opens the data dir first.
#include <filesystem>

#include "app/config.h"
#include "auth/tenants.h"

namespace backside::app {

std::filesystem::path project_users_directory(const Config& config);
std::filesystem::path tenants_directory(const Config& config);
// Moves what is left to move and logs it (once: a moved directory is not there to move again); conflicts are
// logged as warnings at each start until resolved, and leave those users where they are.
void migrate_users(const Config& config, auth::Tenants& tenants);

}  // namespace backside::app
