#pragma once
// The Firebase Auth front door: the Identity Toolkit and Secure Token REST endpoints that the official Firebase Auth
// SDK calls after connectAuthEmulator(auth, 'http://HOST:PORT'), and the signing key's JWKS.
//   POST /identitytoolkit.googleapis.com/v1/accounts:signUp            email/password, or anonymous without email
//   POST /identitytoolkit.googleapis.com/v1/accounts:signInWithPassword
//   POST /identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken  {token} (see auth/custom_tokens.h)
//   POST /identitytoolkit.googleapis.com/v1/accounts:lookup            {idToken}
//   POST /identitytoolkit.googleapis.com/v1/accounts:update            {idToken, password?, email?, displayName?}
//   POST /identitytoolkit.googleapis.com/v1/accounts:delete            {idToken}
//   POST /securetoken.googleapis.com/v1/token                          grant_type=refresh_token
//   GET  /.well-known/jwks.json
//   .../v1/projects/{project}/accounts...                              the admin's (account_admin.h)
//   .../v2/projects/{project}/tenants...                               the admin's tenants (tenant_admin.h)
// The project's users by default, a tenant's when the request names it (`tenantId`, what the SDK sends once
// `auth.tenantId` is set; auth/user_directories.h); requests that carry an ID token or a refresh token act in the
// directory that issued it. An unknown tenant is TENANT_NOT_FOUND, a malformed one INVALID_TENANT_ID.
// Errors use Firebase's JSON shape {"error":{"code":400,"message":"EMAIL_EXISTS","errors":[...]}}, which the SDK
// maps to its auth/... codes. Passwords are hashed off the I/O threads and never logged.
// Limits (docs/security.md): wrong passwords per account and per client address (auth::PasswordSignIn, shared with
// the other doors that take passwords), sign-ups (email or anonymous) per address, and the password hashes in
// flight server-wide (auth::PasswordHasher, shared by the sign-in, the sign-ups and the admin's accounts).
#include <memory>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/id_tokens.h"
#include "auth/attempt_limiter.h"
#include "auth/password_hasher.h"
#include "auth/password_sign_in.h"
#include "auth/user_directories.h"
#include "net/http.h"
#include "proto/auth_api/account_admin.h"
#include "proto/auth_api/tenant_admin.h"

namespace backside::proto::auth_api {

struct IdentityOptions {
  std::size_t min_password_length = 6;
  bool accept_unsigned_custom_tokens = false;  // --dev: firebase-admin's emulator-mode (alg none) custom tokens
  // Accounts created (email/password or anonymous) per client address within the window.
  auth::AttemptLimiter::Options sign_ups_per_address{.max_attempts = 20, .window_seconds = 300};
};

class IdentityHandler {
 public:
  // `hasher` (new passwords' hashes) and `sign_in` (accounts:signInWithPassword) are the server's, shared with the
  // other doors; all the references outlive the handler.
  IdentityHandler(auth::UserDirectories& directories, const auth::IdTokens& tokens, const auth::SigningKey& key,
                  const auth::Authenticator& authenticator, auth::PasswordHasher& hasher,
                  auth::PasswordSignIn& sign_in, IdentityOptions options = {});

  static bool handles(std::string_view path);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  auth::UserDirectories& directories_;
  const auth::IdTokens& tokens_;
  const auth::SigningKey& key_;
  IdentityOptions options_;
  auth::PasswordHasher& hasher_;
  auth::PasswordSignIn& sign_in_;
  AccountAdmin admin_;
  TenantAdmin tenant_admin_;
  auth::AttemptLimiter address_sign_ups_;
};

}  // namespace backside::proto::auth_api
