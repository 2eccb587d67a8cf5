#pragma once
// The server's half of the WebSocket opening handshake (RFC 6455 §4.2): checking an upgrade request, and the 101
// answer. The answer is the first thing the WebSocket session writes, through its writer like every frame after it,
// so that it goes through TLS on a TLS port the same way.
#include <optional>
#include <string>
#include <string_view>

#include "net/http.h"

namespace backside::net {

struct WebSocketUpgradeRefusal {
  boost::beast::http::status status;  // 400, or 426 for a version other than 13
  std::string message;
};

// For a request `websocket::is_upgrade` accepted (GET, HTTP/1.1, Connection: upgrade, Upgrade: websocket): what
// else is wrong with it, if anything.
std::optional<WebSocketUpgradeRefusal> refuse_websocket_upgrade(const HttpRequest& request);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string websocket_accept_key(std::string_view key);

// The 101 Switching Protocols answer to `request`, naming `subprotocol` if it is not empty.
std::string websocket_upgrade_response(const HttpRequest& request, std::string_view subprotocol);

}  // namespace backside::net
