#include "proto/auth_api/account_admin.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <algorithm>
#include <charconv>

#include "auth/custom_tokens.h"
#include "proto/auth_api/identity_common.h"
#include "util/unix_time.h"

namespace backside::proto::auth_api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kProjects = "/identitytoolkit.googleapis.com/v1/projects/";
constexpr std::size_t kMaxPage = 1000;

// The revocation time the admin asks for (seconds, a number or a decimal string), never later than now: a time in
// the future would refuse sessions not begun yet. Anything unreadable means now.
std::int64_t valid_since(const json::value& asked, std::int64_t now) {
  std::int64_t seconds = now;
  if (asked.is_int64()) {
    seconds = asked.get_int64();
  } else if (asked.is_uint64()) {
    seconds = static_cast<std::int64_t>(std::min<std::uint64_t>(asked.get_uint64(), static_cast<std::uint64_t>(now)));
  } else if (asked.is_string()) {
    const auto& s = asked.get_string();
    if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
        ec != std::errc() || end != s.data() + s.size()) {
      seconds = now;
    }
  }
  return std::clamp<std::int64_t>(seconds, 0, now);
}

// The strings of a member that may be one string or an array of them (lookup's localId / email).
std::vector<std::string> strings(const json::object& body, const char* name) {
  std::vector<std::string> out;
  const json::value* v = body.if_contains(name);
  if (v && v->is_string()) out.emplace_back(v->get_string());
  if (v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_string()) out.emplace_back(item.get_string());
    }
  }
  return out;
}

bool flag(const json::object& body, const char* name) {
  const json::value* v = body.if_contains(name);
  return v && v->is_bool() && v->get_bool();
}

}  // namespace

bool AccountAdmin::handles(std::string_view path) { return path.starts_with(kProjects); }

void AccountAdmin::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  Reply reply{std::move(exchange), request.version(), request.keep_alive()};
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  // After the project: "accounts", "accounts:lookup", ..., or "tenants/D/" and one of those.
  const std::string_view rest = path.substr(kProjects.size());
  const std::size_t slash = rest.find('/');
  std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string tenant;
  if (action.starts_with("tenants/")) {
    action.remove_prefix(8);
    const std::size_t end = action.find('/');
    if (end == std::string_view::npos) return reply.error(404, "NOT_FOUND");
    tenant = action.substr(0, end);
    action.remove_prefix(end + 1);
    if (tenant.empty()) return reply.error(400, "INVALID_TENANT_ID");
  }

  if (!carries_admin_credential(request, authenticator_)) {
    return reply.error(401, "UNAUTHORIZED : the admin credential is required");
  }
  auto directory = directories_.of(tenant);
  if (!directory) return reply_directory_error(reply, directory.error());
  // Shared with the callbacks below: a tenant deleted meanwhile leaves them a store to finish with.
  std::shared_ptr<auth::UserStore> store = std::move(*directory);
  auth::UserStore& users = *store;

  if (action == "accounts:batchGet") {
    if (request.method() != http::verb::get) return reply.error(405, "METHOD_NOT_ALLOWED");
    std::size_t max_results = kMaxPage;
    std::string after;
    if (auto url = boost::urls::parse_origin_form(target)) {
      for (auto param : url->params()) {
        if (param.key == "maxResults") {
          try {
            max_results = std::min<std::size_t>(kMaxPage, std::stoul(std::string(param.value)));
          } catch (const std::exception&) {
            return reply.error(400, "INVALID_ARGUMENT : maxResults");
          }
        }
        if (param.key == "nextPageToken") after = param.value;
      }
    }
    std::vector<json::object> listed = users.list();
    std::sort(listed.begin(), listed.end(),
              [](const json::object& a, const json::object& b) { return text(a, "localId") < text(b, "localId"); });
    json::array page;
    std::string last;
    for (const auto& user : listed) {
      if (!after.empty() && text(user, "localId") <= after) continue;
      if (page.size() == max_results) {
        json::object out{{"kind", "identitytoolkit#DownloadAccountResponse"}, {"users", std::move(page)},
                         {"nextPageToken", last}};
        return reply.json_body(200, out);
      }
      page.push_back(public_user(user, tenant));
      last = text(user, "localId");
    }
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#DownloadAccountResponse"}, {"users", page}});
  }

  if (request.method() != http::verb::post) return reply.error(405, "METHOD_NOT_ALLOWED");
  boost::system::error_code ec;
  json::value parsed = request.body().empty() ? json::value(json::object()) : json::parse(request.body(), ec);
  if (ec || !parsed.is_object()) return reply.error(400, "INVALID_ARGUMENT : the body must be a JSON object");
  json::object body = std::move(parsed.get_object());
  const std::int64_t now = unix_seconds();

  if (action == "accounts") {  // createUser
    json::object user{{"localId", body.contains("localId") ? text(body, "localId") : random_id(21)},
                      {"createdAt", std::to_string(now * 1000)},
                      {"lastLoginAt", ""},
                      {"disabled", flag(body, "disabled")}};
    const std::string uid = text(user, "localId");
    if (uid.empty() || uid.size() > 128) return reply.error(400, "INVALID_LOCAL_ID");
    if (users.find_by_uid(uid)) return reply.error(400, "DUPLICATE_LOCAL_ID");
    if (auto name = text(body, "displayName"); !name.empty()) user["displayName"] = name;
    const std::string email = text(body, "email");
    if (!email.empty()) {
      if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
      if (users.find_by_email(email)) return reply.error(400, "EMAIL_EXISTS");
      user["email"] = auth::normalize_email(email);
    }
    const std::string password = text(body, "password");
    auto create = [reply, store](json::object user) {
      if (auto status = store->create(user); !status) {
        return reply.error(400, status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      json::object out{{"kind", "identitytoolkit#SignupNewUserResponse"}, {"localId", text(user, "localId")}};
      if (auto email = text(user, "email"); !email.empty()) out["email"] = email;
      reply.json_body(200, out);
    };
    if (password.empty()) {
      user["provider"] = email.empty() ? "anonymous" : "password";
      return create(std::move(user));
    }
    if (password.size() < min_password_length_) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " + std::to_string(min_password_length_) +
                                  " characters");
    }
    user["provider"] = "password";
    const bool queued = hasher_.hash(password, [reply, user = std::move(user), create](std::string hash) mutable {
      if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
      user["passwordHash"] = hash;
      create(std::move(user));
    });
    if (!queued) reply.error(503, std::string(auth::kPasswordHashesBusy));
    return;
  }

  if (action == "customTokens") {  // mints a custom token, as `backside token create` does
    json::object claims;
    if (const json::value* given = body.if_contains("claims")) {
      if (!given->is_object()) return reply.error(400, "INVALID_CLAIMS : claims must be an object");
      claims = given->get_object();
    }
    auto token = auth::mint_custom_token(key_, text(body, "uid"), claims, now, tenant);
    if (!token) return reply.error(400, "INVALID_ARGUMENT : " + token.error().message);
    return reply.json_body(200, json::object{{"token", *token},
                                             {"expiresIn", std::to_string(auth::kCustomTokenMaxSeconds)}});
  }

  if (action == "accounts:lookup") {
    json::array found;
    for (const auto& uid : strings(body, "localId")) {
      if (auto user = users.find_by_uid(uid)) found.push_back(public_user(*user, tenant));
    }
    for (const auto& email : strings(body, "email")) {
      if (auto user = users.find_by_email(email)) found.push_back(public_user(*user, tenant));
    }
    json::object out{{"kind", "identitytoolkit#GetAccountInfoResponse"}};
    if (!found.empty()) out["users"] = std::move(found);  // no "users": the SDK's USER_NOT_FOUND
    return reply.json_body(200, out);
  }

  const std::string uid = text(body, "localId");
  auto user = users.find_by_uid(uid);
  if (action == "accounts:delete") {
    if (!user) return reply.error(400, "USER_NOT_FOUND");
    if (auto status = users.remove(uid); !status) return reply.error(500, "INTERNAL_ERROR");
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#DeleteAccountResponse"}});
  }

  if (action == "accounts:update") {
    if (!user) return reply.error(400, "USER_NOT_FOUND");
    // revokeRefreshTokens (firebase-admin sends validSince = now in seconds): the user's refresh tokens are revoked,
    // and the ID tokens of sessions begun before validSince are refused from now on (auth/id_tokens.h).
    bool revoke = body.contains("validSince");
    if (revoke) (*user)["validSince"] = std::to_string(valid_since(body.at("validSince"), unix_seconds()));
    // A disabled user's sessions end (ID tokens refused, refreshing answers USER_DISABLED); its refresh tokens work
    // again once it is enabled, as in Firebase.
    if (const json::value* disable = body.if_contains("disableUser"); disable && disable->is_bool()) {
      (*user)["disabled"] = disable->get_bool();
    }
    if (body.contains("displayName")) (*user)["displayName"] = text(body, "displayName");
    for (const auto& attribute : strings(body, "deleteAttribute")) {
      if (attribute == "DISPLAY_NAME") user->erase("displayName");
    }
    if (const json::value* attributes = body.if_contains("customAttributes"); attributes && attributes->is_string()) {
      boost::system::error_code claims_ec;
      json::value claims = json::parse(attributes->get_string(), claims_ec);
      if (claims_ec || !claims.is_object()) return reply.error(400, "INVALID_CLAIMS");
      if (Status valid = auth::check_custom_claims(claims.get_object()); !valid) {
        return reply.error(400, "INVALID_CLAIMS : " + valid.error().message);
      }
      (*user)["customClaims"] = std::move(claims);
    }
    if (auto email = text(body, "email"); !email.empty()) {
      if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
      if (auto other = users.find_by_email(email); other && text(*other, "localId") != uid) {
        return reply.error(400, "EMAIL_EXISTS");
      }
      (*user)["email"] = auth::normalize_email(email);
    }
    const std::string password = text(body, "password");
    if (!password.empty()) (*user)["validSince"] = std::to_string(unix_seconds());  // as Firebase: other sessions end
    revoke = revoke || !password.empty();
    auto finish = [reply, store, uid, revoke](json::object user) {
      if (auto status = store->update(user); !status) {
        return reply.error(400, status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      // The account changed; if its other sessions cannot be ended as asked, the caller must not think they were.
      if (revoke) {
        if (auto revoked = store->revoke_refresh_tokens(uid); !revoked) {
          spdlog::error("auth: could not revoke the refresh tokens of {}: {}", uid, revoked.error().message);
          return reply.error(500, "INTERNAL_ERROR");
        }
      }
      reply.json_body(200, json::object{{"kind", "identitytoolkit#SetAccountInfoResponse"}, {"localId", uid}});
    };
    if (password.empty()) return finish(std::move(*user));
    if (password.size() < min_password_length_) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " + std::to_string(min_password_length_) +
                                  " characters");
    }
    const bool queued = hasher_.hash(password, [reply, user = std::move(*user), finish](std::string hash) mutable {
      if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
      user["passwordHash"] = hash;
      user["provider"] = "password";
      finish(std::move(user));
    });
    if (!queued) reply.error(503, std::string(auth::kPasswordHashesBusy));
    return;
  }
  reply.error(404, "NOT_FOUND : " + std::string(action));
}

}  // namespace backside::proto::auth_api
