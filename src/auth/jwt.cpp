#include "auth/jwt.h"

#include <boost/json/parse.hpp>

namespace backside::auth {

namespace json = boost::json;

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    unsigned v;
    if (c >= 'A' && c <= 'Z') v = static_cast<unsigned>(c - 'A');
    else if (c >= 'a' && c <= 'z') v = static_cast<unsigned>(c - 'a' + 26);
    else if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0' + 52);
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') {
      if (text.find_first_not_of('=', i) != std::string_view::npos) return invalid("padding inside base64url");
      break;
    } else {
      return invalid("not base64url");
    }
    buffer = ((buffer << 6) | v) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {

Result<json::object> decode_json_part(std::string_view part, const char* what) {
  auto text = base64url_decode(part);
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
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature) return invalid("JWT signature is not base64url");
  jwt.header = std::move(*header);
  jwt.claims = std::move(*claims);
  jwt.signing_input = token.substr(0, second);
  jwt.signature = std::move(*signature);
  return jwt;
}

}  // namespace backside::auth
