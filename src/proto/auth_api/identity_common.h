#pragma once
// Shared by the Firebase Auth endpoints (identity_handler: what the client SDK calls; account_admin: what the
// admin calls): replies in Firebase's error shape, the public view of a user record, small helpers.
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/http.h"
#include "util/result.h"

namespace backside::proto::auth_api {

std::string random_id(std::size_t bytes);  // base64url of random bytes
std::string text(const boost::json::object& o, const char* name);  // a string member, or ""
bool valid_email(const std::string& email);

// One answer, from any thread.
struct Reply {
  std::shared_ptr<net::HttpExchange> exchange;
  unsigned version;
  bool keep_alive;

  void json_body(unsigned status, const boost::json::value& body) const;
  // Firebase's error shape; `message` is the code the SDK maps (EMAIL_EXISTS, ...).
  void error(unsigned status, const std::string& message) const;
};

// What the client is told when the user directory its tenant names does not open (UserDirectories::of fails):
// `INVALID_TENANT_ID` for a name that is no database name (invalid_argument, from Registry::get), else
// `INVALID_TENANT_ID : <why>` (say, one database too many). Status 400 either way.
std::string invalid_tenant(const Error& error);

// A user record as the API shows it (no password hash); `tenant` names its database when not the default one.
boost::json::object public_user(const boost::json::object& user, const std::string& tenant = {});

}  // namespace backside::proto::auth_api
