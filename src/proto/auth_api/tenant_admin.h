#pragma once
// Tenants for the admin, in the Identity Toolkit v2 API's form, so that firebase-admin's auth().tenantManager()
// works (with FIREBASE_AUTH_EMULATOR_HOST; under --dev it sends the emulator's `owner` token), as does curl with the
// admin token (`Authorization: Bearer <admin token>`):
//   POST   /identitytoolkit.googleapis.com/v2/projects/{project}/tenants  {displayName}          createTenant
//   GET    .../tenants?pageSize=N&pageToken=T                                                   listTenants
//   GET    .../tenants/{id}                                                                     getTenant
//   PATCH  .../tenants/{id}?updateMask=displayName  {displayName}                               updateTenant
//   DELETE .../tenants/{id}                          the tenant and all its users               deleteTenant
// A tenant is answered as Firebase's resource: {name: "projects/{project}/tenants/{id}", displayName,
// allowPasswordSignup: true, enableEmailLinkSignin: false, enableAnonymousUser: true}. Email/password and anonymous
// sign-in are always on; a request to change what Backside has not (email links, MFA, SMS, reCAPTCHA, password
// policies) is refused with INVALID_ARGUMENT naming the field, never ignored. Any other credential gets 401.
#include <memory>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/user_directories.h"
#include "net/http.h"

namespace backside::proto::auth_api {

class TenantAdmin {
 public:
  TenantAdmin(auth::UserDirectories& directories, const auth::Authenticator& authenticator)
      : directories_(directories), authenticator_(authenticator) {}

  static bool handles(std::string_view path);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  auth::UserDirectories& directories_;
  const auth::Authenticator& authenticator_;
};

}  // namespace backside::proto::auth_api
