#pragma once
// One WebSocket connection (RFC 6455) taken over from an HttpSession after an upgrade request. Beast answers the
// upgrade; after that the session frames and parses itself (net/websocket_frame.h says why) on the connection's
// strand: it waits for the socket to be readable, reads what is there into a per-thread buffer and hands each
// complete message to the front door's WebSocketEndpoint, so an idle connection holds no read buffer. Outgoing
// frames go through a SocketWriter: written at once by the sending thread when nothing is queued, else queued
// (bounded: a reader too slow to keep up is dropped with a logged reason) and written in gather writes when the
// socket drains. Pings are answered; a peer silent for half of ServerOptions::websocket_idle_seconds gets a ping,
// silent for all of it is closed.
//
// Life cycle: HttpSession creates it (so the front door can keep the WebSocketConnection and queue its first
// messages), asks HttpHandler::accept_websocket for an endpoint, then calls run(), which sends the 101 response
// and starts reading. The endpoint gets on_open, on_message..., and exactly one on_close. Closing sends a close
// frame after what is queued, then waits (at most 5 s) for the peer's close frame or end of stream.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http.h"
#include "net/http_session.h"
#include "net/server.h"
#include "net/socket_writer.h"
#include "util/send_batch.h"
#include "net/websocket_frame.h"

namespace backside::net {

class WebSocketSession : public Session,
                         public WebSocketConnection,
                         public SendBatch::Member,
                   public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(boost::asio::any_io_executor strand, const ServerOptions& options,
                   std::shared_ptr<SessionSet> sessions, std::string remote_address);
  ~WebSocketSession() override;

  // Takes over the socket, answers the upgrade `request` and starts the read loop. `buffer` holds any bytes the
  // HTTP parser read past the request (the first frames). Call once, on the strand.
  void run(boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer, HttpRequest request,
           WebSocketAccept accepted);

  // WebSocketConnection
  bool send(std::shared_ptr<const std::string> message) override;
  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override;
  void close(std::uint16_t code, std::string reason) override;
  const std::string& remote_address() const override { return remote_address_; }
  void pause_reading(bool paused) override;
  void post(std::function<void()> fn) override;

  // SendBatch::Member: writes what the batch queued.
  void flush_batched() override { act(writer_.flush()); }

  // Session: close from any thread (server shutdown).
  void shutdown() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void read_next();
  void on_readable();
  void consume(std::string_view bytes);
  void handle(WebSocketFrameReader::Event& event);
  bool send_frame(WebSocketOpcode opcode, std::shared_ptr<const std::string> payload);
  void start_close(std::uint16_t code, std::string_view reason);
  // Does what the writer asked for (any thread; the work runs on the strand).
  void act(SocketWriter::Outcome outcome);
  void wait_writable();
  void on_drained();
  void arm_timer();
  void on_timer();
  void finish(std::string reason);  // on the strand: tear down, tell the endpoint once

  boost::asio::any_io_executor strand_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  // Only while the upgrade response is being written.
  std::optional<boost::beast::websocket::stream<boost::beast::tcp_stream>> handshake_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string early_bytes_;  // read by the HTTP parser past the upgrade request
  WebSocketFrameReader reader_;
  std::shared_ptr<WebSocketEndpoint> endpoint_;  // released after on_close (breaks endpoint <-> session cycles)
  SocketWriter writer_;  // shared with sending threads

  // Strand state.
  bool open_ = false;         // the upgrade completed
  bool reading_ = false;      // a wait for readable data is pending
  bool read_paused_ = false;  // the endpoint asked for backpressure
  bool heard_ = false;        // the peer sent something since the last timer tick
  bool ping_sent_ = false;    // a keep-alive ping is unanswered
  bool peer_closed_ = false;  // the peer's close frame arrived
  bool close_sent_ = false;   // our close frame is written; waiting for the peer's
  bool finished_ = false;
};

}  // namespace backside::net
