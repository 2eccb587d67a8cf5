#include "net/websocket_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "util/base64.h"

namespace backside::net {

namespace http = boost::beast::http;

std::optional<WebSocketUpgradeRefusal> refuse_websocket_upgrade(const HttpRequest& request) {
  const auto version = request.find(http::field::sec_websocket_version);
  if (version == request.end()) {
    return WebSocketUpgradeRefusal{http::status::upgrade_required, "Sec-WebSocket-Version is missing: use 13"};
  }
  if (version->value() != "13") {
    return WebSocketUpgradeRefusal{http::status::upgrade_required,
                                   "Sec-WebSocket-Version " + std::string(version->value()) +
                                       " is not supported: use 13"};
  }
  const auto key = request.find(http::field::sec_websocket_key);
  if (key == request.end()) return WebSocketUpgradeRefusal{http::status::bad_request, "Sec-WebSocket-Key is missing"};
  // RFC 6455 §4.1: a base64-encoded 16-byte nonce.
  const auto nonce = base64_decode(key->value());
  if (!nonce || nonce->size() != 16) {
    return WebSocketUpgradeRefusal{http::status::bad_request,
                                   "Sec-WebSocket-Key must be 16 bytes in base64 (24 characters)"};
  }
  return std::nullopt;
}

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

std::string websocket_upgrade_response(const HttpRequest& request, std::string_view subprotocol) {
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: backside\r\n"
      "Sec-WebSocket-Accept: ";
  response += websocket_accept_key(request[http::field::sec_websocket_key]);
  response += "\r\n";
  if (!subprotocol.empty()) {
    response += "Sec-WebSocket-Protocol: ";
    response += subprotocol;
    response += "\r\n";
  }
  response += "\r\n";
  return response;
}

}  // namespace backside::net
