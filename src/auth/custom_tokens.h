#pragma once
// Custom tokens: how a trusted backend signs its users in under its own uids (Firebase's signInWithCustomToken).
// `backside token create --uid U` mints one with this server's signing key; the client exchanges it at
// accounts:signInWithCustomToken for an ID token and a refresh token. A custom token is not an ID token: its
// audience is the Identity Toolkit, so no door accepts it as a database credential.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/signing_key.h"
#include "util/result.h"

namespace backside::auth {

inline constexpr std::string_view kCustomTokenAudience =
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit";
inline constexpr std::int64_t kCustomTokenMaxSeconds = 3600;

struct CustomToken {
  std::string uid;
  boost::json::object claims;  // developer claims, copied into the user's ID tokens
  std::string tenant;          // claim tenant_id: the tenant whose user it signs in; "" for the project's users
};

// Developer claims (custom tokens, setCustomUserClaims): no reserved names, at most 1000 bytes as JSON.
Status check_custom_claims(const boost::json::object& claims);
// Checks the uid (1 to 128 characters) and the claims.
Status check_custom_token_subject(const std::string& uid, const boost::json::object& claims);

Result<std::string> mint_custom_token(const SigningKey& key, const std::string& uid,
                                      const boost::json::object& claims, std::int64_t now,
                                      const std::string& tenant = {});

// Verifies signature (this server's key), audience and lifetime. `accept_unsigned`: also alg "none" tokens, as the
// Firebase Auth emulator accepts from firebase-admin (--dev only).
Result<CustomToken> verify_custom_token(const SigningKey& key, std::string_view token, std::int64_t now,
                                        bool accept_unsigned);

}  // namespace backside::auth
