#pragma once
// The Firebase long-poll transport /.lp (reference §1.7, the SDK's BrowserPollConnection) and its upgrade to a
// WebSocket. A LongPollSession is one more Transport under the same Connection that serves WebSockets: it turns
// the JSONP polls into the connection's input and output, and, when the browser upgrades (/.ws?s=<session id>),
// moves the connection's output onto the WebSocket while the connection (listens, auth, onDisconnect) stays.
//
// Start:  GET /.lp?start=t&ser=..&cb=<cbId>&v=5&ns=NS → script: the callbacks, pLPCommand('start',id,pw) and
//         pRTLPCB(0,[handshake]).
// Poll:   GET /.lp?id=..&pw=..&ser=..[&seg<i>=<n>&ts<i>=<total>&d<i>=<web-safe base64>..] → the segments are the
//         client's messages (reassembled in segment order); the request is held until the server has messages
//         (or hold_seconds), answered `pRTLPCB(<n>,[msg,..]);`. A newer poll releases the held one.
// Close:  `pLPCommand('close',<last n>);` ends the session on the client; /.lp?disconn=t&id&pw (from the page that
//         /.lp?dframe=t serves) ends it on the server, as does idle_seconds without a request.
// Upgrade: the WebSocket gets {"t":"c","d":{"t":"a","d":{}}}; its pings are answered on it; when the client's end
//         of transmission `n` arrives on the long-poll channel, the queued messages and our own `n` go out there
//         (with the close command), everything later goes on the WebSocket, and the WebSocket's requests (held
//         until then) go to the connection.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "db/registry.h"
#include "net/connection_limiter.h"
#include "net/http.h"
#include "util/log_throttle.h"
#include "proto/firebase/connection.h"
#include "util/memory_budget.h"

namespace backside::proto::firebase {

struct LongPollOptions {
  int hold_seconds = 20;                                // a held poll is answered (maybe empty) after this long
  int idle_seconds = 30;                                // a session without any request for this long is closed
  std::size_t max_queue_bytes = std::size_t(16) << 20;  // server->client messages waiting for a poll
  std::size_t max_pending_segments = 1024;              // client segments waiting for an earlier one
  std::size_t max_sessions = 10000;
  // Sessions one client address (IPv4 address, IPv6 /64) may hold, so that one client cannot take every slot;
  // 0 = no cap. Exempt addresses (a reverse proxy's) are capped by max_sessions only.
  std::size_t max_sessions_per_address = 0;
  std::vector<boost::asio::ip::address> per_address_exempt;
  // Server-wide budget charged by what waits for a poll (util/memory_budget.h); nullptr = none.
  MemoryBudget* memory_budget = nullptr;
};

class LongPollSessions;

class LongPollSession : public Transport, public std::enable_shared_from_this<LongPollSession> {
 public:
  LongPollSession(LongPollSessions& owner, std::string id, std::string password, const FirebaseOptions& firebase,
                  const LongPollOptions& options);
  ~LongPollSession() override;

  // Transport (the connection's output): queued for the next poll, or sent on the WebSocket once upgraded.
  bool send(const std::shared_ptr<const std::string>& message) override;
  void close(std::uint16_t code, const std::string& reason) override;

 private:
  friend class LongPollSessions;
  friend class UpgradeEndpoint;
  struct Poll {
    std::shared_ptr<net::HttpExchange> exchange;
    unsigned version = 11;
    bool keep_alive = true;
    std::chrono::steady_clock::time_point since;
  };
  struct Reply {
    std::shared_ptr<net::HttpExchange> exchange;
    net::HttpResponse response;
  };

  // Start: opens the connection and returns the body of response 0.
  std::string start(std::shared_ptr<Connection> connection, const std::string& callback_id);
  // One poll: its segments, then it is held or answered.
  void poll(const std::unordered_map<std::string, std::string>& params, unsigned version, bool keep_alive,
            std::shared_ptr<net::HttpExchange> exchange);
  // Periodic: releases a poll held too long; closes an idle session. Returns true when the session is done.
  bool tick(std::chrono::steady_clock::time_point now);
  // The client left (disconn) or the server stops: ends the session now.
  void end(const char* reason);

  // WebSocket upgrade.
  bool bind_websocket(std::shared_ptr<net::WebSocketConnection> socket);
  void websocket_frame(const std::shared_ptr<net::WebSocketConnection>& socket, std::string&& frame);
  void websocket_closed(const std::shared_ptr<net::WebSocketConnection>& socket);

  // Input (under in_mutex_).
  bool take_segment(std::uint64_t number, std::uint64_t total, std::string&& data);
  void deliver(std::string&& message);
  void switch_to_websocket();
  // Output (under out_mutex_).
  std::optional<Reply> answer_locked(Poll&& poll);
  std::optional<Reply> close_locked(const std::string& reason);
  // Runs the connection's close once (onDisconnect), under in_mutex_, and unregisters the session.
  void finish();

  LongPollSessions& owner_;
  const std::string id_;
  const std::string password_;
  std::string address_;  // the client's, as counted per address (set before the session is registered)
  std::string connection_session_id_;  // the handshake `s`, which the upgrade names
  const FirebaseOptions& firebase_;
  const LongPollOptions& options_;

  std::mutex in_mutex_;  // the connection's input, one call at a time; taken before out_mutex_, never after
  std::shared_ptr<Connection> connection_;
  std::uint64_t next_segment_ = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> pending_segments_;  // number -> (total, data)
  std::size_t pending_bytes_ = 0;
  std::string message_;            // base64 of the message being reassembled
  std::uint64_t message_left_ = 0;  // its segments still to come
  MemoryCharge input_charge_;       // pending_segments_ and message_, charged to the server's memory budget
  bool input_switched_ = false;    // the client's `n` arrived: input now comes from the WebSocket
  bool websocket_acked_ = false;   // the client's `a` arrived on the WebSocket
  std::deque<std::string> websocket_backlog_;  // WebSocket frames after `a`, before `n` on long-poll
  std::size_t websocket_backlog_bytes_ = 0;
  bool finished_ = false;

  std::mutex out_mutex_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  MemoryCharge queue_charge_;  // follows queued_bytes_
  std::optional<Poll> held_;
  std::int64_t next_response_ = 1;
  std::chrono::steady_clock::time_point last_request_;
  bool closing_ = false;           // the connection is over: the next answer ends with the close command
  bool lp_done_ = false;           // the close command went out
  bool output_switched_ = false;   // output goes to websocket_
  bool finish_wanted_ = false;     // the sweeper should run finish()
  std::shared_ptr<net::WebSocketConnection> websocket_;
};

// Every long-poll session of the server, the /.lp front door, and the timer that expires sessions.
class LongPollSessions {
 public:
  LongPollSessions(db::Registry& registry, const FirebaseOptions& firebase, LongPollOptions options = {});
  ~LongPollSessions();

  // Any request to /.lp.
  void handle(const net::HttpRequest& request, std::shared_ptr<net::HttpExchange> exchange);
  // An upgrade to /.ws?s=<session id>: the endpoint that moves that session onto the WebSocket, or a refusal.
  net::WebSocketAccept accept_upgrade(const std::string& session_id, std::shared_ptr<net::WebSocketConnection> socket);
  // Ends every session (running their onDisconnect writes) — at shutdown, before the databases stop.
  void close_all();

 private:
  friend class LongPollSession;
  void remove(const LongPollSession& session);
  void wake();
  void sweep_loop();
  std::shared_ptr<LongPollSession> find(const std::string& id, const std::string& password);

  db::Registry& registry_;
  const FirebaseOptions& firebase_;
  const LongPollOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<LongPollSession>> sessions_;       // by long-poll id
  std::unordered_map<std::string, std::weak_ptr<LongPollSession>> by_connection_;  // by handshake session id
  net::PerAddressCount per_address_;  // registered sessions (and ones being started) by client address
  LogThrottle refusals_log_{std::chrono::seconds(10)};
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread sweeper_;
};

}  // namespace backside::proto::firebase
