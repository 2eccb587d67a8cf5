#pragma once
// Who is asking: the identity a front door established for a connection or request.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>

#include "identity/account_standing.h"

namespace backside::identity {

struct Identity {
  bool admin = false;  // the admin credential: bypasses rules
  // The rules' `auth` variable, built once per authentication: {uid, provider, token: <claims>}.
  // nullptr = unauthenticated (rules see `auth == null`).
  std::shared_ptr<const boost::json::value> variable;
  std::int64_t expires_at = 0;  // unix seconds after which the identity is no longer valid; 0 = never
  // The user account behind an ID token: ends when the account is deleted, disabled or its sessions revoked.
  // nullptr for identities that no account stands behind (admin, anonymous, --dev tokens).
  std::shared_ptr<AccountStanding> standing;

  bool authenticated() const { return admin || variable != nullptr; }

  // An identity from verified ID-token claims (Firebase's shape: uid from `user_id`/`sub`/`uid`, provider from
  // `firebase.sign_in_provider`, the claims as `token`); `exp` becomes expires_at.
  static Identity from_token_claims(const boost::json::object& claims);
  // An identity whose rules variable is given as is (firebase-admin's databaseAuthVariableOverride).
  static Identity from_variable(boost::json::object variable, std::int64_t expires_at = 0);
  static Identity admin_identity() {
    Identity auth;
    auth.admin = true;
    return auth;
  }
};

}  // namespace backside::identity
