#pragma once
// One WebSocket connection (RFC 6455) taken over from an HttpSession after an upgrade request. Its first write is
// the 101 answer (net/websocket_handshake.h); after that the session frames and parses itself (net/websocket_frame.h says why), reading and writing
// through its SocketSession base: complete messages go to the front door's WebSocketEndpoint, sends go through the
// SocketWriter (written at once when nothing is queued; bounded). Pings are answered; a peer silent for about half
// of ServerOptions::websocket_idle_seconds gets a ping, silent for all of it is closed.
//
// Life cycle: HttpSession creates it (so the front door can keep the WebSocketConnection and queue its first
// messages), asks HttpHandler::accept_websocket for an endpoint, then calls run(), which sends the 101 response
// and starts reading. The endpoint gets on_open, on_message..., and exactly one on_close. Closing sends a close
// frame after what is queued, then waits (at most 5 s) for the peer's close frame or end of stream.
//
// What the reader buffers of an incomplete frame or message is charged to the server-wide memory budget
// (util/memory_budget.h); when the budget cannot take it the connection is closed with 1008.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http.h"
#include "net/socket_session.h"
#include "net/websocket_frame.h"

namespace backside::net {

class WebSocketSession : public SocketSession, public WebSocketConnection {
 public:
  WebSocketSession(boost::asio::any_io_executor strand, const ServerOptions& options,
                   std::shared_ptr<SessionSet> sessions, std::string remote_address);
  ~WebSocketSession() override;

  // Takes over the socket (and its TLS channel, if any), answers the upgrade `request` (which
  // refuse_websocket_upgrade accepted) and starts the read loop. `early_bytes` are what the HTTP parser read past
  // the request (the first frames). Call once, on the strand.
  void run(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls, std::string early_bytes,
           const HttpRequest& request, WebSocketAccept accepted);

  // WebSocketConnection
  bool send(std::shared_ptr<const std::string> message) override;
  bool send(std::string head, std::shared_ptr<const std::string> body) override;
  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override;
  using WebSocketConnection::close;
  void close(std::uint16_t code, std::string reason) override;
  const std::string& remote_address() const override { return remote_address_; }
  void pause_reading(bool paused) override;
  void post(std::function<void()> fn) override;

  // Session, from any thread: server shutdown. The endpoint says its last words (on_server_shutdown), then the
  // connection closes with 1001 (going away).
  void shutdown() override;

 private:
  std::shared_ptr<WebSocketSession> self() {
    return std::static_pointer_cast<WebSocketSession>(shared_from_this());
  }
  void handle(WebSocketFrameReader::Event& event);
  bool send_frame(WebSocketOpcode opcode, std::shared_ptr<const std::string> payload);
  void start_close(std::uint16_t code, std::string_view reason);
  void arm_timer();
  void on_timer();

  // SocketSession
  void on_bytes(std::string_view bytes) override;
  void on_end_of_stream() override;
  void on_drained() override;
  void on_finished() override;

  boost::asio::steady_timer timer_;
  WebSocketFrameReader reader_;
  MemoryCharge read_charge_;  // the server-wide budget's share of what reader_ buffers
  std::shared_ptr<WebSocketEndpoint> endpoint_;  // released after on_close
  // The endpoint's splitting of long messages (WebSocketAccept), set by run() before anything is sent.
  std::size_t split_above_ = SIZE_MAX;
  std::function<std::vector<std::shared_ptr<const std::string>>(const std::shared_ptr<const std::string>&)> split_;

  // Strand state.
  bool open_ = false;         // the upgrade completed
  bool heard_ = false;        // the peer sent something since the last timer tick
  bool ping_sent_ = false;    // a keep-alive ping is unanswered
  bool peer_closed_ = false;  // the peer's close frame arrived
  bool close_sent_ = false;   // our close frame is written; waiting for the peer's
  // A client that answers pings but never sends a message holds a connection for nothing (pre-authentication):
  // one without a message within websocket_idle_seconds of the upgrade is closed.
  bool messaged_ = false;
  std::chrono::steady_clock::time_point opened_at_{};
};

}  // namespace backside::net
