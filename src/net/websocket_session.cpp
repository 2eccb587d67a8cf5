#include "net/websocket_session.h"

#include "net/websocket_handshake.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>
#include <vector>

namespace backside::net {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

namespace {

constexpr auto kCloseTimeout = std::chrono::seconds(5);

const std::shared_ptr<const std::string>& no_payload() {
  static const auto empty = std::make_shared<const std::string>();
  return empty;
}

}  // namespace

WebSocketSession::WebSocketSession(asio::any_io_executor strand, const ServerOptions& options,
                                   std::shared_ptr<SessionSet> sessions, std::string remote_address)
    : SocketSession(asio::ip::tcp::socket(strand), options, std::move(sessions), std::move(remote_address),
                    "websocket"),
      timer_(strand),
      reader_(options.max_websocket_message_bytes),
      read_charge_(options.memory_budget, MemoryBudget::Use::incoming_message) {}

WebSocketSession::~WebSocketSession() = default;

void WebSocketSession::run(asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls, std::string early_bytes,
                           const HttpRequest& request, WebSocketAccept accepted) {
  endpoint_ = std::move(accepted.endpoint);
  counted_open = metrics::GaugeIncrement(metrics::server_metrics().open_connections(accepted.kind));
  if (accepted.max_message_bytes) reader_ = WebSocketFrameReader(accepted.max_message_bytes);
  split_above_ = accepted.split ? accepted.split_above : SIZE_MAX;
  split_ = std::move(accepted.split);
  own_until_finished();
  socket_ = std::move(socket);
  if (tls) use_tls(std::move(tls));
  if (!socket_.is_open()) return finish("the connection ended during the upgrade");
  open_ = true;
  opened_at_ = std::chrono::steady_clock::now();
  if (endpoint_) endpoint_->on_open();
  if (finished_) return;
  // The 101 answer goes first, ahead of anything the endpoint queued (it may send before on_open).
  OutgoingFrame answer;
  answer.payload = std::make_shared<const std::string>(websocket_upgrade_response(request, accepted.subprotocol));
  act(writer_.start(socket_.native_handle(), std::move(answer)));
  heard_ = true;
  arm_timer();
  if (!early_bytes.empty()) {
    on_bytes(early_bytes);
    if (finished_) return;
  }
  read_tls_input();
  read_next();
}

void WebSocketSession::post(std::function<void()> fn) {
  asio::post(strand_, [self = self(), fn = std::move(fn)] { fn(); });
}

void WebSocketSession::pause_reading(bool paused) {
  asio::post(strand_, [self = self(), paused] { self->pause(paused); });
}

void WebSocketSession::on_bytes(std::string_view bytes) {
  heard_ = true;
  std::vector<WebSocketFrameReader::Event> events;
  reader_.feed(bytes, events);
  for (auto& event : events) {
    handle(event);
    if (finished_) return;
  }
  if (!read_charge_.resize(reader_.buffered_bytes())) {
    // Logged by the budget, rate-limited. 1008: the server's policy, not this message's size, refuses it.
    reader_.abandon();
    read_charge_.release();
    start_close(1008, "the server has no memory left for incoming messages; try again later");
  }
}

void WebSocketSession::on_end_of_stream() {
  finish(close_sent_ ? "closed by the server" : "the client ended the stream without a close frame");
}

void WebSocketSession::handle(WebSocketFrameReader::Event& event) {
  using Kind = WebSocketFrameReader::Event::Kind;
  switch (event.kind) {
    case Kind::message:
      messaged_ = true;
      // Once the server has begun to close, the endpoint is done with the connection.
      if (endpoint_ && !writer_.closing()) endpoint_->on_message(std::move(event.payload));
      return;
    case Kind::ping:
      send_frame(WebSocketOpcode::pong, std::make_shared<const std::string>(std::move(event.payload)));
      return;
    case Kind::pong:
      return;
    case Kind::close:
      peer_closed_ = true;
      if (close_sent_) return finish("closed by the server");
      // The answer echoes the peer's code (none if it gave none).
      if (event.code == 1005) {
        act(writer_.close(make_websocket_frame(WebSocketOpcode::close, no_payload())));
      } else {
        start_close(event.code, "");
      }
      return;
    case Kind::error:
      spdlog::info("websocket from {}: closing: {}", remote_address_, event.payload);
      return start_close(event.code, event.payload);
  }
}

bool WebSocketSession::send(std::shared_ptr<const std::string> message) {
  if (message->size() > split_above_) return send_all(std::span(&message, 1));
  return send_frame(WebSocketOpcode::text, std::move(message));
}

bool WebSocketSession::send(std::string head, std::shared_ptr<const std::string> body) {
  const SocketWriter::Outcome outcome =
      writer_.push(make_websocket_frame(WebSocketOpcode::text, std::move(body), std::move(head)));
  act(outcome);
  return sent(outcome);
}

bool WebSocketSession::send_all(std::span<const std::shared_ptr<const std::string>> messages) {
  thread_local std::vector<OutgoingFrame> frames;  // reused: a fan-out calls this once per subscriber
  frames.clear();
  for (const auto& message : messages) {
    if (message->size() <= split_above_) {
      frames.push_back(make_websocket_frame(WebSocketOpcode::text, message));
      continue;
    }
    for (auto& piece : split_(message)) frames.push_back(make_websocket_frame(WebSocketOpcode::text, std::move(piece)));
  }
  const SocketWriter::Outcome outcome = writer_.push_all(frames);
  frames.clear();
  act(outcome);
  return sent(outcome);
}

bool WebSocketSession::send_frame(WebSocketOpcode opcode, std::shared_ptr<const std::string> payload) {
  const SocketWriter::Outcome outcome = writer_.push(make_websocket_frame(opcode, std::move(payload)));
  act(outcome);
  return sent(outcome);
}

void WebSocketSession::close(std::uint16_t code, std::string reason) { start_close(code, reason); }

void WebSocketSession::start_close(std::uint16_t code, std::string_view reason) {
  act(writer_.close(make_websocket_frame(WebSocketOpcode::close,
                                         std::make_shared<const std::string>(close_frame_payload(code, reason)))));
}

void WebSocketSession::shutdown() {
  asio::post(strand_, [self = self()] {
    if (self->finished_) return;
    // The door's last words go before the close frame; a connection still being upgraded has no door yet.
    if (self->open_ && self->endpoint_ && !self->writer_.closing()) self->endpoint_->on_server_shutdown();
    self->close(1001, "server shutting down");
  });
}

void WebSocketSession::on_drained() {
  if (close_sent_) return;
  close_sent_ = true;
  if (peer_closed_) return finish("closed by the client");
  // Our close frame is out: end our side of the stream and give the peer a moment to answer with its own close.
  beast::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  arm_timer();
  read_next();
}

void WebSocketSession::arm_timer() {
  if (finished_) return;
  timer_.expires_after(close_sent_ ? std::chrono::seconds(kCloseTimeout)
                                   : std::chrono::seconds(std::max(1, options_.websocket_idle_seconds / 2)));
  timer_.async_wait([self = self()](beast::error_code ec) {
    if (ec || self->finished_) return;
    self->on_timer();
  });
}

void WebSocketSession::on_timer() {
  if (close_sent_) return finish("the client did not answer the close frame");
  writer_.trim();  // a connection that was busy gives its queue's storage back once idle
  if (!messaged_ && std::chrono::steady_clock::now() - opened_at_ >=
                        std::chrono::seconds(options_.websocket_idle_seconds)) {
    if (writer_.closing()) return finish("no message since the upgrade, and the close frame was not taken");
    spdlog::debug("websocket from {}: no message within {} s of the upgrade", remote_address_,
                  options_.websocket_idle_seconds);
    start_close(1008, "no message within " + std::to_string(options_.websocket_idle_seconds) + " s");
    return arm_timer();
  }
  if (heard_) {
    heard_ = false;
    ping_sent_ = false;
  } else if (ping_sent_) {
    return finish("idle: the client was silent for " + std::to_string(options_.websocket_idle_seconds) + " s");
  } else {
    ping_sent_ = true;
    send_frame(WebSocketOpcode::ping, no_payload());
  }
  arm_timer();
}

void WebSocketSession::on_finished() {
  timer_.cancel();
  reader_.abandon();
  read_charge_.release();
  if (auto endpoint = std::move(endpoint_)) endpoint->on_close();
}

}  // namespace backside::net
