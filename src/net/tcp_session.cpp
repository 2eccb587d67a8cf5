#include "net/tcp_session.h"

#include <boost/asio/post.hpp>

namespace backside::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TcpSession::TcpSession(tcp::socket socket, std::shared_ptr<TlsChannel> tls, const ServerOptions& options,
                       std::shared_ptr<SessionSet> sessions)
    : SocketSession(std::move(socket), options, std::move(sessions), remote_address_of(socket), "connection") {
  if (tls) use_tls(std::move(tls));
}

TcpSession::~TcpSession() = default;

void TcpSession::start(StreamHandler& handler, metrics::ConnectionKind kind) {
  counted_open = metrics::GaugeIncrement(metrics::server_metrics().open_connections(kind));
  own_until_finished();
  enable_eviction();
  endpoint_ = handler.accept_stream(self());
  if (!endpoint_) return finish("refused");
  act(writer_.start(socket_.native_handle()));
  read_next();
}

void TcpSession::on_bytes(std::string_view bytes) {
  if (endpoint_) endpoint_->on_bytes(bytes);
}

void TcpSession::post(std::function<void()> fn) {
  asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

void TcpSession::pause_reading(bool paused) {
  asio::post(strand_, [self = self(), paused] { self->pause(paused); });
}

bool TcpSession::send(std::shared_ptr<const std::string> bytes) {
  OutgoingFrame frame;
  frame.payload = std::move(bytes);
  return push(std::move(frame));
}

bool TcpSession::send(std::string head, std::shared_ptr<const std::string> body) {
  OutgoingFrame frame;
  frame.head = std::move(head);
  frame.payload = std::move(body);
  return push(std::move(frame));
}

bool TcpSession::push(OutgoingFrame frame) {
  const SocketWriter::Outcome outcome = writer_.push(std::move(frame));
  act(outcome);
  return sent(outcome);
}

void TcpSession::close(std::string reason) {
  const SocketWriter::Outcome outcome = writer_.close(OutgoingFrame{});
  if (outcome == SocketWriter::Outcome::refused) return;
  // Posted before whatever act() posts, so the reason is in place when the connection ends.
  asio::post(strand_, [self = self(), reason = std::move(reason)]() mutable {
    self->close_reason_ = std::move(reason);
  });
  act(outcome);
}

void TcpSession::shutdown() {
  asio::post(strand_, [self = self()] {
    if (self->finished_) return;
    if (self->endpoint_ && !self->writer_.closing()) self->endpoint_->on_server_shutdown();
    self->close("server shutting down");
  });
}

void TcpSession::on_finished() {
  if (auto endpoint = std::move(endpoint_)) endpoint->on_close();
}

}  // namespace backside::net
