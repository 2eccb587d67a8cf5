#include "proto/identity/identity_handler.h"

#include <openssl/rand.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <chrono>

#include "auth/custom_tokens.h"
#include "auth/jwt.h"
#include "proto/identity/identity_common.h"

namespace backside::proto::identity {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kAccounts = "/identitytoolkit.googleapis.com/v1/accounts:";
constexpr std::string_view kToken = "/securetoken.googleapis.com/v1/token";
constexpr std::string_view kJwks = "/.well-known/jwks.json";

// Whom an ID token for `user` names.
auth::TokenSubject subject_of(const json::object& user, std::int64_t now) {
  auth::TokenSubject subject;
  subject.uid = text(user, "localId");
  subject.email = text(user, "email");
  subject.sign_in_provider = text(user, "provider");
  subject.auth_time = now;
  if (const json::value* claims = user.if_contains("customClaims"); claims && claims->is_object()) {
    subject.custom_claims = claims->get_object();
  }
  return subject;
}

}  // namespace

IdentityHandler::IdentityHandler(auth::UserStore& users, const auth::IdTokens& tokens, const auth::SigningKey& key,
                                 const auth::Authenticator& authenticator, IdentityOptions options)
    : users_(users),
      tokens_(tokens),
      key_(key),
      options_(options),
      admin_(users, hasher_, authenticator, key, options.min_password_length),
      account_failures_(options.per_account),
      address_failures_(options.per_address) {}

void IdentityHandler::sign_in_with_password(const std::string& email, const std::string& password,
                                            const std::string& address, std::function<void(Result<db::Auth>)> done) {
  const std::int64_t now = unix_now();
  const std::string account = auth::normalize_email(email);
  if (!account_failures_.allowed(account, now) || !address_failures_.allowed(address, now)) {
    return done(Error{ErrorCode::invalid_token, "TOO_MANY_ATTEMPTS_TRY_LATER: too many failed sign-ins"});
  }
  auto user = users_.find_by_email(email);
  if (!user) {
    address_failures_.failed(address, now);
    return done(Error{ErrorCode::invalid_token, "INVALID_LOGIN_CREDENTIALS"});
  }
  if (const json::value* d = user->if_contains("disabled"); d && d->is_bool() && d->get_bool()) {
    return done(Error{ErrorCode::invalid_token, "USER_DISABLED"});
  }
  const std::string hash = text(*user, "passwordHash");
  hasher_.verify(hash, password, [this, user = std::move(*user), now, account, address,
                                  done = std::move(done)](bool matches) {
    if (!matches) {
      account_failures_.failed(account, now);
      address_failures_.failed(address, now);
      return done(Error{ErrorCode::invalid_token, "INVALID_LOGIN_CREDENTIALS"});
    }
    account_failures_.succeeded(account);
    // The identity a fresh ID token would carry (same claims, same expiry).
    auto token = tokens_.mint(subject_of(user, now), now);
    if (!token) return done(token.error());
    auto verified = tokens_.verify("", *token);
    if (!verified) return done(Error{ErrorCode::internal, "a freshly minted ID token was not recognized"});
    done(std::move(*verified));
  });
}

bool IdentityHandler::handles(std::string_view path) {
  return path.substr(0, kAccounts.size()) == kAccounts || path == kToken || path == kJwks ||
         AccountAdmin::handles(path);
}

void IdentityHandler::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  Reply reply{std::move(exchange), request.version(), request.keep_alive()};
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path == kJwks) return reply.json_body(200, json::object{{"keys", json::array{key_.jwk()}}});
  if (AccountAdmin::handles(path)) return admin_.handle(std::move(request), std::move(reply.exchange));
  if (request.method() != http::verb::post) return reply.error(405, "METHOD_NOT_ALLOWED");

  // Bodies are JSON, except the token endpoint's, which the SDK sends form-encoded.
  json::object body;
  const std::string content_type(request[http::field::content_type]);
  if (content_type.find("application/x-www-form-urlencoded") != std::string::npos) {
    const std::string target_form = "/?" + request.body();  // a form body is a query string; the view needs it alive
    auto form = boost::urls::parse_origin_form(target_form);
    if (!form) return reply.error(400, "INVALID_ARGUMENT");
    for (auto param : form->params()) body[param.key] = param.value;
  } else if (!request.body().empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body(), ec);
    if (ec || !parsed.is_object()) return reply.error(400, "INVALID_ARGUMENT");
    body = std::move(parsed.get_object());
  }

  const std::int64_t now = unix_now();
  // Signs `user` in: an ID token and a refresh token. A refresh keeps its refresh token (as Firebase does), so
  // refreshing adds nothing to the store and a refresh racing a revocation cannot hand out a live token.
  auto session = [this, now](const json::object& user, json::object out,
                             const std::string& refresh_token = {}) -> Result<json::object> {
    const auth::TokenSubject subject = subject_of(user, now);
    auto id_token = tokens_.mint(subject, now);
    if (!id_token) return id_token.error();
    std::string refresh = refresh_token;
    if (refresh.empty()) {
      refresh = random_id(32);
      if (auto stored = users_.add_refresh_token(refresh, subject.uid); !stored) return stored.error();
    }
    out["idToken"] = *id_token;
    out["refreshToken"] = refresh;
    out["expiresIn"] = std::to_string(tokens_.lifetime_seconds());
    out["localId"] = subject.uid;
    if (!subject.email.empty()) out["email"] = subject.email;
    return out;
  };
  // The user an ID token in the body names (lookup/update/delete).
  auto user_of_token = [&]() -> std::optional<json::object> {
    auto verified = tokens_.verify("", text(body, "idToken"));
    if (!verified || !*verified) return std::nullopt;
    const json::value* variable = (*verified)->variable.get();
    if (!variable || !variable->is_object()) return std::nullopt;
    return users_.find_by_uid(text(variable->get_object(), "uid"));
  };

  if (path == kToken) {
    if (text(body, "grant_type") != "refresh_token") return reply.error(400, "INVALID_GRANT_TYPE");
    const std::string refresh_token = text(body, "refresh_token");
    auto uid = users_.uid_of_refresh_token(refresh_token);
    if (!uid) return reply.error(400, "INVALID_REFRESH_TOKEN");
    auto user = users_.find_by_uid(*uid);
    if (!user) return reply.error(400, "USER_NOT_FOUND");
    if (const json::value* d = user->if_contains("disabled"); d && d->is_bool() && d->get_bool()) {
      return reply.error(400, "USER_DISABLED");
    }
    auto signed_in = session(*user, {}, refresh_token);
    if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
    json::object out{{"access_token", (*signed_in)["idToken"]}, {"id_token", (*signed_in)["idToken"]},
                     {"refresh_token", (*signed_in)["refreshToken"]}, {"expires_in", (*signed_in)["expiresIn"]},
                     {"token_type", "Bearer"}, {"user_id", *uid}, {"project_id", "backside"}};
    return reply.json_body(200, out);
  }

  const std::string action(path.substr(kAccounts.size()));
  if (action == "signUp") {
    const std::string email = text(body, "email");
    const std::string password = text(body, "password");
    json::object user{{"localId", random_id(21)},
                      {"createdAt", std::to_string(now * 1000)},
                      {"lastLoginAt", std::to_string(now * 1000)},
                      {"disabled", false}};
    if (email.empty() && password.empty()) {  // signInAnonymously
      user["provider"] = "anonymous";
      if (auto status = users_.create(user); !status) return reply.error(500, "INTERNAL_ERROR");
      auto signed_in = session(user, {{"kind", "identitytoolkit#SignupNewUserResponse"}});
      if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
      return reply.json_body(200, *signed_in);
    }
    if (!valid_email(email)) return reply.error(400, email.empty() ? "MISSING_EMAIL" : "INVALID_EMAIL");
    if (password.empty()) return reply.error(400, "MISSING_PASSWORD");
    if (password.size() < options_.min_password_length) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " +
                                  std::to_string(options_.min_password_length) + " characters");
    }
    if (users_.find_by_email(email)) return reply.error(400, "EMAIL_EXISTS");
    user["email"] = auth::normalize_email(email);
    user["provider"] = "password";
    return hasher_.hash(password, [this, reply, user = std::move(user), session](std::string hash) mutable {
      if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
      user["passwordHash"] = hash;
      if (auto status = users_.create(user); !status) {
        return reply.error(status.error().message == "EMAIL_EXISTS" ? 400 : 500,
                           status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      auto signed_in = session(user, {{"kind", "identitytoolkit#SignupNewUserResponse"}});
      if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
      reply.json_body(200, *signed_in);
    });
  }
  if (action == "signInWithCustomToken") {
    auto custom = auth::verify_custom_token(key_, text(body, "token"), now, options_.accept_unsigned_custom_tokens);
    if (!custom) return reply.error(400, "INVALID_CUSTOM_TOKEN : " + custom.error().message);
    auto user = users_.find_by_uid(custom->uid);
    const bool is_new = !user;
    if (is_new) {
      user = json::object{{"localId", custom->uid},
                          {"createdAt", std::to_string(now * 1000)},
                          {"lastLoginAt", std::to_string(now * 1000)},
                          {"disabled", false},
                          {"provider", "custom"}};
      if (auto status = users_.create(*user); !status) return reply.error(500, "INTERNAL_ERROR");
    } else if (const json::value* d = user->if_contains("disabled"); d && d->is_bool() && d->get_bool()) {
      return reply.error(400, "USER_DISABLED");
    }
    // This session's tokens: signed in by "custom", with the token's claims over the user's own.
    json::object session_user = *user;
    session_user["provider"] = "custom";
    json::object claims;
    if (const json::value* own = user->if_contains("customClaims"); own && own->is_object()) claims = own->get_object();
    for (const auto& [name, value] : custom->claims) claims[name] = value;
    session_user["customClaims"] = std::move(claims);
    auto signed_in = session(session_user, {{"kind", "identitytoolkit#VerifyCustomTokenResponse"}, {"isNewUser", is_new}});
    if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
    return reply.json_body(200, *signed_in);
  }
  if (action == "signInWithPassword") {
    const std::string email = text(body, "email");
    const std::string password = text(body, "password");
    if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
    if (password.empty()) return reply.error(400, "MISSING_PASSWORD");
    const std::string account = auth::normalize_email(email);
    const std::string address = reply.exchange->remote_address();
    if (!account_failures_.allowed(account, now) || !address_failures_.allowed(address, now)) {
      return reply.error(400, "TOO_MANY_ATTEMPTS_TRY_LATER : Too many unsuccessful login attempts. Please try "
                              "again later.");
    }
    auto user = users_.find_by_email(email);
    if (!user) {
      address_failures_.failed(address, now);
      return reply.error(400, "EMAIL_NOT_FOUND");
    }
    if (const json::value* d = user->if_contains("disabled"); d && d->is_bool() && d->get_bool()) {
      return reply.error(400, "USER_DISABLED");
    }
    const std::string hash = text(*user, "passwordHash");
    return hasher_.verify(hash, password, [this, reply, user = std::move(*user), session, now, account,
                                           address](bool matches) mutable {
      if (!matches) {
        account_failures_.failed(account, now);
        address_failures_.failed(address, now);
        return reply.error(400, "INVALID_PASSWORD");
      }
      account_failures_.succeeded(account);
      user["lastLoginAt"] = std::to_string(now * 1000);
      users_.update(user);
      auto signed_in = session(user, {{"kind", "identitytoolkit#VerifyPasswordResponse"}, {"registered", true}});
      if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
      reply.json_body(200, *signed_in);
    });
  }
  if (action == "lookup") {
    auto user = user_of_token();
    if (!user) return reply.error(400, "INVALID_ID_TOKEN");
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#GetAccountInfoResponse"},
                                             {"users", json::array{public_user(*user)}}});
  }
  if (action == "delete") {
    auto user = user_of_token();
    if (!user) return reply.error(400, "INVALID_ID_TOKEN");
    if (auto status = users_.remove(text(*user, "localId")); !status) return reply.error(500, "INTERNAL_ERROR");
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#DeleteAccountResponse"}});
  }
  if (action == "update") {
    auto user = user_of_token();
    if (!user) return reply.error(400, "INVALID_ID_TOKEN");
    if (const json::value* name = body.if_contains("displayName"); name && name->is_string()) {
      (*user)["displayName"] = *name;
    }
    if (auto email = text(body, "email"); !email.empty()) {
      if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
      (*user)["email"] = auth::normalize_email(email);
    }
    const std::string password = text(body, "password");
    auto finish = [this, reply, session](json::object user, bool new_session) {
      if (auto status = users_.update(user); !status) {
        return reply.error(400, status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      json::object out = public_user(user);
      out["kind"] = "identitytoolkit#SetAccountInfoResponse";
      if (new_session) {
        auto signed_in = session(user, std::move(out));
        if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
        return reply.json_body(200, *signed_in);
      }
      reply.json_body(200, out);
    };
    if (password.empty()) return finish(std::move(*user), false);
    if (password.size() < options_.min_password_length) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " +
                                  std::to_string(options_.min_password_length) + " characters");
    }
    // A new password ends every other session: their refresh tokens are revoked; this one gets new tokens.
    return hasher_.hash(password, [this, reply, user = std::move(*user), finish](std::string hash) mutable {
      if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
      user["passwordHash"] = hash;
      user["provider"] = "password";
      users_.revoke_refresh_tokens(text(user, "localId"));
      finish(std::move(user), true);
    });
  }
  reply.error(400, "OPERATION_NOT_ALLOWED");
}

}  // namespace backside::proto::identity
