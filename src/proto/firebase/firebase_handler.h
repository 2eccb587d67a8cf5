#pragma once
// The Firebase Realtime Database front door: the WebSocket endpoint /.ws that the official
// SDKs connect to (`connectDatabaseEmulator`), and the long-poll transport /.lp that browsers fall back to.
// Each accepted WebSocket or long-poll session becomes one Connection on the database named by `ns`; a WebSocket
// with `s=<session id>` upgrades that long-poll session instead.
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "db/registry.h"
#include "net/http.h"
#include "proto/firebase/connection.h"
#include "proto/firebase/long_poll_sessions.h"

namespace backside::proto::firebase {

class FirebaseHandler {
 public:
  FirebaseHandler(db::Registry& registry, FirebaseOptions options, LongPollOptions long_poll = {});
  ~FirebaseHandler();

  // An upgrade request to /.ws?v=5&ns=NS[&s=..][&ls=..][&p=..][&ac=..].
  net::WebSocketAccept accept_websocket(const net::HttpRequest& request,
                                        std::shared_ptr<net::WebSocketConnection> connection);
  // Any request to /.lp (the long-poll transport).
  void handle_long_poll(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);
  // The I/O context that runs the connections' credential expiry timers and the long-poll sessions' hold and
  // idle timers (the server's, once it exists; before the first request).
  void set_io_context(boost::asio::io_context& io) { options_.io = &io; }
  // Ends the long-poll sessions (their onDisconnect writes are queued) and stops their timers: at shutdown, before
  // the databases stop and before the I/O context does.
  void close_long_polls();

 private:
  // A new connection naming its client's previous session (`ls`) ends that one (proto/firebase/session_registry.h).
  void end_replaced_session(const std::string& id);

  db::Registry& registry_;
  SessionRegistry sessions_;  // before options_, which points to it
  FirebaseOptions options_;
  std::unique_ptr<LongPollSessions> long_polls_;
};

}  // namespace backside::proto::firebase
