#pragma once
// One WebSocket connection (RFC 6455) taken over from an HttpSession after an upgrade request. It runs on the
// connection's strand: one read loop handing each complete message to the front door's WebSocketEndpoint, and one
// write in flight at a time from a bounded queue of shared messages (a reader too slow to keep up is dropped with
// a logged reason, never buffered without limit). Pings from the peer are answered by Beast; an idle peer gets
// pings and is closed when silent for ServerOptions::websocket_idle_seconds.
//
// Life cycle: HttpSession creates it (so the front door can keep the WebSocketConnection and queue its first
// messages), asks HttpHandler::accept_websocket for an endpoint, then calls run(), which sends the 101 response
// and starts reading. The endpoint gets on_open, on_message..., and exactly one on_close.
#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "net/http.h"
#include "net/message_queue.h"
#include "net/http_session.h"
#include "net/server.h"

namespace backside::net {

class WebSocketSession : public Session,
                         public WebSocketConnection,
                         public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(boost::asio::any_io_executor strand, const ServerOptions& options,
                   std::shared_ptr<SessionSet> sessions, std::string remote_address);
  ~WebSocketSession() override;

  // Takes over the socket, answers the upgrade `request` and starts the read loop. `buffer` holds any bytes the
  // HTTP parser read past the request. Call once, on the strand.
  void run(boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer, HttpRequest request,
           WebSocketAccept accepted);

  // WebSocketConnection
  bool send(std::shared_ptr<const std::string> message) override;
  void close(std::uint16_t code, std::string reason) override;
  const std::string& remote_address() const override { return remote_address_; }
  void pause_reading(bool paused) override;
  void post(std::function<void()> fn) override;

  // Session: close from any thread (server shutdown).
  void shutdown() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void read_next();
  void on_read(boost::beast::error_code ec);
  void write_next();                 // on the strand
  void finish(std::string reason);   // on the strand: tear down, tell the endpoint once

  boost::asio::any_io_executor strand_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  std::optional<boost::beast::websocket::stream<boost::beast::tcp_stream>> ws_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<WebSocketEndpoint> endpoint_;  // released after on_close (breaks endpoint <-> session cycles)
  bool reading_ = false;      // strand: a read is in flight
  bool read_paused_ = false;  // strand: the endpoint asked for backpressure

  // Shared with sending threads.
  std::mutex mutex_;
  MessageQueue queue_;
  std::size_t queued_bytes_ = 0;
  bool open_ = false;      // the upgrade completed: writes may start
  bool writing_ = false;   // a write (or the close) is in flight
  bool closing_ = false;   // close() was called: no more sends; close frame after the queue drains
  bool finished_ = false;
  std::uint16_t close_code_ = 1000;
  std::string close_reason_;
};

}  // namespace backside::net
