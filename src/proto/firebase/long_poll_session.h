#pragma once
// One session of the Firebase long-poll transport /.lp (the SDK's BrowserPollConnection) and its
// upgrade to a WebSocket. A LongPollSession is one more net::WebSocketConnection under the same Connection that serves
// WebSockets: it turns the JSONP polls into the connection's input and output, and, when the browser upgrades
// (/.ws?s=<session id>), moves the connection's output onto the WebSocket while the connection (listens, auth,
// onDisconnect) stays. The wire format is long_poll_codec.h; the registry of sessions is long_poll_sessions.h.
//
// Polls: a poll's segments are the client's messages; the poll is then held until the server has messages (or
// hold_time), answered `pRTLPCB(<n>,[msg,..]);`. A newer poll releases the held one.
// End: on the client by the close command in an answer; on the server by /.lp?disconn=t (end()), by the server's
// shutdown (stop()), or by idle_time without a request.
// Upgrade: the WebSocket gets {"t":"c","d":{"t":"a","d":{}}}; its pings are answered on it; when the client's end
// of transmission `n` arrives on the long-poll channel, the queued messages and our own `n` go out there (with the
// close command), everything later goes on the WebSocket, and the WebSocket's requests (held until then) go to the
// connection.
// Timers (hold, idle) run on the server's I/O context and reach the session weakly: a session that ends stops
// them, and one that is dropped takes them with it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/http.h"
#include "proto/firebase/connection.h"
#include "proto/firebase/long_poll_codec.h"
#include "proto/firebase/long_poll_reassembler.h"
#include "util/memory_budget.h"

namespace backside::proto::firebase {

struct LongPollOptions {
  std::chrono::milliseconds hold_time = std::chrono::seconds(20);  // a held poll is answered (maybe empty) then
  std::chrono::milliseconds idle_time = std::chrono::seconds(30);  // a session without any request is closed then
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

class LongPollSession : public net::WebSocketConnection, public std::enable_shared_from_this<LongPollSession> {
 public:
  // Runs (once or more, on any thread) when the registry should forget the session's long-poll id: the session
  // ended, or it moved to a WebSocket and its late polls stopped.
  using Forget = std::function<void(const LongPollSession&)>;

  // `executor` runs the session's timers and its deferred ends; `firebase` and `options` outlive the session.
  LongPollSession(std::string id, std::string password, std::string address, boost::asio::any_io_executor executor,
                  const FirebaseOptions& firebase, const LongPollOptions& options, Forget forget);
  ~LongPollSession() override;

  const std::string& id() const { return id_; }
  const std::string& password() const { return password_; }
  // The handshake's session id (`s`), which an upgrade names; set by start().
  const std::string& connection_session_id() const { return connection_session_id_; }

  // Opens `connection` (its handshake) and returns the body of response 0; the idle timer starts.
  std::string start(std::shared_ptr<firebase::Connection> connection, const std::string& callback_id);
  // One poll: its segments go to the connection, then it is held or answered.
  void poll(const long_poll::QueryParams& params, unsigned version, bool keep_alive,
            std::shared_ptr<net::HttpExchange> exchange);
  // The client left (disconn): ends the session now, unless a WebSocket carries it.
  void end(const char* reason);
  // The server stops: ends the session now whichever transport carries it.
  void stop(const char* reason);
  // Whether the session has ended (its connection closed).
  bool finished();

  // The WebSocket of an upgrade: bound once open, its frames, its close.
  bool bind_websocket(std::shared_ptr<net::WebSocketConnection> socket);
  void websocket_frame(const std::shared_ptr<net::WebSocketConnection>& socket, std::string&& frame);
  void websocket_closed(const std::shared_ptr<net::WebSocketConnection>& socket);

  // net::WebSocketConnection, the connection's output: queued for the next poll, or sent on the WebSocket once
  // upgraded.
  bool send(std::shared_ptr<const std::string> message) override;
  bool send(std::string head, std::shared_ptr<const std::string> body) override;
  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override;
  using net::WebSocketConnection::close;
  void close(std::uint16_t code, std::string reason) override;
  // Runs `fn` where the connection's input is delivered: on the executor, under the input lock.
  void post(std::function<void()> fn) override;
  const std::string& remote_address() const override { return address_; }  // the client's, as counted per address
  // Never paused: a long-poll client's requests come in its polls, each bounded by the request size, and at most
  // max_pending_segments of them wait here.
  void pause_reading(bool /*paused*/) override {}

 private:
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

  // Input (under in_mutex_).
  void deliver(std::string&& message);
  void switch_to_websocket();
  // Output (under out_mutex_).
  std::optional<Reply> answer_locked(Poll&& poll);
  std::optional<Reply> release_held_locked();
  std::optional<Reply> close_locked(const std::string& reason);
  // Empties the queue and ends the long-poll channel: the client fell too far behind.
  std::optional<Reply> drop_queue_locked();
  void arm_hold_timer_locked();
  void arm_idle_timer_locked(std::chrono::steady_clock::time_point due);
  void stop_timers_locked();
  // Timer expiries (on the executor).
  void hold_expired();
  void idle_expired();
  // The memory budget took the queue back (on the executor): the session ends.
  void drop_evicted();
  // finish() on the executor, outside whatever call wants the session to end (the connection's own, a delivery).
  void finish_later();
  // Runs the connection's close once (onDisconnect), stops the timers and has the registry forget the session.
  void finish();

  const std::string id_;
  const std::string password_;
  const std::string address_;
  std::string connection_session_id_;  // set by start(), before the session is registered
  boost::asio::any_io_executor executor_;
  const FirebaseOptions& firebase_;
  const LongPollOptions& options_;
  const Forget forget_;

  std::mutex in_mutex_;  // the connection's input, one call at a time; taken before out_mutex_, never after
  std::shared_ptr<firebase::Connection> connection_;
  LongPollReassembler segments_;
  MemoryCharge input_charge_;      // segments_, charged to the server's memory budget
  bool input_switched_ = false;    // the client's `n` arrived: input now comes from the WebSocket
  bool websocket_acked_ = false;   // the client's `a` arrived on the WebSocket
  std::deque<std::string> websocket_backlog_;  // WebSocket frames after `a`, before `n` on long-poll
  std::size_t websocket_backlog_bytes_ = 0;
  bool finished_ = false;

  std::mutex out_mutex_;
  long_poll::Messages queue_;
  std::size_t queued_bytes_ = 0;
  MemoryCharge queue_charge_;  // follows queued_bytes_
  std::optional<Poll> held_;
  std::int64_t next_response_ = 1;
  std::chrono::steady_clock::time_point last_request_;
  bool closing_ = false;           // the connection is over: the next answer ends with the close command
  bool lp_done_ = false;           // the close command went out
  bool output_switched_ = false;   // output goes to websocket_
  bool finish_wanted_ = false;     // finish() is on its way (finish_later)
  std::shared_ptr<net::WebSocketConnection> websocket_;
  // The session in backside_open_connections as a long-poll session, until it ends or moves to its WebSocket.
  metrics::GaugeIncrement counted_open_;
  // Reset when the timers stop (the session ended, or its long-poll id was forgotten), so that a session kept
  // alive past the I/O context (by a connection still referenced) holds no timer of it.
  std::optional<boost::asio::steady_timer> hold_timer_;
  std::optional<boost::asio::steady_timer> idle_timer_;
};

}  // namespace backside::proto::firebase
