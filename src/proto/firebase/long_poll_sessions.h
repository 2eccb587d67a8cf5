#pragma once
// Every long-poll session of the server (long_poll_session.h) and the /.lp front door: starts
// sessions (bounded server-wide and per client address), routes polls and leaves to them by id and password, and
// hands an upgrading WebSocket (/.ws?s=<session id>) to the session it names. The sessions' timers run on the
// server's I/O context (FirebaseOptions::io), which must be set before the first request; close_all() ends every
// session and stops their timers, and must run before that I/O context stops.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "db/registry.h"
#include "net/connection_limiter.h"
#include "net/http.h"
#include "proto/firebase/connection.h"
#include "proto/firebase/long_poll_codec.h"
#include "proto/firebase/long_poll_session.h"
#include "util/log_throttle.h"

namespace backside::proto::firebase {

class LongPollSessions {
 public:
  LongPollSessions(db::Registry& registry, const FirebaseOptions& firebase, LongPollOptions options = {});
  // close_all(), if it has not run: a session left running would call back into a registry that is gone.
  ~LongPollSessions();
  LongPollSessions(const LongPollSessions&) = delete;
  LongPollSessions& operator=(const LongPollSessions&) = delete;

  // Any request to /.lp.
  void handle(const net::HttpRequest& request, std::shared_ptr<net::HttpExchange> exchange);
  // An upgrade to /.ws?s=<session id>: the endpoint that moves that session onto the WebSocket, or a refusal.
  net::WebSocketAccept accept_upgrade(const std::string& session_id, std::shared_ptr<net::WebSocketConnection> socket);
  // Ends every session (running their onDisconnect writes) and stops their timers; later starts are refused. At
  // shutdown: before the databases stop, and before the I/O context that runs the timers does.
  void close_all();

 private:
  void start(const net::HttpRequest& request, const long_poll::QueryParams& params,
             std::shared_ptr<net::HttpExchange> exchange);
  void forget(const LongPollSession& session);
  std::shared_ptr<LongPollSession> find(const std::string& id, const std::string& password);

  db::Registry& registry_;
  const FirebaseOptions& firebase_;
  const LongPollOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<LongPollSession>> sessions_;       // by long-poll id
  std::unordered_map<std::string, std::weak_ptr<LongPollSession>> by_connection_;  // by handshake session id
  net::PerAddressCount per_address_;  // registered sessions (and ones being started) by client address
  LogThrottle refusals_log_{std::chrono::seconds(10)};
  bool closed_ = false;  // close_all() ran
};

}  // namespace backside::proto::firebase
