#pragma once
// Shared by the Firebase Auth endpoints (identity_handler: what the client SDK calls; account_admin: what the
// admin calls): replies in Firebase's error shape, the public view of a user record, small helpers.
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
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

// Whether the request carries the admin credential (`Authorization: Bearer <admin token>`; under --dev the
// emulator's `owner`, which firebase-admin sends when FIREBASE_AUTH_EMULATOR_HOST is set).
bool carries_admin_credential(const net::HttpRequest& request, const auth::Authenticator& authenticator);

// What the client is told when the user directory its tenant names does not open (UserDirectories::of fails):
// INVALID_TENANT_ID (no tenant id can be that) and TENANT_NOT_FOUND (no such tenant) with 400, as Firebase; a store
// that fails, 503 with why.
void reply_directory_error(const Reply& reply, const Error& error);

// A user record as the API shows it (no password hash); `tenant` is its tenant, "" for the project's users.
boost::json::object public_user(const boost::json::object& user, const std::string& tenant = {});

}  // namespace backside::proto::auth_api
