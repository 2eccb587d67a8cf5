#pragma once
// Turns the credential a client presents (REST `?auth=` or `Authorization: Bearer`, Firebase `auth`/`gauth`, STOMP
// `passcode`) into an identity, the same way on every door.
//   - no credential: anonymous (rules see `auth == null`);
//   - the admin token: admin, bypasses rules (compared in constant time);
//   - with --dev: the Firebase emulator's "owner" token is admin, and unsigned JWTs (the emulators' `alg: none`
//     tokens) are accepted with their claims as they are;
//   - otherwise each registered TokenVerifier (ID tokens of the auth module) is asked in turn;
//   - anything else: ErrorCode::invalid_token.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.h"
#include "util/result.h"

namespace backside::auth {

// A kind of token that some module issues and can verify.
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // nullopt: not a token of this kind (the next verifier is asked); otherwise the identity or why it is invalid.
  virtual std::optional<Result<identity::Identity>> verify(std::string_view database, std::string_view token) const = 0;
};

struct AuthenticatorOptions {
  std::string admin_token;  // must not be empty
  bool dev = false;
};

class Authenticator {
 public:
  explicit Authenticator(AuthenticatorOptions options);

  // Not thread-safe: register every verifier before the server starts.
  void add_verifier(std::shared_ptr<const TokenVerifier> verifier);

  Result<identity::Identity> authenticate(std::string_view database, std::string_view credential) const;
  bool is_admin_token(std::string_view credential) const;
  bool dev() const { return options_.dev; }

 private:
  AuthenticatorOptions options_;
  std::vector<std::shared_ptr<const TokenVerifier>> verifiers_;
};

// The admin token: `configured` when set, else the one stored in `data_dir`/admin-token, else a new random one
// written there with mode 0600. `generated` tells the caller to say where it was written (never the token itself).
struct AdminToken {
  std::string token;
  std::string file;  // where it is stored; empty when configured
  bool generated = false;
};
Result<AdminToken> load_admin_token(const std::string& data_dir, const std::string& configured);

}  // namespace backside::auth
