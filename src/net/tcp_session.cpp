#include "net/tcp_session.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace backside::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TcpSession::TcpSession(tcp::socket socket, const ServerOptions& options, std::shared_ptr<SessionSet> sessions)
    : socket_(std::move(socket)),
      options_(options),
      sessions_(std::move(sessions)),
      writer_(options.max_stream_queue_bytes) {
  boost::system::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  remote_address_ = ec ? "?" : remote.address().to_string();
}

TcpSession::~TcpSession() = default;

void TcpSession::start(StreamHandler& handler) {
  sessions_->add(shared_from_this());
  endpoint_ = handler.accept_stream(shared_from_this());
  if (!endpoint_) return finish("refused");
  act(writer_.start(socket_.native_handle()));
  read_next();
}

void TcpSession::read_next() {
  if (finished_) return;
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->finished_) return;
    if (ec) return self->finish("read failed: " + ec.message());
    self->on_readable();
  });
}

void TcpSession::on_readable() {
  // One buffer per I/O thread: the endpoint parses straight out of it.
  thread_local std::array<char, 65536> buffer;
  const ssize_t n = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n == 0) return finish("closed by the client");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return read_next();
    return finish(std::string("read failed: ") + std::strerror(errno));
  }
  if (endpoint_) endpoint_->on_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  read_next();
}

void TcpSession::post(std::function<void()> fn) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

bool TcpSession::send(std::shared_ptr<const std::string> bytes) {
  OutgoingFrame frame;
  frame.payload = std::move(bytes);
  const SocketWriter::Outcome outcome = writer_.push(std::move(frame));
  act(outcome);
  return outcome != SocketWriter::Outcome::refused && outcome != SocketWriter::Outcome::overflow &&
         outcome != SocketWriter::Outcome::failed;
}

void TcpSession::close(std::string reason) {
  const SocketWriter::Outcome outcome = writer_.close(OutgoingFrame{});
  if (outcome == SocketWriter::Outcome::refused) return;
  // Posted before whatever act() posts, so the reason is in place when the connection ends.
  asio::post(socket_.get_executor(), [self = shared_from_this(), reason = std::move(reason)]() mutable {
    self->close_reason_ = std::move(reason);
  });
  act(outcome);
}

void TcpSession::act(SocketWriter::Outcome outcome) {
  using Outcome = SocketWriter::Outcome;
  switch (outcome) {
    case Outcome::none:
    case Outcome::refused:
      return;
    case Outcome::join:
      return SendBatch::join(shared_from_this());
    case Outcome::wait:
      return asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (self->finished_) return;
        self->socket_.async_wait(asio::socket_base::wait_write, [self](boost::system::error_code ec) {
          if (self->finished_) return;
          if (ec) return self->finish("write failed: " + ec.message());
          self->act(self->writer_.resume());
        });
      });
    case Outcome::drained:
      return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->finish(self->close_reason_); });
    case Outcome::overflow:
      return asio::post(socket_.get_executor(), [self = shared_from_this()] {
        spdlog::warn("dropping connection from {}: it fell more than {} bytes behind", self->remote_address_,
                     self->options_.max_stream_queue_bytes);
        self->finish("slow reader");
      });
    case Outcome::failed:
      return asio::post(socket_.get_executor(), [self = shared_from_this(), error = writer_.error()] {
        self->finish(std::string("write failed: ") + std::strerror(error));
      });
  }
}

void TcpSession::finish(std::string reason) {
  if (finished_) return;
  finished_ = true;
  writer_.stop();  // after this no thread writes to the socket
  spdlog::debug("connection from {} ended: {}", remote_address_, reason);
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  sessions_->remove(this);
  if (auto endpoint = std::move(endpoint_)) endpoint->on_close();
}

}  // namespace backside::net
