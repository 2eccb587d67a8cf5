#include "proto/auth_api/identity_handler.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <chrono>

#include "auth/custom_tokens.h"
#include "auth/jwt.h"
#include "proto/auth_api/identity_common.h"
#include "util/unix_time.h"

namespace backside::proto::auth_api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kAccounts = "/identitytoolkit.googleapis.com/v1/accounts:";
constexpr std::string_view kToken = "/securetoken.googleapis.com/v1/token";
constexpr std::string_view kJwks = "/.well-known/jwks.json";
constexpr std::string_view kTooManySignUps =
    "TOO_MANY_ATTEMPTS_TRY_LATER : Too many accounts were created from this address. Please try again later.";

// A tenant's refresh tokens name it after the random part ("<random>.<tenant>"), so that the token endpoint, which
// gets nothing else, finds the directory; the project's have no suffix. Only a directory's stored hash makes one
// valid: the tenant's directory is asked first, then the project's, which keeps the tokens of earlier versions
// working — those of the default database ("<random>.<its name>", or no suffix) now belong to the project's users,
// and those of another database D ("<random>.D") to tenant D (auth/user_migration.h).
std::string tenant_of_refresh_token(const std::string& token) {
  const std::size_t dot = token.rfind('.');
  return dot == std::string::npos ? std::string() : token.substr(dot + 1);
}

}  // namespace

IdentityHandler::IdentityHandler(auth::UserDirectories& directories, const auth::IdTokens& tokens,
                                 const auth::SigningKey& key, const auth::Authenticator& authenticator,
                                 auth::PasswordHasher& hasher, auth::PasswordSignIn& sign_in, IdentityOptions options)
    : directories_(directories),
      tokens_(tokens),
      key_(key),
      options_(options),
      hasher_(hasher),
      sign_in_(sign_in),
      admin_(directories, hasher_, authenticator, key, options.min_password_length),
      tenant_admin_(directories, authenticator),
      address_sign_ups_(options.sign_ups_per_address) {}

bool IdentityHandler::handles(std::string_view path) {
  return path.substr(0, kAccounts.size()) == kAccounts || path == kToken || path == kJwks ||
         AccountAdmin::handles(path) || TenantAdmin::handles(path);
}

void IdentityHandler::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  Reply reply{std::move(exchange), request.version(), request.keep_alive()};
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path == kJwks) return reply.json_body(200, json::object{{"keys", json::array{key_.jwk()}}});
  if (AccountAdmin::handles(path)) return admin_.handle(std::move(request), std::move(reply.exchange));
  if (TenantAdmin::handles(path)) return tenant_admin_.handle(std::move(request), std::move(reply.exchange));
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

  const std::int64_t now = unix_seconds();
  // The directory the request addresses: its tenant's, or the project's users.
  std::string tenant = text(body, "tenantId");
  // Signs `user` of `tenant` in: an ID token and a refresh token. A refresh keeps its refresh token (as Firebase
  // does), so refreshing adds nothing to the store and a refresh racing a revocation cannot hand out a live token.
  auto session = [this, now](auth::UserStore& users, const std::string& tenant, const json::object& user,
                             json::object out, const std::string& refresh_token = {}) -> Result<json::object> {
    const auth::TokenSubject subject = auth::token_subject_of(user, tenant, now);
    auto id_token = tokens_.mint(subject, now);
    if (!id_token) return id_token.error();
    std::string refresh = refresh_token;
    if (refresh.empty()) {
      refresh = tenant.empty() ? random_id(32) : random_id(32) + "." + tenant;
      if (auto stored = users.add_refresh_token(refresh, subject.uid); !stored) return stored.error();
    }
    out["idToken"] = *id_token;
    out["refreshToken"] = refresh;
    out["expiresIn"] = std::to_string(tokens_.lifetime_seconds());
    out["localId"] = subject.uid;
    if (!subject.email.empty()) out["email"] = subject.email;
    return out;
  };

  if (path == kToken) {
    if (text(body, "grant_type") != "refresh_token") return reply.error(400, "INVALID_GRANT_TYPE");
    const std::string refresh_token = text(body, "refresh_token");
    std::string token_tenant = tenant_of_refresh_token(refresh_token);
    std::shared_ptr<auth::UserStore> users;
    std::optional<auth::UserStore::RefreshTokenOwner> owner;
    for (const std::string& candidate : {token_tenant, std::string()}) {
      auto directory = directories_.of(candidate);
      if (directory && (owner = (*directory)->owner_of_refresh_token(refresh_token))) {
        users = std::move(*directory);
        token_tenant = candidate;
        break;
      }
      if (candidate.empty()) break;  // the project's was asked
    }
    if (!owner) return reply.error(400, "INVALID_REFRESH_TOKEN");
    const auto uid = &owner->uid;
    auto user = users->find_by_uid(*uid);
    if (!user) return reply.error(400, "USER_NOT_FOUND");
    // Firebase's answers, on which the Auth SDK signs the user out (USER_DISABLED, TOKEN_EXPIRED).
    if (auth::user_disabled(*user)) return reply.error(400, "USER_DISABLED");
    if (owner->revoked) return reply.error(400, "TOKEN_EXPIRED");
    auto signed_in = session(*users, token_tenant, *user, {}, refresh_token);
    if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
    json::object out{{"access_token", (*signed_in)["idToken"]}, {"id_token", (*signed_in)["idToken"]},
                     {"refresh_token", (*signed_in)["refreshToken"]}, {"expires_in", (*signed_in)["expiresIn"]},
                     {"token_type", "Bearer"}, {"user_id", *uid}, {"project_id", "backside"}};
    return reply.json_body(200, out);
  }

  const std::string action(path.substr(kAccounts.size()));
  const bool by_token = action == "lookup" || action == "update" || action == "delete";
  std::optional<std::string> token_uid;  // the user an ID token in the body names (lookup/update/delete)
  std::int64_t token_auth_time = 0;
  if (by_token) {
    // The user is looked up below, to answer with Firebase's codes (USER_NOT_FOUND, USER_DISABLED, TOKEN_EXPIRED).
    auto verified = tokens_.verify_any(text(body, "idToken"), /*check_user=*/false);
    if (!verified || !*verified) return reply.error(400, "INVALID_ID_TOKEN");
    if (body.contains("tenantId") && tenant != (*verified)->tenant) return reply.error(400, "TENANT_ID_MISMATCH");
    tenant = (*verified)->tenant;
    const json::value* variable = (*verified)->identity.variable.get();
    if (!variable || !variable->is_object()) return reply.error(400, "INVALID_ID_TOKEN");
    token_uid = text(variable->get_object(), "uid");
    token_auth_time = (*verified)->auth_time;
  }
  auto directory = directories_.of(tenant);
  if (!directory) return reply_directory_error(reply, directory.error());
  // Shared with the callbacks below: a tenant deleted meanwhile leaves them a store to finish with.
  std::shared_ptr<auth::UserStore> store = std::move(*directory);
  auth::UserStore& users = *store;
  std::optional<json::object> token_user;
  if (by_token) {
    token_user = users.find_by_uid(*token_uid);
    if (!token_user) return reply.error(400, "USER_NOT_FOUND");
    if (auto refused = auth::why_user_refuses_token(*token_user, token_auth_time)) {
      return reply.error(400, std::string(*refused));
    }
  }

  if (action == "signUp") {
    const std::string email = text(body, "email");
    const std::string password = text(body, "password");
    const std::string address = reply.exchange->remote_address();
    json::object user{{"localId", random_id(21)},
                      {"createdAt", std::to_string(now * 1000)},
                      {"lastLoginAt", std::to_string(now * 1000)},
                      {"disabled", false}};
    if (email.empty() && password.empty()) {  // signInAnonymously
      if (!address_sign_ups_.reserve(address, now)) return reply.error(400, std::string(kTooManySignUps));
      address_sign_ups_.count(address, now);
      user["provider"] = "anonymous";
      if (auto status = users.create(user); !status) return reply.error(500, "INTERNAL_ERROR");
      auto signed_in = session(users, tenant, user, {{"kind", "identitytoolkit#SignupNewUserResponse"}});
      if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
      return reply.json_body(200, *signed_in);
    }
    if (!valid_email(email)) return reply.error(400, email.empty() ? "MISSING_EMAIL" : "INVALID_EMAIL");
    if (password.empty()) return reply.error(400, "MISSING_PASSWORD");
    if (password.size() < options_.min_password_length) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " +
                                  std::to_string(options_.min_password_length) + " characters");
    }
    if (users.find_by_email(email)) return reply.error(400, "EMAIL_EXISTS");
    // Counted when the hash is queued, whatever its outcome: the limit is on the work an address makes us do.
    if (!address_sign_ups_.reserve(address, now)) return reply.error(400, std::string(kTooManySignUps));
    user["email"] = auth::normalize_email(email);
    user["provider"] = "password";
    const bool queued = hasher_.hash(password, [reply, store, tenant, user = std::move(user),
                                                session](std::string hash) mutable {
      if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
      user["passwordHash"] = hash;
      if (auto status = store->create(user); !status) {
        return reply.error(status.error().message == "EMAIL_EXISTS" ? 400 : 500,
                           status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      auto signed_in = session(*store, tenant, user, {{"kind", "identitytoolkit#SignupNewUserResponse"}});
      if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
      reply.json_body(200, *signed_in);
    });
    if (!queued) {
      address_sign_ups_.release(address);
      return reply.error(503, std::string(auth::kPasswordHashesBusy));
    }
    address_sign_ups_.count(address, now);
    return;
  }
  if (action == "signInWithCustomToken") {
    auto custom = auth::verify_custom_token(key_, text(body, "token"), now, options_.accept_unsigned_custom_tokens);
    if (!custom) return reply.error(400, "INVALID_CUSTOM_TOKEN : " + custom.error().message);
    // The token says whose user it signs in; a request for another directory is refused, as Firebase does.
    if (custom->tenant != tenant) return reply.error(400, "TENANT_ID_MISMATCH");
    auto user = users.find_by_uid(custom->uid);
    const bool is_new = !user;
    if (is_new) {
      user = json::object{{"localId", custom->uid},
                          {"createdAt", std::to_string(now * 1000)},
                          {"lastLoginAt", std::to_string(now * 1000)},
                          {"disabled", false},
                          {"provider", "custom"}};
      if (auto status = users.create(*user); !status) return reply.error(500, "INTERNAL_ERROR");
    } else if (auth::user_disabled(*user)) {
      return reply.error(400, "USER_DISABLED");
    }
    // This session's tokens: signed in by "custom", with the token's claims over the user's own.
    json::object session_user = *user;
    session_user["provider"] = "custom";
    json::object claims;
    if (const json::value* own = user->if_contains("customClaims"); own && own->is_object()) claims = own->get_object();
    for (const auto& [name, value] : custom->claims) claims[name] = value;
    session_user["customClaims"] = std::move(claims);
    auto signed_in = session(users, tenant, session_user,
                             {{"kind", "identitytoolkit#VerifyCustomTokenResponse"}, {"isNewUser", is_new}});
    if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
    return reply.json_body(200, *signed_in);
  }
  if (action == "signInWithPassword") {
    const std::string email = text(body, "email");
    const std::string password = text(body, "password");
    if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
    if (password.empty()) return reply.error(400, "MISSING_PASSWORD");
    return sign_in_.check(tenant, email, password, reply.exchange->remote_address(),
                          [reply, store, tenant, session, now](Result<json::object> user) {
                            if (!user) {
                              return reply.error(user.error().code == ErrorCode::unavailable ? 503 : 400,
                                                 user.error().message);
                            }
                            (*user)["lastLoginAt"] = std::to_string(now * 1000);
                            // Informational (the Admin SDK shows it): a sign-in does not fail for it.
                            (void)store->update(*user);
                            auto signed_in = session(*store, tenant, *user,
                                                     {{"kind", "identitytoolkit#VerifyPasswordResponse"},
                                                      {"registered", true}});
                            if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
                            reply.json_body(200, *signed_in);
                          });
  }
  if (action == "lookup") {
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#GetAccountInfoResponse"},
                                             {"users", json::array{public_user(*token_user, tenant)}}});
  }
  if (action == "delete") {
    if (auto status = users.remove(*token_uid); !status) return reply.error(500, "INTERNAL_ERROR");
    return reply.json_body(200, json::object{{"kind", "identitytoolkit#DeleteAccountResponse"}});
  }
  if (action == "update") {
    json::object user = std::move(*token_user);
    if (const json::value* name = body.if_contains("displayName"); name && name->is_string()) {
      user["displayName"] = *name;
    }
    if (auto email = text(body, "email"); !email.empty()) {
      if (!valid_email(email)) return reply.error(400, "INVALID_EMAIL");
      user["email"] = auth::normalize_email(email);
    }
    const std::string password = text(body, "password");
    auto finish = [reply, store, tenant, session](json::object user, bool new_session) {
      if (auto status = store->update(user); !status) {
        return reply.error(400, status.error().message == "EMAIL_EXISTS" ? "EMAIL_EXISTS" : "INTERNAL_ERROR");
      }
      json::object out = public_user(user, tenant);
      out["kind"] = "identitytoolkit#SetAccountInfoResponse";
      if (new_session) {
        auto signed_in = session(*store, tenant, user, std::move(out));
        if (!signed_in) return reply.error(500, "INTERNAL_ERROR");
        return reply.json_body(200, *signed_in);
      }
      reply.json_body(200, out);
    };
    if (password.empty()) return finish(std::move(user), false);
    if (password.size() < options_.min_password_length) {
      return reply.error(400, "WEAK_PASSWORD : Password should be at least " +
                                  std::to_string(options_.min_password_length) + " characters");
    }
    // A new password ends every other session: their refresh tokens are revoked, and their ID tokens too (signed
    // in before now: validSince); this one gets new tokens (auth_time = now).
    const bool queued =
        hasher_.hash(password, [reply, store, user = std::move(user), finish, now](std::string hash) mutable {
          if (hash.empty()) return reply.error(500, "INTERNAL_ERROR");
          user["passwordHash"] = hash;
          user["provider"] = "password";
          user["validSince"] = std::to_string(now);
          if (!store->revoke_refresh_tokens(text(user, "localId"))) return reply.error(500, "INTERNAL_ERROR");
          finish(std::move(user), true);
        });
    if (!queued) reply.error(503, std::string(auth::kPasswordHashesBusy));
    return;
  }
  reply.error(400, "OPERATION_NOT_ALLOWED");
}

}  // namespace backside::proto::auth_api
