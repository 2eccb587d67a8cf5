#pragma once
// The STOMP front door (docs/protocol.md): accepts STOMP over raw TCP (--stomp-port) and over WebSocket at /stomp,
// and runs one StompSession (proto/stomp/stomp_session.h) on each net::Connection.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"
#include "proto/stomp/stomp_session.h"

namespace backside::proto::stomp {

class StompHandler : public net::StreamHandler {
 public:
  StompHandler(db::Registry& registry, const auth::Authenticator& authenticator, StompOptions options = {})
      : registry_(registry), authenticator_(authenticator), options_(options) {}
  // The I/O context for heart-beat timers (the server's, once it exists).
  void set_io_context(boost::asio::io_context& io) { options_.io = &io; }
  void set_password_sign_in(PasswordSignIn sign_in) { options_.password_sign_in = std::move(sign_in); }
  // For an upgrade to /stomp: picks v12.stomp, v11.stomp or v10.stomp (in that order of preference) among the
  // offered subprotocols; none offered is accepted too (the CONNECT frame negotiates the version anyway).
  net::WebSocketAccept accept_websocket(const net::HttpRequest& request,
                                        std::shared_ptr<net::WebSocketConnection> connection);
  // A raw TCP connection on the STOMP port (--stomp-port).
  std::shared_ptr<net::StreamEndpoint> accept_stream(std::shared_ptr<net::StreamConnection> connection) override;

 private:
  db::Registry& registry_;
  const auth::Authenticator& authenticator_;
  StompOptions options_;
};

}  // namespace backside::proto::stomp
