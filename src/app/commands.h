#pragma once
// The `backside` subcommands. Each returns the process exit code.
#include <string>

#include "app/config.h"

namespace backside::app {

int serve(const Config& config);
int export_database(const Config& config, const std::string& ns);
// `backside rules check FILE`: 0 and "ok" when the rules compile, else 1 and the error.
int check_rules_file(const std::string& file);
// `backside check`: verifies every database of the data dir (log, data file, rules) read-only; 0 if all are
// intact, 1 naming what is damaged.
int check_data_dir(const Config& config);
int import_database(const Config& config, const std::string& ns, const std::string& file);
// `backside backup DIR`: a consistent copy of the data dir (every database, its users and rules, the keys) into a
// new or empty DIR, beside a running server; DIR/backup.json lists every file with its size and SHA-256.
int backup_data_dir(const Config& config, const std::string& destination);
// `backside restore DIR [--force]`: the backup in DIR, verified whole, replaces the data dir (which must be empty
// unless `force`; no server may hold it). A damaged backup restores nothing.
int restore_data_dir(const Config& config, const std::string& backup, bool force);
// `backside users ACTION [--tenant T]`.
struct UsersCommand {
  std::string tenant;  // whose users: a tenant id, or "" for the project's
  std::string action;  // add, list, get, disable, enable, delete
  std::string who;     // uid or email (get, disable, enable, delete)
  std::string uid;     // add: the uid to give (default: random)
  std::string email;
  std::string password;
  std::string display_name;
};
int manage_users(const Config& config, const UsersCommand& command);
// `backside token create --uid UID [--claims JSON] [--tenant T]`: prints a custom token (auth/custom_tokens.h).
int create_custom_token(const Config& config, const std::string& tenant, const std::string& uid,
                        const std::string& claims_json);
// `backside tenants create|list|get|rename|delete`.
struct TenantsCommand {
  std::string action;        // create, list, get, rename, delete
  std::string id;            // get, rename, delete; create: the id to give (default: made from the display name)
  std::string display_name;  // create, rename
};
int manage_tenants(const Config& config, const TenantsCommand& command);

}  // namespace backside::app
