#include "proto/auth_api/identity_common.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "util/base64.h"
#include "util/secure_random.h"
#include "util/unix_time.h"

namespace backside::proto::auth_api {

namespace http = boost::beast::http;
namespace json = boost::json;

std::string random_id(std::size_t bytes) {
  std::string raw(bytes, '\0');
  secure_random_bytes(raw.data(), raw.size());
  return base64url_encode(raw);
}

bool carries_admin_credential(const net::HttpRequest& request, const auth::Authenticator& authenticator) {
  const std::string_view authorization = request[http::field::authorization];
  const std::string_view credential =
      authorization.starts_with("Bearer ") ? authorization.substr(7) : std::string_view();
  auto identity = authenticator.authenticate("", credential);
  return identity && identity->admin;
}

void reply_directory_error(const Reply& reply, const Error& error) {
  if (error.code == ErrorCode::invalid_argument || error.code == ErrorCode::not_found) {
    return reply.error(400, error.message);  // INVALID_TENANT_ID, TENANT_NOT_FOUND (auth/tenants.h)
  }
  reply.error(503, "UNAVAILABLE : " + error.message);
}

std::string text(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool valid_email(const std::string& email) {
  const auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() && email.find('@', at + 1) == std::string::npos &&
         email.find(' ') == std::string::npos && email.size() <= 320;
}

void Reply::json_body(unsigned status, const json::value& body) const {
    net::HttpResponse response(static_cast<http::status>(status), version);
    response.set(http::field::access_control_allow_origin, "*");
    response.set(http::field::content_type, "application/json; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.body() = json::serialize(body);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    exchange->reply(std::move(response));
}

void Reply::error(unsigned status, const std::string& message) const {
    json::object detail{{"message", message}, {"domain", "global"}, {"reason", "invalid"}};
    json::object error{{"code", status}, {"message", message}, {"errors", json::array{detail}}};
    json_body(status, json::object{{"error", std::move(error)}});
}

json::object public_user(const json::object& user, const std::string& tenant) {
  json::object out;
  out["localId"] = text(user, "localId");
  if (!tenant.empty()) out["tenantId"] = tenant;
  if (auto email = text(user, "email"); !email.empty()) out["email"] = email;
  out["emailVerified"] = false;
  if (auto name = text(user, "displayName"); !name.empty()) out["displayName"] = name;
  json::array providers;
  if (text(user, "provider") == "password") {
    providers.push_back(json::object{{"providerId", "password"}, {"email", text(user, "email")},
                                     {"federatedId", text(user, "email")}, {"rawId", text(user, "email")}});
  }
  out["providerUserInfo"] = std::move(providers);
  if (const json::value* d = user.if_contains("disabled")) out["disabled"] = *d;
  out["createdAt"] = text(user, "createdAt");
  out["lastLoginAt"] = text(user, "lastLoginAt");
  if (auto since = text(user, "validSince"); !since.empty()) out["validSince"] = since;  // tokensValidAfterTime
  if (const json::value* claims = user.if_contains("customClaims"); claims && claims->is_object()) {
    out["customAttributes"] = json::serialize(*claims);
  }
  return out;
}


}  // namespace backside::proto::auth_api
