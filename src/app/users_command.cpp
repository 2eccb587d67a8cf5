// `backside users add|list|get|disable|enable|delete [--tenant T]`: the admin's user management from the shell, on
// the project's users (<data_dir>/auth/users) or a tenant's (LMDB; safe beside a running server). Prints JSON;
// never prints password hashes.
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/user_pools.h"
#include "auth/password_hasher.h"
#include "auth/user_directories.h"
#include "util/base64.h"
#include "util/secure_random.h"
#include "util/unix_time.h"

namespace backside::app {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object shown(const json::object& user) {
  json::object out = user;
  out.erase("passwordHash");
  return out;
}

void print(const json::value& value) { std::cout << json::serialize(value) << '\n'; }

}  // namespace

int manage_users(const Config& config, const UsersCommand& command) {
  auto pools = open_user_pools(config);
  if (!pools) {
    spdlog::error("{}", pools.error().message);
    return 1;
  }
  auth::UserDirectories directories(std::move(pools->storage), *pools->tenants);
  auto opened = directories.of(command.tenant);
  if (!opened) {
    const bool unknown = opened.error().code == ErrorCode::not_found || opened.error().code == ErrorCode::invalid_argument;
    spdlog::error("{}{}", opened.error().message,
                  unknown ? " (tenant \"" + command.tenant + "\"; `backside tenants list` shows them)" : "");
    return unknown ? 2 : 1;
  }
  auth::UserStore& users = **opened;
  auto find = [&](const std::string& who) {
    return who.find('@') != std::string::npos ? users.find_by_email(who) : users.find_by_uid(who);
  };

  if (command.action == "list") {
    for (const auto& user : users.list()) print(shown(user));
    return 0;
  }
  if (command.action == "add") {
    if (command.email.empty() && command.password.empty()) {
      spdlog::error("users add needs --email (and a password: --password-stdin or --password)");
      return 2;
    }
    const auto now = unix_millis();
    std::string uid = command.uid;
    if (uid.empty()) {
      std::string raw(16, '\0');
      secure_random_bytes(raw.data(), raw.size());
      uid = base64url_encode(raw);
    }
    if (uid.size() > 128 || users.find_by_uid(uid)) {
      spdlog::error("uid \"{}\" is too long or taken", uid);
      return 2;
    }
    json::object user{{"localId", uid}, {"createdAt", std::to_string(now)}, {"lastLoginAt", ""}, {"disabled", false},
                      {"provider", command.password.empty() ? "anonymous" : "password"}};
    if (!command.email.empty()) user["email"] = auth::normalize_email(command.email);
    if (!command.display_name.empty()) user["displayName"] = command.display_name;
    if (!command.password.empty()) {
      if (command.password.size() < 6) {
        spdlog::error("the password must be at least 6 characters");
        return 2;
      }
      std::promise<std::string> hashed;
      bool queued = false;
      {
        auth::PasswordHasher hasher(1);
        queued = hasher.hash(command.password, [&](std::string hash) { hashed.set_value(std::move(hash)); });
      }
      std::string hash = queued ? hashed.get_future().get() : std::string();
      if (hash.empty()) {
        spdlog::error("hashing the password failed");
        return 1;
      }
      user["passwordHash"] = std::move(hash);
    }
    if (auto created = users.create(user); !created) {
      spdlog::error("{}", created.error().message == "EMAIL_EXISTS" ? "that email is taken" : created.error().message);
      return created.error().message == "EMAIL_EXISTS" ? 2 : 1;
    }
    print(shown(user));
    return 0;
  }

  auto user = find(command.who);
  if (!user) {
    spdlog::error("no user \"{}\"", command.who);
    return 3;
  }
  if (command.action == "get") {
    print(shown(*user));
    return 0;
  }
  if (command.action == "disable" || command.action == "enable") {
    (*user)["disabled"] = command.action == "disable";
    // A disabled user's sessions end (a running server ends its connections within a second); refreshing answers
    // USER_DISABLED until it is enabled again.
    Status done = users.update(*user);
    if (!done) {
      spdlog::error("{}", done.error().message);
      return 1;
    }
    print(shown(*user));
    return 0;
  }
  if (command.action == "delete") {
    if (auto removed = users.remove(text(*user, "localId")); !removed) {
      spdlog::error("{}", removed.error().message);
      return 1;
    }
    return 0;
  }
  spdlog::error("unknown users command {}", command.action);
  return 2;
}

}  // namespace backside::app
