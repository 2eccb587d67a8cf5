#pragma once
// User management for the admin, in the Firebase Auth admin API's form, so that firebase-admin's auth() works
// (with FIREBASE_AUTH_EMULATOR_HOST; under --dev it sends the emulator's `owner` token) as does curl with the
// admin token (`Authorization: Bearer <admin token>`):
//   POST /identitytoolkit.googleapis.com/v1/projects/{project}/accounts           createUser
//   POST .../accounts:lookup      {localId:[...]} or {email:[...]}              getUser, getUserByEmail
//   POST .../accounts:update      {localId, password?, email?, displayName?, disableUser?, customAttributes?,
//                                  validSince?}                                 updateUser, setCustomUserClaims,
//                                                                               revokeRefreshTokens
//   POST .../accounts:delete      {localId}                                     deleteUser
//   GET  .../accounts:batchGet    ?maxResults=&nextPageToken=                   listUsers
//   POST .../customTokens         {uid, claims?} -> {token}                     (Backside's: a custom token, as
//                                                                               `backside token create` mints)
// The project's users are at .../projects/{project}/..., those of tenant T at .../projects/{project}/tenants/T/...
// (firebase-admin's tenantManager().authForTenant('T'); TENANT_NOT_FOUND if there is no such tenant); customTokens
// there mint tokens that sign in T's users. Any other credential gets 401; the project in the path is not checked.
#include <memory>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/password_hasher.h"
#include "auth/signing_key.h"
#include "auth/user_directories.h"
#include "net/http.h"

namespace backside::proto::auth_api {

class AccountAdmin {
 public:
  AccountAdmin(auth::UserDirectories& directories, auth::PasswordHasher& hasher,
               const auth::Authenticator& authenticator, const auth::SigningKey& key, std::size_t min_password_length)
      : directories_(directories),
        hasher_(hasher),
        authenticator_(authenticator),
        key_(key),
        min_password_length_(min_password_length) {}

  static bool handles(std::string_view path);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  auth::UserDirectories& directories_;
  auth::PasswordHasher& hasher_;
  const auth::Authenticator& authenticator_;
  const auth::SigningKey& key_;
  std::size_t min_password_length_;
};

}  // namespace backside::proto::auth_api
