#pragma once
// ID tokens: RS256 JWTs with the claims Firebase Auth puts in, minted for signed-in users and verified on every
// door (registered with the Authenticator as a TokenVerifier). A token belongs to the project's users, or to a
// tenant's (claim `firebase.tenant`, the tenant id), and is accepted by every database of the server unless the
// database is limited to other pools (auth/accepted_users.h).
// A verified token is cached until it expires, so a burst of requests with one token costs one signature check;
// the cache is bounded.
// Once given the user directories (check_users_in), a token is also refused when its user was deleted or disabled
// or its sessions were revoked (the user's `validSince`, Firebase's tokensValidAfterTime, is after the token's
// auth_time) — on every door, beyond Firebase, which offers this check to servers only. A cached token is looked
// up again only when its directory's store has changed since (one read of LMDB's last transaction id, which also
// sees changes that `backside users` made from another process).
// A connection that authenticated with a token lives past that check: each verified token of a user carries the
// standing of its sign-in (identity/account_standing.h; one per tenant, uid and auth_time, shared by its sessions), and
// the standing ends when the account does — at once for changes made through this server (UserDirectories' hook),
// within a sweep's period for changes made by another process (auth/account_standings.h) — which ends those
// connections on every door (identity/credential_expiry.h).
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth/accepted_users.h"
#include "auth/account_standings.h"
#include "auth/authenticator.h"
#include "auth/signing_key.h"
#include "auth/user_directories.h"

namespace backside::auth {

struct IdTokenOptions {
  std::string issuer_project = "backside";  // iss = https://securetoken.google.com/<project>, aud = <project>
  std::int64_t lifetime_seconds = 3600;
  std::size_t cache_entries = 10000;
};

// Who a token is minted for.
struct TokenSubject {
  std::string uid;
  std::string email;                 // empty for anonymous users
  bool email_verified = false;
  std::string sign_in_provider;      // "password", "anonymous", "custom"
  std::string tenant;                // the tenant whose user this is; "" for the project's users
  std::int64_t auth_time = 0;        // unix seconds of the sign-in
  boost::json::object custom_claims;
};

// Whom an ID token for `user` (a UserStore record) of the directory `tenant` names, signed in at `now`.
TokenSubject token_subject_of(const boost::json::object& user, const std::string& tenant, std::int64_t now);

// A verified ID token: who, and of which pool.
struct VerifiedToken {
  identity::Identity identity;
  std::string tenant;  // "" for the project's users
  std::string uid;
  std::int64_t auth_time = 0;  // unix seconds of the sign-in that the token's session began with
  std::uint64_t users_version = 0;  // the user store's version when its user last allowed it; 0 = not checked
};

// Why `user` (a UserStore record) no longer accepts a token of its session begun at `auth_time`: "USER_DISABLED",
// "TOKEN_EXPIRED" (revoked: auth_time is before the user's validSince); nullopt when it still does. Firebase's codes,
// as the Auth endpoints answer them.
std::optional<std::string_view> why_user_refuses_token(const boost::json::object& user, std::int64_t auth_time);
// The same in words for a client, for `user` as a UserStore lookup found it (nullopt: the user no longer exists).
std::optional<std::string> why_token_refused(const std::optional<boost::json::object>& user, std::int64_t auth_time);

class IdTokens : public TokenVerifier {
 public:
  IdTokens(std::shared_ptr<const SigningKey> key, IdTokenOptions options);

  // A signed ID token; `now` in unix seconds.
  Result<std::string> mint(const TokenSubject& subject, std::int64_t now) const;
  std::int64_t lifetime_seconds() const { return options_.lifetime_seconds; }

  // TokenVerifier: claims tokens whose header names our key (`kid`) or is RS256; everything else is for others.
  // Refuses a token of a pool that `database` does not accept.
  std::optional<Result<identity::Identity>> verify(std::string_view database, std::string_view token) const override;
  // A token of any pool, for no database (the Auth endpoints, which find the user's directory from it).
  // `check_user` false: the caller looks the user up itself (why_user_refuses_token).
  std::optional<Result<VerifiedToken>> verify_any(std::string_view token, bool check_user = true) const;
  // Not thread-safe: call before the server starts. Without it (tests, tools) users are not consulted and no
  // standing is handed out. Registers for the directories' account changes.
  void check_users_in(UserDirectories* directories);
  // Not thread-safe: call before the server starts. Without it every database accepts every pool.
  void limit_databases(const AcceptedUsers* accepted) { accepted_ = accepted; }
  // The standings of the sign-ins with live sessions (nullptr before check_users_in).
  const std::shared_ptr<AccountStandings>& standings() const { return standings_; }
  // How many tokens had their signature checked (the cache's misses); for tests and benchmarks.
  std::uint64_t signature_checks() const { return signature_checks_.load(); }

 private:
  struct Cached {
    VerifiedToken token;
    std::uint64_t users_version = 0;  // the user store's version when its user last allowed it; 0 = not checked
  };
  Result<VerifiedToken> check(std::string_view token, std::int64_t now) const;
  // The user store's current version if the token's user still allows it, else why not.
  Result<std::uint64_t> check_user(const VerifiedToken& token) const;
  std::uint64_t users_version(const std::string& tenant) const;

  std::shared_ptr<const SigningKey> key_;
  IdTokenOptions options_;
  std::string issuer_;
  UserDirectories* directories_ = nullptr;
  const AcceptedUsers* accepted_ = nullptr;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Cached, std::less<>> cache_;  // token -> identity, until it expires
  mutable std::atomic<std::uint64_t> signature_checks_{0};

  std::shared_ptr<AccountStandings> standings_;
};

}  // namespace backside::auth
