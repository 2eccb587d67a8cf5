#include "proto/stomp/stomp_handler.h"

#include <algorithm>
#include <boost/beast/http/rfc7230.hpp>

#include "proto/stomp/stomp_session.h"

namespace backside::proto::stomp {

namespace {

// A STOMP session's endpoint on each of its carriers: a raw TCP connection (--stomp-port) and a WebSocket (/stomp).
// The connection owns its endpoint and the endpoint its session; the session holds the connection weakly.
class TcpStomp : public net::StreamEndpoint {
 public:
  explicit TcpStomp(std::shared_ptr<StompSession> session) : session_(std::move(session)) {}
  void on_bytes(std::string_view bytes) override { session_->on_bytes(bytes); }
  void on_close() override { session_->on_closed(); }
  void on_server_shutdown() override { session_->server_shutting_down(); }

 private:
  std::shared_ptr<StompSession> session_;
};

class WebSocketStomp : public net::WebSocketEndpoint {
 public:
  explicit WebSocketStomp(std::shared_ptr<StompSession> session) : session_(std::move(session)) {}
  void on_message(std::string&& message) override { session_->on_bytes(message); }
  void on_close() override { session_->on_closed(); }
  void on_server_shutdown() override { session_->server_shutting_down(); }

 private:
  std::shared_ptr<StompSession> session_;
};

}  // namespace

std::shared_ptr<net::StreamEndpoint> StompHandler::accept_stream(std::shared_ptr<net::StreamConnection> connection) {
  auto session = std::make_shared<StompSession>(registry_, authenticator_, options_, connection);
  session->start_connect_deadline();
  return std::make_shared<TcpStomp>(std::move(session));
}

net::WebSocketAccept StompHandler::accept_websocket(const net::HttpRequest& request,
                                                    std::shared_ptr<net::WebSocketConnection> connection) {
  // RFC 6455 §4.2.2: the answer is one of the tokens the client offered, compared whole (not a substring).
  std::vector<std::string> offered;
  auto [first, last] = request.equal_range(boost::beast::http::field::sec_websocket_protocol);
  for (auto field = first; field != last; ++field) {
    for (auto token : boost::beast::http::token_list(field->value())) offered.emplace_back(token);
  }
  std::string chosen;
  for (const char* candidate : {"v12.stomp", "v11.stomp", "v10.stomp"}) {
    if (std::find(offered.begin(), offered.end(), candidate) != offered.end()) {
      chosen = candidate;
      break;
    }
  }
  auto session = std::make_shared<StompSession>(registry_, authenticator_, options_, connection);
  session->start_connect_deadline();
  net::WebSocketAccept accept;
  accept.endpoint = std::make_shared<WebSocketStomp>(std::move(session));
  accept.subprotocol = chosen;
  accept.max_message_bytes = 17 * 1024 * 1024;
  accept.kind = metrics::ConnectionKind::stomp_websocket;
  return accept;
}

}  // namespace backside::proto::stomp
