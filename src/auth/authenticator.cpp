#include "auth/authenticator.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/jwt.h"
#include "util/base64.h"
#include "util/secure_random.h"
#include "util/unix_time.h"

namespace backside::auth {

namespace {

Error invalid_token(std::string message) { return Error{ErrorCode::invalid_token, std::move(message)}; }

}  // namespace

Authenticator::Authenticator(AuthenticatorOptions options) : options_(std::move(options)) {}

void Authenticator::add_verifier(std::shared_ptr<const TokenVerifier> verifier) {
  verifiers_.push_back(std::move(verifier));
}

bool Authenticator::is_admin_token(std::string_view credential) const {
  const std::string& admin = options_.admin_token;
  // The length of the admin token is not a secret worth protecting; its bytes are.
  return !admin.empty() && credential.size() == admin.size() &&
         CRYPTO_memcmp(credential.data(), admin.data(), admin.size()) == 0;
}

Result<identity::Identity> Authenticator::authenticate(std::string_view database, std::string_view credential) const {
  if (credential.empty()) return identity::Identity{};
  if (is_admin_token(credential)) return identity::Identity::admin_identity();
  if (options_.dev && credential == "owner") return identity::Identity::admin_identity();
  for (const auto& verifier : verifiers_) {
    if (auto verified = verifier->verify(database, credential)) {
      if (!*verified) return std::move(*verified);
      const identity::Identity& auth = **verified;
      if (auth.expires_at != 0 && auth.expires_at <= unix_seconds()) return invalid_token("Auth token is expired.");
      return std::move(*verified);
    }
  }
  if (options_.dev) {
    // The emulators' convention: any JWT is taken at its word, signed or not (`alg: none`), and does not expire
    // (the SDK's mockUserToken has iat 0 and exp 3600).
    if (auto jwt = decode_jwt(credential)) {
      identity::Identity auth = identity::Identity::from_token_claims(jwt->claims);
      auth.expires_at = 0;
      return auth;
    }
  }
  return invalid_token("Could not parse auth token.");
}

Result<AdminToken> load_admin_token(const std::string& data_dir, const std::string& configured) {
  if (!configured.empty()) {
    if (configured.size() < 16) return invalid("admin_token must be at least 16 characters");
    return AdminToken{configured, "", false};
  }
  namespace fs = std::filesystem;
  const fs::path file = fs::path(data_dir) / "admin-token";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (!in || token.size() < 16) {
      return Error{ErrorCode::unavailable, "cannot read the admin token from " + file.string() +
                                               " (delete it to generate a new one)"};
    }
    return AdminToken{token, file.string(), false};
  }
  fs::create_directories(data_dir, ec);
  unsigned char random[32];
  secure_random_bytes(random, sizeof random);
  std::string token = base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  const mode_t old_mask = ::umask(077);  // created 0600 from the start: never readable by others, even briefly
  {
    std::ofstream out(file, std::ios::trunc);
    out << token << '\n';
    out.close();
    if (!out) {
      ::umask(old_mask);
      return Error{ErrorCode::unavailable, "cannot write the admin token to " + file.string()};
    }
  }
  ::umask(old_mask);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
  return AdminToken{token, file.string(), true};
}

}  // namespace backside::auth
