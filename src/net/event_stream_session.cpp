#include "net/event_stream_session.h"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>

namespace backside::net {

namespace asio = boost::asio;

EventStreamSession::EventStreamSession(asio::any_io_executor strand, const ServerOptions& options,
                                       std::shared_ptr<SessionSet> sessions, std::string remote_address)
    : SocketSession(asio::ip::tcp::socket(strand), options, std::move(sessions), std::move(remote_address),
                    "stream"),  // in logs as before: "dropping stream from ..."
      keep_alive_timer_(strand) {}

EventStreamSession::~EventStreamSession() = default;

void EventStreamSession::begin(std::shared_ptr<const std::string> head) {
  enable_eviction();
  OutgoingFrame frame;
  frame.payload = std::move(head);
  // Not started yet: the head is queued (or, past the memory budget, the stream is dropped before it begins).
  act(writer_.push(std::move(frame)));
}

void EventStreamSession::run(asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls) {
  if (finished_) {
    // Dropped before it had the socket (its queue did not fit the budget): the connection ends here.
    boost::system::error_code ec;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
    connection_slot.release();
    return;
  }
  socket_ = std::move(socket);
  if (tls) use_tls(std::move(tls));
  counted_open =
      metrics::GaugeIncrement(metrics::server_metrics().open_connections(metrics::ConnectionKind::event_stream));
  own_until_finished();
  if (!socket_.is_open()) return finish("the connection ended before the stream began");
  act(writer_.start(socket_.native_handle()));
  read_next();
}

bool EventStreamSession::send(std::shared_ptr<const std::string> bytes) {
  OutgoingFrame frame;
  frame.payload = std::move(bytes);
  const SocketWriter::Outcome outcome = writer_.push(std::move(frame));
  act(outcome);
  if (!sent(outcome)) return false;
  sent_since_tick_.store(true, std::memory_order_relaxed);
  return true;
}

void EventStreamSession::close() { act(writer_.close(OutgoingFrame{})); }

void EventStreamSession::on_closed(std::function<void()> callback) {
  // Always posted, so the callback never runs inside this call; after the end it runs at once (there).
  asio::post(strand_, [self = self(), callback = std::move(callback)]() mutable {
    if (self->finished_) return callback();
    self->on_closed_ = std::move(callback);
  });
}

void EventStreamSession::keep_alive(std::shared_ptr<const std::string> bytes, int interval_seconds) {
  asio::post(strand_, [self = self(), bytes = std::move(bytes), interval_seconds] {
    self->keep_alive_bytes_ = bytes;
    self->keep_alive_seconds_ = std::max(1, interval_seconds);
    self->arm_keep_alive();
  });
}

void EventStreamSession::arm_keep_alive() {
  if (finished_ || !keep_alive_bytes_) return;
  keep_alive_timer_.expires_after(std::chrono::seconds(keep_alive_seconds_));
  keep_alive_timer_.async_wait([self = self()](boost::system::error_code ec) {
    if (ec || self->finished_) return;
    self->writer_.trim();  // a stream that was busy gives its queue's storage back once idle
    // Nothing sent for a whole interval: the keep-alive bytes (which do not count as activity).
    if (!self->sent_since_tick_.exchange(false, std::memory_order_relaxed)) {
      OutgoingFrame frame;
      frame.payload = self->keep_alive_bytes_;
      self->act(self->writer_.push(std::move(frame)));
    }
    self->arm_keep_alive();
  });
}

void EventStreamSession::on_finished() {
  keep_alive_timer_.cancel();
  if (auto callback = std::move(on_closed_)) {
    on_closed_ = nullptr;
    callback();
  }
}

}  // namespace backside::net
