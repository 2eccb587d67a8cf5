#include "auth/id_tokens.h"

#include <boost/json/serialize.hpp>
#include <charconv>

#include "auth/jwt.h"
#include "util/base64.h"
#include "util/unix_time.h"

namespace backside::auth {

namespace json = boost::json;

namespace {

Error invalid_token(std::string message) { return Error{ErrorCode::invalid_token, std::move(message)}; }

std::optional<std::int64_t> integer(const json::object& claims, const char* name) {
  const json::value* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  // Firebase stores validSince as a decimal string.
  if (v->is_string()) {
    std::int64_t parsed = 0;
    const auto& s = v->get_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
    if (ec == std::errc() && end == s.data() + s.size()) return parsed;
  }
  return std::nullopt;
}

std::string text(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

TokenSubject token_subject_of(const json::object& user, const std::string& tenant, std::int64_t now) {
  TokenSubject subject;
  subject.uid = text(user, "localId");
  subject.email = text(user, "email");
  subject.sign_in_provider = text(user, "provider");
  subject.tenant = tenant;
  subject.auth_time = now;
  if (const json::value* claims = user.if_contains("customClaims"); claims && claims->is_object()) {
    subject.custom_claims = claims->get_object();
  }
  return subject;
}

std::optional<std::string_view> why_user_refuses_token(const json::object& user, std::int64_t auth_time) {
  if (user_disabled(user)) return "USER_DISABLED";
  if (auto valid_since = integer(user, "validSince"); valid_since && auth_time < *valid_since) return "TOKEN_EXPIRED";
  return std::nullopt;
}

std::optional<std::string> why_token_refused(const std::optional<json::object>& user, std::int64_t auth_time) {
  if (!user) return "Auth token's user no longer exists.";
  if (auto refused = why_user_refuses_token(*user, auth_time)) {
    return *refused == "USER_DISABLED" ? "Auth token's user is disabled."
                                       : "Auth token was revoked (the user's sessions were ended).";
  }
  return std::nullopt;
}

IdTokens::IdTokens(std::shared_ptr<const SigningKey> key, IdTokenOptions options)
    : key_(std::move(key)),
      options_(std::move(options)),
      issuer_("https://securetoken.google.com/" + options_.issuer_project) {}

Result<std::string> IdTokens::mint(const TokenSubject& subject, std::int64_t now) const {
  json::object header{{"alg", "RS256"}, {"kid", key_->kid()}, {"typ", "JWT"}};
  json::object claims = subject.custom_claims;  // reserved claims below win over custom ones
  claims["iss"] = issuer_;
  claims["aud"] = options_.issuer_project;
  claims["auth_time"] = subject.auth_time ? subject.auth_time : now;
  claims["user_id"] = subject.uid;
  claims["sub"] = subject.uid;
  claims["iat"] = now;
  claims["exp"] = now + options_.lifetime_seconds;
  json::object identities;
  if (!subject.email.empty()) {
    claims["email"] = subject.email;
    claims["email_verified"] = subject.email_verified;
    identities["email"] = json::array{json::value(subject.email)};
  }
  json::object firebase{{"identities", std::move(identities)}, {"sign_in_provider", subject.sign_in_provider}};
  if (!subject.tenant.empty()) firebase["tenant"] = subject.tenant;
  claims["firebase"] = std::move(firebase);
  const std::string input =
      base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
  auto signature = key_->sign(input);
  if (!signature) return signature.error();
  return input + "." + base64url_encode(*signature);
}

std::optional<Result<identity::Identity>> IdTokens::verify(std::string_view database, std::string_view token) const {
  auto verified = verify_any(token);
  if (!verified) return std::nullopt;
  if (!*verified) return Result<identity::Identity>(verified->error());
  if (accepted_ != nullptr) {
    if (auto refused = accepted_->refusal(database, (*verified)->tenant)) {
      return Result<identity::Identity>(invalid_token(std::move(*refused)));
    }
  }
  identity::Identity identity = std::move((*verified)->identity);
  if (directories_ != nullptr) {
    identity.standing = standings_->of((*verified)->tenant, (*verified)->uid, (*verified)->auth_time);
    // A change to the user after its check and before the standing was registered ended nothing: look again.
    if (users_version((*verified)->tenant) != (*verified)->users_version) {
      if (auto allowed = check_user(**verified); !allowed) return Result<identity::Identity>(allowed.error());
    }
  }
  return Result<identity::Identity>(std::move(identity));
}

void IdTokens::check_users_in(UserDirectories* directories) {
  directories_ = directories;
  standings_ = std::make_shared<AccountStandings>(directories);
  // The hook holds the standings (not this object): it is safe for as long as the directories live.
  directories_->on_account_changed([standings = standings_](const std::string& tenant, const std::string& uid) {
    standings->recheck(tenant, uid);
  });
  directories_->on_tenant_removed([standings = standings_](const std::string& tenant) {
    standings->end_tenant(tenant, "Auth token's tenant was deleted.");
  });
}

std::uint64_t IdTokens::users_version(const std::string& tenant) const {
  auto users = directories_->of(tenant);
  return users ? (*users)->version() : 0;
}

Result<std::uint64_t> IdTokens::check_user(const VerifiedToken& token) const {
  auto users = directories_->of(token.tenant);
  if (!users) {
    if (users.error().code == ErrorCode::not_found) return invalid_token("Auth token's tenant no longer exists.");
    return invalid_token("Auth token's user directory cannot be opened: " + users.error().message);
  }
  // The version first: a change after it is seen by the next request.
  const std::uint64_t version = (*users)->version();
  auto user = (*users)->read_by_uid(token.uid);
  if (!user) return Error{ErrorCode::unavailable, "Auth token's user cannot be looked up now: " + user.error().message};
  if (auto why = why_token_refused(*user, token.auth_time)) return invalid_token(std::move(*why));
  return version;
}

std::optional<Result<VerifiedToken>> IdTokens::verify_any(std::string_view token, bool check_user_too) const {
  const std::int64_t now = unix_seconds();
  const bool consult_users = check_user_too && directories_ != nullptr;
  std::optional<Cached> cached;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(token); it != cache_.end()) {
      if (it->second.token.identity.expires_at <= now) {
        cache_.erase(it);
        return Result<VerifiedToken>(invalid_token("Auth token is expired."));
      }
      if (!consult_users) return Result<VerifiedToken>(it->second.token);
      cached = it->second;
    }
  }
  if (cached) {
    if (cached->users_version != 0 && cached->users_version == users_version(cached->token.tenant)) {
      cached->token.users_version = cached->users_version;
      return Result<VerifiedToken>(std::move(cached->token));
    }
    // The store changed since this token's user was looked up (or it never was).
    auto version = check_user(cached->token);
    if (!version) return Result<VerifiedToken>(version.error());
    {
      std::lock_guard lock(mutex_);
      if (auto it = cache_.find(token); it != cache_.end()) it->second.users_version = *version;
    }
    cached->token.users_version = *version;
    return Result<VerifiedToken>(std::move(cached->token));
  }
  auto jwt = decode_jwt(token);
  if (!jwt) return std::nullopt;  // not a JWT: someone else's kind of credential
  const json::value* alg = jwt->header.if_contains("alg");
  const json::value* kid = jwt->header.if_contains("kid");
  const bool ours_by_kid = kid && kid->is_string() && kid->get_string() == key_->kid();
  if (!ours_by_kid) {
    // An RS256 token with another key id was signed by someone else: refuse it here rather than let --dev take
    // it at its word. Unsigned (alg none) tokens are left to the --dev fallback.
    if (alg && alg->is_string() && alg->get_string() == "RS256") {
      return Result<VerifiedToken>(invalid_token("Auth token was not signed by this server (unknown key id)."));
    }
    return std::nullopt;
  }
  auto identity = check(token, now);
  if (identity) {
    std::uint64_t version = 0;
    if (consult_users) {
      auto allowed = check_user(*identity);
      if (!allowed) return Result<VerifiedToken>(allowed.error());
      version = *allowed;
      identity->users_version = version;
    }
    std::lock_guard lock(mutex_);
    if (cache_.size() >= options_.cache_entries) {
      // Bounded: drop expired entries first, then (still full) everything; re-verifying is only slower.
      std::erase_if(cache_, [now](const auto& entry) { return entry.second.token.identity.expires_at <= now; });
      if (cache_.size() >= options_.cache_entries) cache_.clear();
    }
    cache_.insert_or_assign(std::string(token), Cached{*identity, version});
  }
  return identity;
}

Result<VerifiedToken> IdTokens::check(std::string_view token, std::int64_t now) const {
  auto jwt = decode_jwt(token);
  if (!jwt) return invalid_token("Could not parse auth token.");
  const json::value* alg = jwt->header.if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != "RS256") {
    return invalid_token("Auth token must be signed with RS256.");
  }
  ++signature_checks_;
  if (!key_->verify(jwt->signing_input, jwt->signature)) return invalid_token("Auth token signature is invalid.");
  const json::object& claims = jwt->claims;
  const json::value* iss = claims.if_contains("iss");
  const json::value* aud = claims.if_contains("aud");
  if (!iss || !iss->is_string() || iss->get_string() != issuer_ || !aud || !aud->is_string() ||
      aud->get_string() != options_.issuer_project) {
    return invalid_token("Auth token has the wrong issuer or audience.");
  }
  const auto exp = integer(claims, "exp");
  if (!exp) return invalid_token("Auth token has no expiry.");
  if (*exp <= now) return invalid_token("Auth token is expired.");
  const json::value* sub = claims.if_contains("sub");
  if (!sub || !sub->is_string() || sub->get_string().empty()) return invalid_token("Auth token has no subject.");
  std::string tenant;  // the project's users unless the token names a tenant
  if (const json::value* firebase = claims.if_contains("firebase"); firebase && firebase->is_object()) {
    if (const json::value* named = firebase->get_object().if_contains("tenant")) {
      if (!named->is_string() || named->get_string().empty()) {
        return invalid_token("Auth token has an invalid tenant.");
      }
      tenant = named->get_string();
    }
  }
  const std::int64_t auth_time = integer(claims, "auth_time").value_or(integer(claims, "iat").value_or(0));
  return VerifiedToken{identity::Identity::from_token_claims(claims), std::move(tenant), std::string(sub->get_string()),
                       auth_time};
}

}  // namespace backside::auth
