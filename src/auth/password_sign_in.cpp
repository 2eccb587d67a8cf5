#include "auth/password_sign_in.h"

#include "metrics/server_metrics.h"
#include "util/unix_time.h"

#include <chrono>
#include <memory>

namespace backside::auth {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Error refused(std::string_view code) { return Error{ErrorCode::invalid_token, std::string(code)}; }

void count_sign_in(metrics::SignInResult result) { metrics::server_metrics().password_sign_ins(result).add(); }

void count_lockout(bool locked, metrics::LockoutScope scope) {
  if (locked) metrics::server_metrics().sign_in_lockouts(scope).add();
}

}  // namespace

PasswordSignIn::PasswordSignIn(UserDirectories& directories, PasswordHasher& hasher, const IdTokens& tokens,
                               PasswordSignInOptions options)
    : directories_(directories),
      hasher_(hasher),
      tokens_(tokens),
      account_failures_(options.per_account),
      address_failures_(options.per_address) {}

void PasswordSignIn::check(const std::string& tenant, const std::string& email, const std::string& password,
                           const std::string& address, std::function<void(Result<json::object>)> done) {
  auto users = directories_.of(tenant);
  if (!users) {
    count_sign_in(metrics::SignInResult::error);
    return done(users.error());
  }
  const std::int64_t now = unix_seconds();
  const std::string account = tenant + "/" + normalize_email(email);  // lockouts are per pool
  // Each attempt takes its place in both limits now, before its hash, and keeps it until the outcome is known.
  if (!account_failures_.reserve(account, now)) {
    count_sign_in(metrics::SignInResult::locked_out);
    return done(refused(kTooManySignInAttempts));
  }
  if (!address_failures_.reserve(address, now)) {
    account_failures_.release(account);
    count_sign_in(metrics::SignInResult::locked_out);
    return done(refused(kTooManySignInAttempts));
  }
  auto release = [this, account, address] {
    account_failures_.release(account);
    address_failures_.release(address);
  };
  auto read = (*users)->read_by_email(email);
  if (!read) {
    // Cannot tell now (PostgreSQL away): not a failed attempt of the client's.
    release();
    count_sign_in(metrics::SignInResult::error);
    return done(read.error());
  }
  auto user = std::move(*read);
  if (!user) {
    // No hash was spent, but a client probing for accounts counts against its address.
    account_failures_.release(account);
    count_lockout(address_failures_.count(address, now), metrics::LockoutScope::address);
    count_sign_in(metrics::SignInResult::unknown_email);
    return done(refused("EMAIL_NOT_FOUND"));
  }
  if (user_disabled(*user)) {
    release();
    count_sign_in(metrics::SignInResult::disabled);
    return done(refused("USER_DISABLED"));
  }
  const std::string hash = text(*user, "passwordHash");
  // Shared: called from the hasher's thread if queued, else from here.
  auto on_verified = std::make_shared<std::function<void(Result<json::object>)>>(std::move(done));
  const bool queued = hasher_.verify(
      hash, password, [this, user = std::move(*user), now, account, address, on_verified](bool matches) mutable {
        if (!matches) {
          count_lockout(account_failures_.count(account, now), metrics::LockoutScope::account);
          count_lockout(address_failures_.count(address, now), metrics::LockoutScope::address);
          count_sign_in(metrics::SignInResult::wrong_password);
          return (*on_verified)(refused("INVALID_PASSWORD"));
        }
        account_failures_.succeeded(account);
        address_failures_.release(address);
        count_sign_in(metrics::SignInResult::ok);
        (*on_verified)(std::move(user));
      });
  if (!queued) {
    release();
    count_sign_in(metrics::SignInResult::busy);
    (*on_verified)(Error{ErrorCode::unavailable, std::string(kPasswordHashesBusy)});
  }
}

void PasswordSignIn::sign_in(const std::string& database, const std::string& tenant, const std::string& email,
                             const std::string& password, const std::string& address,
                             std::function<void(Result<identity::Identity>)> done) {
  check(tenant, email, password, address, [this, database, tenant, done = std::move(done)](Result<json::object> user) {
    if (!user) {
      const std::string& code = user.error().message;
      const bool credentials = code == "EMAIL_NOT_FOUND" || code == "INVALID_PASSWORD";
      return done(Error{user.error().code, credentials ? "INVALID_LOGIN_CREDENTIALS" : code});
    }
    // The identity a fresh ID token would carry (same claims, same expiry): minted and verified as one.
    const std::int64_t now = unix_seconds();
    auto token = tokens_.mint(token_subject_of(*user, tenant, now), now);
    if (!token) return done(token.error());
    auto verified = tokens_.verify(database, *token);  // the database's own limits apply to it
    if (!verified) return done(Error{ErrorCode::internal, "a freshly minted ID token was not recognized"});
    done(std::move(*verified));
  });
}

}  // namespace backside::auth
