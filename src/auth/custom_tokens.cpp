#include "auth/custom_tokens.h"

#include <array>
#include <boost/json/serialize.hpp>

#include "auth/jwt.h"
#include "util/base64.h"

namespace backside::auth {

namespace json = boost::json;

namespace {

// Claims Firebase reserves: a custom token may not set them for the ID tokens it leads to.
constexpr std::array<std::string_view, 17> kReservedClaims = {
    "acr", "amr", "at_hash", "aud", "auth_time", "azp", "cnf", "c_hash", "exp",
    "firebase", "iat", "iss", "jti", "nbf", "nonce", "sub", "user_id"};

Error invalid_custom_token(const std::string& why) { return Error{ErrorCode::invalid_token, why}; }

}  // namespace

Status check_custom_token_subject(const std::string& uid, const json::object& claims) {
  if (uid.empty() || uid.size() > 128) return invalid("the uid must be 1 to 128 characters");
  return check_custom_claims(claims);
}

Status check_custom_claims(const json::object& claims) {
  for (const auto& [name, value] : claims) {
    for (std::string_view reserved : kReservedClaims) {
      if (name == reserved) return invalid("claim \"" + std::string(name) + "\" is reserved");
    }
  }
  if (json::serialize(claims).size() > 1000) return invalid("the claims must be at most 1000 bytes as JSON");
  return ok_status();
}

Result<std::string> mint_custom_token(const SigningKey& key, const std::string& uid, const json::object& claims,
                                      std::int64_t now, const std::string& tenant) {
  if (Status valid = check_custom_token_subject(uid, claims); !valid) return valid.error();
  json::object header{{"alg", "RS256"}, {"kid", key.kid()}, {"typ", "JWT"}};
  json::object body{{"iss", "backside"}, {"sub", "backside"}, {"aud", kCustomTokenAudience},
                    {"iat", now},        {"exp", now + kCustomTokenMaxSeconds}, {"uid", uid}};
  if (!claims.empty()) body["claims"] = claims;
  if (!tenant.empty()) body["tenant_id"] = tenant;
  const std::string input = base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(body));
  auto signature = key.sign(input);
  if (!signature) return signature.error();
  return input + "." + base64url_encode(*signature);
}

Result<CustomToken> verify_custom_token(const SigningKey& key, std::string_view token, std::int64_t now,
                                        bool accept_unsigned) {
  auto jwt = decode_jwt(token);
  if (!jwt) return invalid_custom_token("the custom token is not a JWT");
  const json::value* alg = jwt->header.if_contains("alg");
  const bool unsigned_token = alg && alg->is_string() && alg->get_string() == "none";
  if (unsigned_token) {
    if (!accept_unsigned || !jwt->signature.empty()) {
      return invalid_custom_token("unsigned custom tokens are accepted only in development mode");
    }
  } else if (!alg || !alg->is_string() || alg->get_string() != "RS256" ||
             !key.verify(jwt->signing_input, jwt->signature)) {
    return invalid_custom_token("the custom token's signature is invalid");
  }
  const json::object& claims = jwt->claims;
  const json::value* aud = claims.if_contains("aud");
  if (!aud || !aud->is_string() || aud->get_string() != kCustomTokenAudience) {
    return invalid_custom_token("the custom token has the wrong audience");
  }
  const json::value* iat = claims.if_contains("iat");
  const json::value* exp = claims.if_contains("exp");
  if (!iat || !exp || !iat->is_number() || !exp->is_number()) {
    return invalid_custom_token("the custom token needs iat and exp");
  }
  const double issued = iat->to_number<double>();
  const double expires = exp->to_number<double>();
  if (expires <= static_cast<double>(now)) return invalid_custom_token("the custom token has expired");
  if (issued > static_cast<double>(now) + 300 || expires - issued > kCustomTokenMaxSeconds) {
    return invalid_custom_token("the custom token's lifetime is invalid (at most one hour)");
  }
  CustomToken out;
  const json::value* uid = claims.if_contains("uid");
  if (!uid || !uid->is_string()) return invalid_custom_token("the custom token has no uid");
  out.uid = std::string(uid->get_string());
  if (const json::value* extra = claims.if_contains("claims"); extra) {
    if (!extra->is_object()) return invalid_custom_token("the custom token's claims must be an object");
    out.claims = extra->get_object();
  }
  if (const json::value* tenant = claims.if_contains("tenant_id"); tenant) {
    if (!tenant->is_string() || tenant->get_string().empty()) {
      return invalid_custom_token("the custom token's tenant_id must be a non-empty string");
    }
    out.tenant = tenant->get_string();
  }
  if (Status valid = check_custom_token_subject(out.uid, out.claims); !valid) {
    return invalid_custom_token("the custom token is invalid: " + valid.error().message);
  }
  return out;
}

}  // namespace backside::auth
