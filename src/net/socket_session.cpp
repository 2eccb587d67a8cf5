#include "net/socket_session.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace backside::net {

namespace asio = boost::asio;

std::string remote_address_of(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  return ec ? "?" : remote.address().to_string();
}

SocketSession::SocketSession(asio::ip::tcp::socket&& socket, const ServerOptions& options,
                             std::shared_ptr<SessionSet> sessions, std::string remote_address, const char* kind)
    : strand_(socket.get_executor()),
      options_(options),
      sessions_(std::move(sessions)),
      remote_address_(std::move(remote_address)),
      socket_(std::move(socket)),
      writer_(options.max_stream_queue_bytes, options.memory_budget),
      kind_(kind) {}

SocketSession::~SocketSession() = default;

void SocketSession::read_next() {
  if (finished_ || read_paused_ || reading_ || !socket_.is_open()) return;  // not open: a WebSocket mid-upgrade
  reading_ = true;
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    self->reading_ = false;
    if (self->finished_) return;
    if (ec) return self->finish("read failed: " + ec.message());
    self->on_readable();
  });
}

void SocketSession::pause(bool paused) {
  read_paused_ = paused;
  if (!paused) read_next();
}

void SocketSession::on_readable() {
  // One buffer per I/O thread: the protocol parses straight out of it and keeps only what is incomplete.
  thread_local std::array<char, 65536> buffer;
  const ssize_t n = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n == 0) return on_end_of_stream();
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return read_next();
    return finish(std::string("read failed: ") + std::strerror(errno));
  }
  const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
  if (tls_) {
    on_tls_bytes(bytes);
  } else if (!deliver(bytes)) {
    return;
  }
  read_next();
}

bool SocketSession::deliver(std::string_view bytes) {
  try {
    on_bytes(bytes);
    return true;
  } catch (const std::exception& e) {
    // The protocol could not handle what this client sent: that connection ends, nothing else.
    spdlog::warn("{} from {}: unexpected exception while handling its bytes: {}", kind_, remote_address_, e.what());
    finish(std::string("internal error: ") + e.what());
    return false;
  }
}

void SocketSession::use_tls(std::shared_ptr<TlsChannel> channel) {
  tls_ = channel;
  writer_.use_tls(std::move(channel));
}

void SocketSession::read_tls_input() {
  if (tls_ && !finished_ && tls_->has_input()) on_tls_bytes({});
}

void SocketSession::on_tls_bytes(std::string_view ciphertext) {
  // One plaintext buffer per I/O thread, as for plain reads: a read yields at most what 64 KiB of records carry.
  thread_local std::string plaintext;
  plaintext.clear();
  const TlsChannel::Status status = tls_->read(ciphertext, plaintext);
  // Handshake messages and alerts first; and once the handshake is done, frames that waited for it.
  act(writer_.flush_tls());
  if (status == TlsChannel::Status::failed) return finish("TLS: " + tls_->error());
  if (!plaintext.empty() && (!deliver(plaintext) || finished_)) return;
  if (status == TlsChannel::Status::closed) on_end_of_stream();
}

bool SocketSession::sent(SocketWriter::Outcome outcome) {
  return outcome != SocketWriter::Outcome::refused && outcome != SocketWriter::Outcome::overflow &&
         outcome != SocketWriter::Outcome::over_budget && outcome != SocketWriter::Outcome::failed;
}

void SocketSession::act(SocketWriter::Outcome outcome) {
  using Outcome = SocketWriter::Outcome;
  switch (outcome) {
    case Outcome::none:
    case Outcome::refused:
      return;
    case Outcome::join:
      return SendBatch::join(shared_from_this());
    case Outcome::wait:
      return asio::post(strand_, [self = shared_from_this()] {
        if (self->finished_) return;
        self->socket_.async_wait(asio::socket_base::wait_write, [self](boost::system::error_code ec) {
          if (self->finished_) return;
          if (ec) return self->finish("write failed: " + ec.message());
          self->act(self->writer_.resume());
        });
      });
    case Outcome::drained:
      return asio::post(strand_, [self = shared_from_this()] {
        if (!self->finished_) self->on_drained();
      });
    case Outcome::overflow:
      metrics::server_metrics().slow_clients_dropped(metrics::SlowClientDrop::queue_limit).add();
      return asio::post(strand_, [self = shared_from_this()] {
        spdlog::warn("dropping {} from {}: it fell more than {} bytes behind", self->kind_, self->remote_address_,
                     self->options_.max_stream_queue_bytes);
        self->finish("slow reader");
      });
    case Outcome::over_budget:
      // The budget logs these itself, rate-limited: a crowd of slow readers dropped at once is one incident.
      metrics::server_metrics().slow_clients_dropped(metrics::SlowClientDrop::memory_budget).add();
      return asio::post(strand_, [self = shared_from_this()] {
        self->finish("slow reader: the server's memory budget for queued output is spent");
      });
    case Outcome::failed:
      return asio::post(strand_, [self = shared_from_this(), error = writer_.error()] {
        self->finish(std::string("write failed: ") + std::strerror(error));
      });
  }
}

void SocketSession::enable_eviction() {
  writer_.enrol_for_eviction([weak = weak_from_this(), strand = strand_] {
    // Under the budget's lock: only post (and count); the session is looked up (and maybe destroyed) on its strand.
    metrics::server_metrics().slow_clients_dropped(metrics::SlowClientDrop::memory_budget).add();
    asio::post(strand, [weak] {
      if (auto self = weak.lock()) {
        self->finish("slow reader: dropped, its queue being the largest, to make room in the memory budget");
      }
    });
  });
}

void SocketSession::finish(std::string reason) {
  if (finished_) return;
  finished_ = true;
  writer_.stop();  // after this no thread writes to the socket
  spdlog::debug("{} from {} ended: {}", kind_, remote_address_, reason);
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  connection_slot.release();
  counted_open.release();
  // The endpoint hears of the close before the server's session set forgets the session: a server waiting for its
  // sessions to close (a drain) then knows their onDisconnect writes are queued.
  on_finished();
  std::shared_ptr<Session> owned = sessions_->remove(this);
  // The last reference may be this one: the session goes in a handler of its own, never under its caller's feet.
  if (owned) asio::post(strand_, [owned = std::move(owned)] {});
}

void SocketSession::own_until_finished() {
  if (!finished_) sessions_->own(shared_from_this());
}

}  // namespace backside::net
