#pragma once
// The HTTP surface the front doors see: a request, a way to answer it, a way to turn the connection into a
// server-to-client stream (Server-Sent Events), and a way to accept a WebSocket upgrade. Transport details stay in
// net/.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "metrics/server_metrics.h"
#include "net/tls_context.h"

namespace backside::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A one-way byte stream to a client with a bounded queue: a reader too slow to keep up is dropped, never buffered
// without limit. Thread-safe.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues bytes; false if the stream is closed (or was just closed because its queue overflowed).
  virtual bool send(std::shared_ptr<const std::string> bytes) = 0;
  // Sends what is queued, then closes.
  virtual void close() = 0;
  // Called once, on an I/O thread, when the stream ends for any reason (peer gone, overflow, close, shutdown).
  virtual void on_closed(std::function<void()> callback) = 0;
  // Sends `bytes` whenever the stream has been idle for `interval_seconds` (keep-alive comments/events).
  virtual void keep_alive(std::shared_ptr<const std::string> bytes, int interval_seconds) = 0;
};

// One request's reply channel. Exactly one of reply() or start_stream() must be called, from any thread.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual void reply(HttpResponse&& response) = 0;
  // Sends the response head (its body, if any, is sent as the first bytes) and keeps the connection for streaming.
  virtual std::shared_ptr<EventStream> start_stream(HttpResponse&& head) = 0;
  virtual const std::string& remote_address() const = 0;
};

// A connection a front door talks over, whatever carries it (a raw TCP stream, a WebSocket: one message per send).
// Thread-safe: sends and close() may be called from any thread (e.g. a database's writer thread), including before
// the connection is fully set up (what is sent waits).
class Connection {
 public:
  virtual ~Connection() = default;
  // Queues bytes (on a WebSocket: one data frame, text unless the endpoint asked for binary). They go out in call
  // order, one write at a time. Returns false if the connection is closed or closing; when the queued bytes exceed
  // ServerOptions::max_stream_queue_bytes the connection is dropped (logged) and send returns false.
  virtual bool send(std::shared_ptr<const std::string> bytes) = 0;
  // Queues `head` and then `body` as one send, without joining them: `head` is this connection's own (a few bytes: a
  // STOMP MESSAGE's subscription and message-id), `body` is shared with the other connections it goes to and is not
  // copied. The queued bytes counted against the bound include the head.
  virtual bool send(std::string head, std::shared_ptr<const std::string> body) = 0;
  // Sends what is queued, then closes the connection (a WebSocket with close code 1000 and `reason`).
  virtual void close(std::string reason) = 0;
  // Runs `fn` where this connection's bytes are delivered (its strand), after what is running there now.
  virtual void post(std::function<void()> fn) = 0;
  virtual const std::string& remote_address() const = 0;
  // Stops (true) or resumes (false) reading from the peer: backpressure for a front door that has too many of its
  // requests still unanswered. Thread-safe; what was already read is still delivered.
  virtual void pause_reading(bool paused) = 0;
  // The client certificate the TLS handshake verified (the STOMP port, with client certificates configured).
  virtual std::optional<ClientCertificate> client_certificate() const { return std::nullopt; }
};

// The server side of one accepted WebSocket, as a front door sees it.
class WebSocketConnection : public Connection {
 public:
  using Connection::close;
  // Queues several messages with nothing from other threads between them (the frames of one split message).
  virtual bool send_all(std::span<const std::shared_ptr<const std::string>> messages) = 0;
  // Sends what is already queued, then a close frame with `code` (RFC 6455 §7.4, e.g. 1000 normal, 1002 protocol
  // error, 1008 policy, 1009 too big) and `reason` (truncated to 123 bytes), then ends the connection.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  void close(std::string reason) override { close(1000, std::move(reason)); }
};

// A raw TCP connection on a protocol port (STOMP): bytes in, bytes out.
class StreamConnection : public Connection {};

// What a front door plugs into an accepted raw connection: on_bytes for each chunk read (any framing is the door's
// job), then on_close exactly once. Called on the connection's strand, one call at a time.
class StreamEndpoint {
 public:
  virtual ~StreamEndpoint() = default;
  virtual void on_bytes(std::string_view bytes) = 0;
  virtual void on_close() = 0;
  // The server is shutting down (docs/operations.md#shutdown): send the protocol's last words (a STOMP ERROR) if it
  // has any. The connection is closed right after, once what is queued is written; on_close follows.
  virtual void on_server_shutdown() {}
};

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual std::shared_ptr<StreamEndpoint> accept_stream(std::shared_ptr<StreamConnection> connection) = 0;
};

// What a front door plugs into an accepted WebSocket. Called on the connection's I/O strand, one call at a time,
// in order: on_open once (after the upgrade response was sent), on_message for each complete message, then
// on_close exactly once (also if the upgrade itself failed). Must not block; hand long work to other threads.
class WebSocketEndpoint {
 public:
  virtual ~WebSocketEndpoint() = default;
  virtual void on_open() {}
  virtual void on_message(std::string&& message) = 0;
  virtual void on_close() = 0;
  // The server is shutting down (docs/operations.md#shutdown): send the protocol's last words (a STOMP ERROR) if it
  // has any. The connection is then closed with code 1001 (going away), once what is queued is written; clients
  // reconnect, to this server once it is back or to another one. Only once open; on_close follows.
  virtual void on_server_shutdown() {}
};

// A front door's answer to an upgrade request. endpoint == nullptr refuses the upgrade (404 Not Found).
struct WebSocketAccept {
  std::shared_ptr<WebSocketEndpoint> endpoint;
  // The chosen Sec-WebSocket-Protocol: one of the protocols the client offered in the request's
  // Sec-WebSocket-Protocol header, or "" for none (the header is then not sent).
  std::string subprotocol;
  // Largest incoming message accepted; a larger one closes the connection with 1009. 0 = the server's default
  // (ServerOptions::max_websocket_message_bytes).
  std::size_t max_message_bytes = 0;
  // The door's own splitting of long outgoing messages into several WebSocket messages (Firebase sends a piece
  // count, then the pieces): a message (send, send_all) longer than split_above bytes goes out as the messages `split` returns, with
  // nothing else between them. Applies to what is sent from on_open on.
  std::size_t split_above = SIZE_MAX;
  std::function<std::vector<std::shared_ptr<const std::string>>(const std::shared_ptr<const std::string>&)> split;
  // What the connection is counted as in backside_open_connections while it is open: each door says (the Firebase
  // door's WebSockets, STOMP's).
  metrics::ConnectionKind kind = metrics::ConnectionKind::firebase_websocket;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void handle(HttpRequest&& request, std::shared_ptr<HttpExchange> exchange) = 0;
  // A WebSocket upgrade request (`websocket::is_upgrade`): return an endpoint to accept it. `connection` is the
  // connection-to-be; keep it to send (sends before on_open are queued). The default refuses every upgrade.
  virtual WebSocketAccept accept_websocket(const HttpRequest& /*request*/,
                                           std::shared_ptr<WebSocketConnection> /*connection*/) {
    return {};
  }
};

}  // namespace backside::net
