#pragma once
// Email/password sign-in to the project's or a tenant's users, once for every door that takes a password: the Auth
// API's accounts:signInWithPassword and STOMP's CONNECT login/passcode (wired by the app). It looks the user up in
// the pool's directory, limits wrong passwords per account and per client address (each guess holds its place
// from before its hash until its outcome, so parallel guesses cannot pass the limit; auth/attempt_limiter.h), and
// verifies the password on the server-wide bounded hasher (auth/password_hasher.h), off the caller's thread.
// Refusals carry Firebase's codes as their message (what the Auth API answers and the SDK maps to auth/...):
//   TOO_MANY_ATTEMPTS_TRY_LATER : ...  the account or the address is locked out (ErrorCode::invalid_token), or the
//                                      hashes in flight are at their bound (kPasswordHashesBusy, unavailable)
//   EMAIL_NOT_FOUND, USER_DISABLED, INVALID_PASSWORD                            (ErrorCode::invalid_token)
#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "auth/attempt_limiter.h"
#include "auth/id_tokens.h"
#include "auth/password_hasher.h"
#include "auth/user_directories.h"
#include "identity/identity.h"
#include "util/result.h"

namespace backside::auth {

// What a client is told when the account or its address has had too many wrong passwords.
inline constexpr std::string_view kTooManySignInAttempts =
    "TOO_MANY_ATTEMPTS_TRY_LATER : Too many unsuccessful login attempts. Please try again later.";

struct PasswordSignInOptions {
  // Wrong passwords per account (per pool and email) and per client address within the window.
  AttemptLimiter::Options per_account{.max_attempts = 10, .window_seconds = 300};
  AttemptLimiter::Options per_address{.max_attempts = 100, .window_seconds = 300};
};

class PasswordSignIn {
 public:
  // `directories`, `hasher` and `tokens` outlive this object; `hasher` outlives nothing that its work calls back
  // (it finishes that work when it goes).
  PasswordSignIn(UserDirectories& directories, PasswordHasher& hasher, const IdTokens& tokens,
                 PasswordSignInOptions options = {});
  PasswordSignIn(const PasswordSignIn&) = delete;
  PasswordSignIn& operator=(const PasswordSignIn&) = delete;

  // Checks `password` for the user of `tenant` ("" = the project's users) with `email`, for a client at `address`.
  // `done` gets the user's record, or the refusal (above; the directory's own error when it does not open:
  // INVALID_TENANT_ID, TENANT_NOT_FOUND), on a hasher thread, or on this one when refused before hashing.
  void check(const std::string& tenant, const std::string& email, const std::string& password,
             const std::string& address, std::function<void(Result<boost::json::object>)> done);
  // check(), then the identity a fresh ID token of the user would carry (same claims, same expiry) on `database`,
  // for doors that take the password at each connect; a database that does not accept the tenant's users refuses
  // it as it refuses their tokens. A wrong email and a wrong password are both INVALID_LOGIN_CREDENTIALS: which of
  // them was wrong is not for such a client to learn.
  void sign_in(const std::string& database, const std::string& tenant, const std::string& email,
               const std::string& password, const std::string& address,
               std::function<void(Result<identity::Identity>)> done);

 private:
  UserDirectories& directories_;
  PasswordHasher& hasher_;
  const IdTokens& tokens_;
  AttemptLimiter account_failures_;
  AttemptLimiter address_failures_;
};

}  // namespace backside::auth
