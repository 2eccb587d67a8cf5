#include "auth/jwt.h"

#include <boost/json/parse.hpp>

#include "util/base64.h"

namespace backside::auth {

namespace json = boost::json;

namespace {

Result<json::object> decode_json_part(std::string_view part, const char* what) {
  auto text = base64_decode(part);
  if (!text) return invalid(std::string("JWT ") + what + " is not base64url");
  json::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return invalid(std::string("JWT ") + what + " is not a JSON object");
  return std::move(value.get_object());
}

}  // namespace

Result<Jwt> decode_jwt(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return invalid("not a JWT (expected header.payload.signature)");
  }
  Jwt jwt;
  auto header = decode_json_part(token.substr(0, first), "header");
  if (!header) return header.error();
  auto claims = decode_json_part(token.substr(first + 1, second - first - 1), "payload");
  if (!claims) return claims.error();
  auto signature = base64_decode(token.substr(second + 1));
  if (!signature) return invalid("JWT signature is not base64url");
  jwt.header = std::move(*header);
  jwt.claims = std::move(*claims);
  jwt.signing_input = token.substr(0, second);
  jwt.signature = std::move(*signature);
  return jwt;
}

}  // namespace backside::auth
