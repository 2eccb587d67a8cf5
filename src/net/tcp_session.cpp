#include "net/tcp_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace backside::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TcpSession::TcpSession(tcp::socket socket, const ServerOptions& options, std::shared_ptr<SessionSet> sessions)
    : socket_(std::move(socket)), options_(options), sessions_(std::move(sessions)) {
  boost::system::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  remote_address_ = ec ? "?" : remote.address().to_string();
}

TcpSession::~TcpSession() = default;

void TcpSession::start(StreamHandler& handler) {
  sessions_->add(shared_from_this());
  endpoint_ = handler.accept_stream(shared_from_this());
  if (!endpoint_) return finish("refused");
  read_next();
}

void TcpSession::read_next() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              return self->finish(ec == asio::error::eof ? "closed by the client" : ec.message());
                            }
                            if (self->endpoint_) self->endpoint_->on_bytes(std::string_view(self->read_buffer_.data(), n));
                            {
                              std::lock_guard lock(self->mutex_);
                              if (self->finished_) return;
                            }
                            self->read_next();
                          });
}

void TcpSession::post(std::function<void()> fn) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

bool TcpSession::send(std::shared_ptr<const std::string> bytes) {
  std::lock_guard lock(mutex_);
  if (finished_ || closing_) return false;
  // One buffer larger than the bound is let through when nothing is waiting: only falling behind drops.
  const bool was_idle = queued_bytes_ == 0;
  queued_bytes_ += bytes->size();
  if (!was_idle && queued_bytes_ > options_.max_stream_queue_bytes) {
    closing_ = true;
    queue_.clear();
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      spdlog::warn("dropping connection from {}: it fell more than {} bytes behind", self->remote_address_,
                   self->options_.max_stream_queue_bytes);
      self->finish("slow reader");
    });
    return false;
  }
  queue_.push_back(std::move(bytes));
  if (!writing_) {
    writing_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }
  return true;
}

void TcpSession::write_next() {
  std::shared_ptr<const std::string> next;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    if (queue_.empty()) {
      writing_ = false;
      if (!closing_) return;
    } else {
      next = queue_.pop_front();
    }
  }
  if (!next) return finish(close_reason_);  // closing, and everything queued has been written
  asio::async_write(socket_, asio::buffer(*next), [self = shared_from_this(), next](boost::system::error_code ec,
                                                                                      std::size_t) {
    if (ec) return self->finish("write failed: " + ec.message());
    {
      std::lock_guard lock(self->mutex_);
      self->queued_bytes_ -= std::min(self->queued_bytes_, next->size());
    }
    self->write_next();
  });
}

void TcpSession::close(std::string reason) {
  std::lock_guard lock(mutex_);
  if (finished_ || closing_) return;
  closing_ = true;
  close_reason_ = std::move(reason);
  if (!writing_) {
    writing_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }
}

void TcpSession::finish(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  spdlog::debug("connection from {} ended: {}", remote_address_, reason);
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  sessions_->remove(this);
  if (auto endpoint = std::move(endpoint_)) endpoint->on_close();
}

}  // namespace backside::net
