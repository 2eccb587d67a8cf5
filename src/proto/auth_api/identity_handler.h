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
// Each database has its own users (auth/user_directories.h): a request's `tenantId` (what the SDK sends once
// `auth.tenantId` is set) names the database, no tenant the default one; requests that carry an ID token or a
// refresh token act in the directory that issued it.
// Errors use Firebase's JSON shape {"error":{"code":400,"message":"EMAIL_EXISTS","errors":[...]}}, which the SDK
// maps to its auth/... codes. Passwords are hashed off the I/O threads and never logged.
// Limits (docs/security.md): wrong passwords per account and per client address (each guess holds its place from
// before its hash until its outcome, so parallel guesses cannot pass the limit), sign-ups (email or anonymous) per
// address, and the password hashes in flight server-wide (auth::PasswordHasher).
#include <functional>
#include <memory>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/id_tokens.h"
#include "auth/password_hasher.h"
#include "auth/attempt_limiter.h"
#include "auth/user_directories.h"
#include "net/http.h"
#include "proto/auth_api/account_admin.h"

namespace backside::proto::auth_api {

struct IdentityOptions {
  std::size_t min_password_length = 6;
  bool accept_unsigned_custom_tokens = false;  // --dev: firebase-admin's emulator-mode (alg none) custom tokens
  // Password sign-in lockouts (TOO_MANY_ATTEMPTS_TRY_LATER, the SDK's auth/too-many-requests).
  auth::AttemptLimiter::Options per_account{.max_attempts = 10, .window_seconds = 300};
  auth::AttemptLimiter::Options per_address{.max_attempts = 100, .window_seconds = 300};
  // Accounts created (email/password or anonymous) per client address within the window.
  auth::AttemptLimiter::Options sign_ups_per_address{.max_attempts = 20, .window_seconds = 300};
  std::size_t max_pending_password_hashes = 64;  // server-wide, waiting or running
};

class IdentityHandler {
 public:
  IdentityHandler(auth::UserDirectories& directories, const auth::IdTokens& tokens, const auth::SigningKey& key,
                  const auth::Authenticator& authenticator, IdentityOptions options = {});

  static bool handles(std::string_view path);
  // Email/password sign-in to `database` for the other doors (STOMP CONNECT login/passcode): the checks and
  // lockouts of accounts:signInWithPassword; `done` gets the identity a fresh ID token would carry, on a worker
  // thread (or this one, when refused before hashing).
  void sign_in_with_password(const std::string& database, const std::string& email, const std::string& password,
                             const std::string& address, std::function<void(Result<identity::Identity>)> done);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  // The password check shared by both sign-ins: lockouts, lookup, disabled, then the hash off this thread. `done`
  // gets the user, or the Firebase error code (TOO_MANY_ATTEMPTS_TRY_LATER..., EMAIL_NOT_FOUND, USER_DISABLED,
  // INVALID_PASSWORD) as the error's message; ErrorCode::unavailable when the hashes in flight are at their bound.
  void check_password(auth::UserStore& users, const std::string& database, const std::string& email,
                      const std::string& password, const std::string& address,
                      std::function<void(Result<boost::json::object>)> done);

  auth::UserDirectories& directories_;
  const auth::IdTokens& tokens_;
  const auth::SigningKey& key_;
  IdentityOptions options_;
  auth::PasswordHasher hasher_;
  AccountAdmin admin_;
  auth::AttemptLimiter account_failures_;
  auth::AttemptLimiter address_failures_;
  auth::AttemptLimiter address_sign_ups_;
};

}  // namespace backside::proto::auth_api
