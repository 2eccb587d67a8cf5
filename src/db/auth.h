#pragma once
// Who is asking: the identity a front door established for a connection or request.
#include <boost/json/object.hpp>
#include <memory>

namespace backside::db {

struct Auth {
  bool admin = false;                                  // the admin credential: bypasses rules
  std::shared_ptr<const boost::json::object> claims;   // token claims (rules' `auth`); nullptr = unauthenticated
};

}  // namespace backside::db
