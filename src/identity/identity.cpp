#include "identity/identity.h"

namespace backside::identity {

namespace json = boost::json;

Identity Identity::from_token_claims(const json::object& claims) {
  json::object variable;
  for (const char* name : {"user_id", "sub", "uid"}) {
    if (const json::value* uid = claims.if_contains(name); uid && uid->is_string()) {
      variable["uid"] = *uid;
      break;
    }
  }
  json::value provider = "custom";
  if (const json::value* firebase = claims.if_contains("firebase"); firebase && firebase->is_object()) {
    if (const json::value* p = firebase->get_object().if_contains("sign_in_provider"); p && p->is_string()) {
      provider = *p;
    }
  }
  variable["provider"] = std::move(provider);
  variable["token"] = claims;
  std::int64_t expires_at = 0;
  if (const json::value* exp = claims.if_contains("exp")) {
    if (exp->is_int64()) expires_at = exp->get_int64();
    else if (exp->is_uint64()) expires_at = static_cast<std::int64_t>(exp->get_uint64());
    else if (exp->is_double()) expires_at = static_cast<std::int64_t>(exp->get_double());
  }
  return from_variable(std::move(variable), expires_at);
}

Identity Identity::from_variable(json::object variable, std::int64_t expires_at) {
  Identity auth;
  auth.variable = std::make_shared<const json::value>(std::move(variable));
  auth.expires_at = expires_at;
  return auth;
}

}  // namespace backside::identity
