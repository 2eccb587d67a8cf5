#pragma once
// One HTTP connection: reads requests one at a time, hands each to the handler, writes its reply. A connection
// that becomes something else hands its socket over: to a WebSocketSession on an upgrade, to an EventStreamSession
// when the handler starts a stream (net/event_stream_session.h).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "net/connection_limiter.h"
#include "net/http.h"
#include "net/http_stream.h"
#include "net/server.h"
#include "util/memory_budget.h"

namespace backside::net {

class SessionSet;
class EventStreamSession;

// Anything the server must close at shutdown (HTTP sessions, WebSocket, TCP and event stream sessions).
class Session {
 public:
  virtual ~Session() = default;
  // Closes the connection from any thread.
  virtual void shutdown() = 0;

  // The connection's place under the server's connection caps: set by the listener before start, moved along when
  // an HTTP connection becomes a WebSocket or an event stream, released (on the strand) when the socket is closed.
  ConnectionSlot connection_slot;
  // The connection in backside_open_connections, under what carries it now: taken when it starts, given back when
  // its socket is closed or handed to a session of another kind (which takes its own).
  metrics::GaugeIncrement counted_open;
};

class HttpSession : public Session, public HttpExchange, public std::enable_shared_from_this<HttpSession> {
 public:
  // `tls`: the connection's TLS channel on a TLS port (its handshake is the first read), null on a plain one.
  HttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls, HttpHandler& handler,
              const ServerOptions& options, std::shared_ptr<SessionSet> sessions);
  ~HttpSession() override;
  void start();
  // Server shutdown, from any thread: a connection waiting for a request is closed now; one whose request has
  // arrived (its head) gets to finish it, answered with Connection: close, and then closes. An upgrade asked for
  // from then on is refused (503).
  void shutdown() override;

  // HttpExchange
  void reply(HttpResponse&& response) override;
  std::shared_ptr<EventStream> start_stream(HttpResponse&& head) override;
  const std::string& remote_address() const override { return remote_address_; }

 private:
  void read_request();
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body_part(boost::beast::error_code ec);
  void on_request(boost::beast::error_code ec);
  void write_response(std::shared_ptr<HttpResponse> response);
  void fail_request(boost::beast::http::status status, const std::string& message);
  void fail_request(std::shared_ptr<HttpResponse> response);
  // After an error answer: stops sending, discards what the client still sends (for a moment), then closes.
  void linger_then_finish();
  void discard_input();
  void parse_header();  // reads until the request's head is complete, charging its bytes
  void finish(const char* reason);  // on the strand: close the socket
  void upgrade_to_websocket(HttpRequest&& request);  // on the strand
  void hand_off_stream(const std::shared_ptr<EventStreamSession>& stream);  // on the strand

  HttpStream stream_;
  HttpHandler& handler_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool keep_alive_after_reply_ = false;
  unsigned request_version_ = 11;  // of the request being answered: 10 or 11
  bool head_request_ = false;      // the request being answered is a HEAD: its answer has no body
  std::atomic<bool> answered_{false};  // reply(), start_stream() or an error answer was given to this request
  bool handed_off_ = false;  // the socket now belongs to a WebSocketSession or an EventStreamSession
  bool closed_ = false;      // the socket is closed or handed off
  bool linger_ = false;      // the answer was an error: the client may still be sending a body we did not read
  bool in_request_ = false;  // a request's head has arrived and its answer is not written yet
  bool draining_ = false;    // the server is shutting down: this connection ends after its current answer
  std::size_t discarded_bytes_ = 0;
  // The server-wide budget's share of this connection: the request body being read (until the answer is written)
  // and the response being written.
  MemoryCharge header_charge_;  // the bytes of an unfinished request head
  MemoryCharge body_charge_;
  MemoryCharge response_charge_;
  char peer_byte_buffer_[256];  // what an answered client still sends, discarded
};

// The live sessions of a server, so that shutdown can close them. A socket session (WebSocket, TCP, event stream)
// is also owned here, from its start until its socket is closed: front doors hold their connection weakly, and a
// connection with no operation pending (reading paused for backpressure, nothing to write) must still live. An
// HTTP session is only tracked: its pending operations and the handler holding its exchange keep it.
class SessionSet {
 public:
  void track(const std::shared_ptr<Session>& session);
  void own(std::shared_ptr<Session> session);
  // Forgets `session`. Returns it if it was owned: the caller keeps it until it is done with `session`.
  [[nodiscard]] std::shared_ptr<Session> remove(const Session* session);
  // Shuts every session down, and from now on every session added too (a connection that was being upgraded or
  // turned into a stream while this ran would otherwise be missed).
  void shutdown_all();
  // Waits until every session has been removed, or until `deadline`; returns how many are left.
  std::size_t wait_until_empty(std::chrono::steady_clock::time_point deadline);
  std::size_t size();
  // After the I/O threads have stopped: drops the sessions still owned, so that they go before the I/O context.
  void release_all();

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    std::shared_ptr<Session> owned;  // null for a tracked session
  };
  std::mutex mutex_;
  std::condition_variable emptied_;
  std::unordered_map<const Session*, Entry> sessions_;
  bool shutting_down_ = false;  // shutdown_all() ran
};

}  // namespace backside::net
