// `backside token create --uid UID [--claims JSON] [--tenant T]`: prints a custom token signed with the server's key
// (<data_dir>/auth/signing-key.pem), for a trusted backend to hand to a client, which signs in with
// signInWithCustomToken(auth, token). Valid for one hour.
#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/user_pools.h"
#include "auth/custom_tokens.h"
#include "auth/signing_key.h"
#include "auth/tenants.h"
#include "util/unix_time.h"

namespace backside::app {

int create_custom_token(const Config& config, const std::string& tenant, const std::string& uid,
                        const std::string& claims_json) {
  if (!tenant.empty()) {
    auto pools = open_user_pools(config);  // a tenant that was a database's users exists once moved
    if (!pools) {
      spdlog::error("{}", pools.error().message);
      return 1;
    }
    if (auto exists = pools->tenants->get(tenant); !exists) {
      spdlog::error("{} (tenant \"{}\"; `backside tenants list` shows them)", exists.error().message, tenant);
      return 2;
    }
  }
  boost::json::object claims;
  if (!claims_json.empty()) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(claims_json, ec);
    if (ec || !parsed.is_object()) {
      spdlog::error("--claims must be a JSON object, e.g. '{\"admin\":true}'");
      return 2;
    }
    claims = std::move(parsed.get_object());
  }
  if (Status valid = auth::check_custom_token_subject(uid, claims); !valid) {
    spdlog::error("{}", valid.error().message);
    return 2;
  }
  const std::string key_file = (std::filesystem::path(config.data_dir) / "auth" / "signing-key.pem").string();
  auto key = auth::SigningKey::load_or_create(key_file);
  if (!key) {
    spdlog::error("{}", key.error().message);
    return 1;
  }
  const auto now = unix_seconds();
  // A token for a tenant's user names the tenant (as firebase-admin's authForTenant does).
  auto token = auth::mint_custom_token(**key, uid, claims, now, tenant);
  if (!token) {
    spdlog::error("{}", token.error().message);
    return 1;
  }
  std::cout << *token << '\n';
  return std::cout.flush() ? 0 : 1;
}

}  // namespace backside::app
