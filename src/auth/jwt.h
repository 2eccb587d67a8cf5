#pragma once
// JSON Web Token structure (RFC 7519): header.payload.signature, each part base64url (util/base64.h; decoding
// also takes the standard alphabet and padding).
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside::auth {

struct Jwt {
  boost::json::object header;
  boost::json::object claims;
  std::string_view signing_input;  // "header.payload", a view into the token
  std::string signature;           // decoded bytes
};

// Splits and decodes a token without verifying anything; `token` must outlive the result.
Result<Jwt> decode_jwt(std::string_view token);

}  // namespace backside::auth
