// backside: the server and its admin commands.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>

#include "app/commands.h"
#include "app/config.h"
#include "app/json_log_formatter.h"
#include "app/version.h"
#include "store/store_factory.h"

using namespace backside;

int main(int argc, char** argv) {
  // Logs go to stderr so that `backside export > file.json` stays clean.
  spdlog::set_default_logger(spdlog::stderr_color_mt("backside"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App cli{
      "Backside: a self-hosted realtime database. It speaks the Firebase Realtime Database protocol (WebSocket and "
      "long-poll, for the unmodified Firebase SDKs), the Firebase REST API with streaming (Server-Sent Events), "
      "STOMP 1.2 over TCP and WebSocket, and the Firebase Auth API."};
  cli.set_version_flag("--version", std::string(app::version()));
  cli.require_subcommand(1);
  std::string config_file;
  std::map<std::string, std::optional<std::string>> flags;
  auto add_config_flags = [&](CLI::App* command) {
    command->add_option("--config", config_file, "JSON config file; every option below is a key (env BACKSIDE_CONFIG)");
    for (const auto& option : app::config_options()) {
      if (option.flag) {
        command->add_flag_callback("--" + app::flag_name(option.name),
                                   [&flags, name = option.name] { flags[name] = "true"; },
                                   option.help + " [env " + app::env_name(option.name) + "=true]");
        continue;
      }
      command->add_option("--" + app::flag_name(option.name), flags[option.name],
                          option.help + " [env " + app::env_name(option.name) + "]");
    }
  };
  CLI::App* serve = cli.add_subcommand("serve", "Run the server");
  add_config_flags(serve);
  std::string ns;
  CLI::App* export_command = cli.add_subcommand("export", "Write a database as JSON (export format) to stdout");
  add_config_flags(export_command);
  export_command->add_option("--ns", ns, "database (namespace); default: default_namespace");
  std::string import_file;
  CLI::App* import_command = cli.add_subcommand("import", "Replace a database with a JSON file (server stopped)");
  add_config_flags(import_command);
  import_command->add_option("--ns", ns, "database (namespace); default: default_namespace");
  import_command->add_option("file", import_file, "JSON file (export or plain format)")->required();

  std::string backup_dir;
  CLI::App* backup_command = cli.add_subcommand(
      "backup", "Copy the data dir (every database, its users and rules, the keys) into DIR, consistently, while the "
                "server runs: the copy holds every write acknowledged before it began");
  add_config_flags(backup_command);
  backup_command->add_option("dir", backup_dir, "a new or empty directory for the backup")->required();
  bool force = false;
  CLI::App* restore_command = cli.add_subcommand(
      "restore", "Replace the data dir with a backup, verified whole first (server stopped); a damaged backup "
                 "restores nothing");
  add_config_flags(restore_command);
  restore_command->add_option("dir", backup_dir, "the backup's directory (made by `backside backup`)")->required();
  restore_command->add_flag("--force", force, "replace a data dir that is not empty");

  CLI::App* check_command = cli.add_subcommand(
      "check", "Verify every database of the data dir (write-ahead log, data file, rules) without changing "
               "anything; exits 1 naming what is damaged");
  add_config_flags(check_command);

  CLI::App* rules_command = cli.add_subcommand("rules", "Security rules tools");
  rules_command->require_subcommand(1);
  std::string rules_file;
  CLI::App* rules_check = rules_command->add_subcommand("check", "Parse and type-check a rules file: prints the "
                                                                   "errors (rule path, line, column) or \"ok\"");
  rules_check->add_option("file", rules_file, "rules file (JSON with // and /* */ comments)")->required();

  CLI::App* token_command = cli.add_subcommand("token", "Credentials for users");
  token_command->require_subcommand(1);
  std::string token_uid;
  std::string token_claims;
  CLI::App* token_create = token_command->add_subcommand(
      "create", "Print a custom token (valid 1 hour) that signs the user UID in: signInWithCustomToken(auth, token)");
  add_config_flags(token_create);
  token_create->add_option("--uid", token_uid, "the user's uid (1 to 128 characters)")->required();
  token_create->add_option("--claims", token_claims, "extra claims for the user's ID tokens, a JSON object");
  std::string tenant;
  token_create->add_option("--tenant", tenant, "the tenant whose user it signs in; default: the project's users");
  // Earlier versions named a database here; its users are now tenant <database> (docs/auth.md).
  std::string retired_ns;
  token_create->add_option("--ns", retired_ns, "no longer used: users belong to the project; see --tenant");

  CLI::App* users_command = cli.add_subcommand(
      "users", "Manage the project's users, shared by every database, or a tenant's (Firebase Auth accounts)");
  users_command->require_subcommand(1);
  app::UsersCommand users;
  bool password_stdin = false;
  CLI::App* users_add = users_command->add_subcommand("add", "Create a user; prints it as JSON");
  users_add->add_option("--email", users.email, "email address");
  users_add->add_option("--uid", users.uid, "the uid (default: random)");
  users_add->add_option("--display-name", users.display_name, "display name");
  users_add->add_flag("--password-stdin", password_stdin, "read the password from the first line of stdin");
  users_add->add_option("--password", users.password, "the password (visible to other local users in ps: prefer "
                                                      "--password-stdin)");
  CLI::App* users_list = users_command->add_subcommand("list", "Print every user, one JSON object per line");
  std::vector<CLI::App*> users_commands{users_add, users_list};
  for (const char* action : {"get", "disable", "enable", "delete"}) {
    CLI::App* sub = users_command->add_subcommand(action, std::string(action) + " a user (by uid or email)");
    sub->add_option("user", users.who, "uid or email")->required();
    users_commands.push_back(sub);
  }
  for (CLI::App* sub : users_commands) {
    add_config_flags(sub);
    sub->add_option("--tenant", tenant, "the tenant whose users to manage; default: the project's users");
    sub->add_option("--ns", retired_ns, "no longer used: users belong to the project; see --tenant");
  }

  CLI::App* tenants_command = cli.add_subcommand(
      "tenants", "Manage the tenants: separate pools of users within the project (Identity Platform tenants)");
  tenants_command->require_subcommand(1);
  app::TenantsCommand tenants;
  CLI::App* tenants_create = tenants_command->add_subcommand("create", "Create a tenant; prints it as JSON");
  tenants_create->add_option("--display-name", tenants.display_name,
                             "4 to 20 letters, digits or '-', beginning with a letter")
      ->required();
  tenants_create->add_option("--id", tenants.id,
                             "the tenant id (1 to 100 letters, digits, '-' or '_'); default: the display name in "
                             "lower case and a random suffix");
  CLI::App* tenants_list = tenants_command->add_subcommand("list", "Print every tenant, oldest first, as JSON lines");
  CLI::App* tenants_get = tenants_command->add_subcommand("get", "Print a tenant");
  tenants_get->add_option("id", tenants.id, "tenant id")->required();
  CLI::App* tenants_rename = tenants_command->add_subcommand("rename", "Change a tenant's display name");
  tenants_rename->add_option("id", tenants.id, "tenant id")->required();
  tenants_rename->add_option("--display-name", tenants.display_name, "the new display name")->required();
  CLI::App* tenants_delete =
      tenants_command->add_subcommand("delete", "Delete a tenant and all its users (their sessions end)");
  tenants_delete->add_option("id", tenants.id, "tenant id")->required();
  for (CLI::App* sub : {tenants_create, tenants_list, tenants_get, tenants_rename, tenants_delete}) {
    add_config_flags(sub);
  }

  CLI11_PARSE(cli, argc, argv);
  if (*rules_command) return app::check_rules_file(rules_file);

  // The log format is chosen before the configuration is read, so that its errors are logged in it too: from the
  // flag or the environment here (a config file's log_format applies once the file is read, below).
  auto use_log_format = [](const std::string& format) {
    if (format == "json") {
      spdlog::set_formatter(std::make_unique<app::JsonLogFormatter>());
    } else {
      spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
  };
  if (flags["log_format"]) {
    use_log_format(*flags["log_format"]);
  } else if (const char* env = std::getenv(app::env_name("log_format").c_str())) {
    use_log_format(env);
  }

  app::Config config;
  if (config_file.empty()) {
    if (const char* env = std::getenv("BACKSIDE_CONFIG")) config_file = env;
  }
  if (!config_file.empty()) {
    if (auto status = app::apply_config_file(config, config_file); !status) {
      spdlog::error("{}", status.error().message);
      return 2;
    }
  }
  if (auto status = app::apply_environment(config); !status) {
    spdlog::error("{}", status.error().message);
    return 2;
  }
  for (const auto& [name, value] : flags) {
    if (!value) continue;
    if (auto status = app::set_option(config, name, *value); !status) {
      spdlog::error("--{}: {}", app::flag_name(name), status.error().message);
      return 2;
    }
  }
  use_log_format(config.log_format);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (ns.empty()) ns = config.default_namespace;

  if (!retired_ns.empty()) {
    spdlog::error("--ns no longer names whose users: users belong to the project and are valid on every database. "
                  "The default database's users of earlier versions are the project's now (no option); those of "
                  "another database \"{}\" are tenant \"{}\"'s: --tenant {} (docs/auth.md)",
                  retired_ns, retired_ns, retired_ns);
    return 2;
  }
  if (*serve) return app::serve(config);
  if (*token_command) return app::create_custom_token(config, tenant, token_uid, token_claims);
  if (*users_command) {
    for (CLI::App* sub : users_command->get_subcommands()) users.action = sub->get_name();
    if (password_stdin) std::getline(std::cin, users.password);
    users.tenant = tenant;
    return app::manage_users(config, users);
  }
  if (*tenants_command) {
    for (CLI::App* sub : tenants_command->get_subcommands()) tenants.action = sub->get_name();
    return app::manage_tenants(config, tenants);
  }
  // export, import, check, backup and restore work on the embedded store's files; with PostgreSQL they would see
  // no tree.
  if (!store::is_embedded_store(config.store)) {
    spdlog::error("export, import, check, backup and restore work on the embedded store (store lmdb); with a "
                  "postgresql:// store use REST (GET or PUT /.json with the admin token) or PostgreSQL's own tools");
    return 2;
  }
  if (*export_command) return app::export_database(config, ns);
  if (*backup_command) return app::backup_data_dir(config, backup_dir);
  if (*restore_command) return app::restore_data_dir(config, backup_dir, force);
  if (*check_command) return app::check_data_dir(config);
  return app::import_database(config, ns, import_file);
}
