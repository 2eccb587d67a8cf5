#pragma once
// ID tokens: RS256 JWTs with the claims Firebase Auth puts in, minted for signed-in users and verified on every
// door (registered with the Authenticator as a TokenVerifier). A token belongs to one database's users (claim
// `firebase.tenant`, the database's name; absent for the default database) and is accepted by that database only.
// A verified token is cached until it expires, so a burst of requests with one token costs one signature check;
// the cache is bounded.
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth/authenticator.h"
#include "auth/signing_key.h"

namespace backside::auth {

struct IdTokenOptions {
  std::string issuer_project = "backside";  // iss = https://securetoken.google.com/<project>, aud = <project>
  std::int64_t lifetime_seconds = 3600;
  std::size_t cache_entries = 10000;
  std::string default_database = "default";  // whose users' tokens carry no tenant
};

// Who a token is minted for.
struct TokenSubject {
  std::string uid;
  std::string email;                 // empty for anonymous users
  bool email_verified = false;
  std::string sign_in_provider;      // "password", "anonymous", "custom"
  std::string tenant;                // the database whose user this is; "" for the default database
  std::int64_t auth_time = 0;        // unix seconds of the sign-in
  boost::json::object custom_claims;
};

// A verified ID token: who, and which database's user.
struct VerifiedToken {
  db::Auth identity;
  std::string database;
};

class IdTokens : public TokenVerifier {
 public:
  IdTokens(std::shared_ptr<const SigningKey> key, IdTokenOptions options);

  // A signed ID token; `now` in unix seconds.
  Result<std::string> mint(const TokenSubject& subject, std::int64_t now) const;
  std::int64_t lifetime_seconds() const { return options_.lifetime_seconds; }

  // TokenVerifier: claims tokens whose header names our key (`kid`) or is RS256; everything else is for others.
  // Refuses a token of another database's users.
  std::optional<Result<db::Auth>> verify(std::string_view database, std::string_view token) const override;
  // Any database's token (the Auth endpoints, which find the user's directory from it).
  std::optional<Result<VerifiedToken>> verify_any(std::string_view token) const;
  // How many tokens had their signature checked (the cache's misses); for tests and benchmarks.
  std::uint64_t signature_checks() const { return signature_checks_.load(); }

 private:
  Result<VerifiedToken> check(std::string_view token, std::int64_t now) const;

  std::shared_ptr<const SigningKey> key_;
  IdTokenOptions options_;
  std::string issuer_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, VerifiedToken, std::less<>> cache_;  // token -> identity, until it expires
  mutable std::atomic<std::uint64_t> signature_checks_{0};
};

}  // namespace backside::auth
