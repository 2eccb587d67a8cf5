#pragma once
// JSON Web Token structure (RFC 7519): header.payload.signature, each part base64url.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside::auth {

std::string base64url_encode(std::string_view bytes);
// Accepts the URL-safe and the standard alphabet, with or without padding.
Result<std::string> base64url_decode(std::string_view text);

struct Jwt {
  boost::json::object header;
  boost::json::object claims;
  std::string_view signing_input;  // "header.payload", a view into the token
  std::string signature;           // decoded bytes
};

// Splits and decodes a token without verifying anything; `token` must outlive the result.
Result<Jwt> decode_jwt(std::string_view token);

}  // namespace backside::auth
