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

using namespace backside;

int main(int argc, char** argv) {
  // Logs go to stderr so that `backside export > file.json` stays clean.
  spdlog::set_default_logger(spdlog::stderr_color_mt("backside"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App cli{"Backside: a self-hosted realtime database (Firebase-compatible REST and streaming)."};
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
  token_create->add_option("--ns", ns, "the database whose user it signs in; default: default_namespace");

  CLI::App* users_command =
      cli.add_subcommand("users", "Manage a database's users (Firebase Auth accounts; each database has its own)");
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
    sub->add_option("--ns", ns, "the database whose users to manage; default: default_namespace");
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

  if (*serve) return app::serve(config);
  if (*token_command) return app::create_custom_token(config, ns, token_uid, token_claims);
  if (*users_command) {
    for (CLI::App* sub : users_command->get_subcommands()) users.action = sub->get_name();
    if (password_stdin) std::getline(std::cin, users.password);
    users.database = ns;
    return app::manage_users(config, users);
  }
  if (*export_command) return app::export_database(config, ns);
  if (*check_command) return app::check_data_dir(config);
  return app::import_database(config, ns, import_file);
}
