#include "net/websocket_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace backside::net {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

WebSocketSession::WebSocketSession(asio::any_io_executor strand, const ServerOptions& options,
                                   std::shared_ptr<SessionSet> sessions, std::string remote_address)
    : strand_(std::move(strand)),
      options_(options),
      sessions_(std::move(sessions)),
      remote_address_(std::move(remote_address)) {}

WebSocketSession::~WebSocketSession() = default;

void WebSocketSession::run(beast::tcp_stream stream, beast::flat_buffer buffer, HttpRequest request,
                           WebSocketAccept accepted) {
  endpoint_ = std::move(accepted.endpoint);
  buffer_ = std::move(buffer);
  ws_.emplace(std::move(stream));
  sessions_->add(shared_from_this());
  beast::get_lowest_layer(*ws_).expires_never();  // the websocket stream keeps its own timeouts

  websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = std::chrono::seconds(options_.websocket_idle_seconds);
  timeouts.keep_alive_pings = true;
  ws_->set_option(timeouts);
  ws_->read_message_max(accepted.max_message_bytes ? accepted.max_message_bytes
                                                   : options_.max_websocket_message_bytes);
  ws_->text(true);
  ws_->auto_fragment(false);
  std::string subprotocol = std::move(accepted.subprotocol);
  ws_->set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& response) {
    response.set(beast::http::field::server, "backside");
    if (!subprotocol.empty()) response.set(beast::http::field::sec_websocket_protocol, subprotocol);
  }));
  // The request must outlive the asynchronous accept.
  auto shared_request = std::make_shared<HttpRequest>(std::move(request));
  ws_->async_accept(*shared_request, [self = shared_from_this(), shared_request](beast::error_code ec) {
    self->on_accept(ec);
  });
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) return finish("upgrade failed: " + ec.message());
  if (endpoint_) endpoint_->on_open();
  {
    std::lock_guard lock(mutex_);
    open_ = true;
  }
  write_next();
  read_next();
}

void WebSocketSession::post(std::function<void()> fn) {
  asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

void WebSocketSession::pause_reading(bool paused) {
  asio::post(strand_, [self = shared_from_this(), paused] {
    self->read_paused_ = paused;
    if (!paused && !self->reading_ && self->open_) self->read_next();
  });
}

void WebSocketSession::read_next() {
  if (finished_ || read_paused_) return;
  reading_ = true;
  ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void WebSocketSession::on_read(beast::error_code ec) {
  reading_ = false;
  if (ec) {
    if (ec == websocket::error::closed) return finish("closed by the client");
    if (ec == websocket::error::message_too_big) {
      // Beast has already sent the 1009 close frame.
      spdlog::info("websocket from {}: closed: a message exceeded the limit of {} bytes", remote_address_,
                   ws_->read_message_max());
      return finish("message too big");
    }
    return finish(ec.message());
  }
  std::string message = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (endpoint_) endpoint_->on_message(std::move(message));
  read_next();
}

bool WebSocketSession::send(std::shared_ptr<const std::string> message) {
  std::lock_guard lock(mutex_);
  if (finished_ || closing_) return false;
  // One message larger than the bound is let through when nothing is waiting: only falling behind drops.
  const bool was_idle = queued_bytes_ == 0;
  queued_bytes_ += message->size();
  if (!was_idle && queued_bytes_ > options_.max_stream_queue_bytes) {
    closing_ = true;
    queue_.clear();
    asio::post(strand_, [self = shared_from_this()] {
      spdlog::warn("dropping websocket to {}: it fell more than {} bytes behind", self->remote_address_,
                   self->options_.max_stream_queue_bytes);
      self->finish("slow reader");
    });
    return false;
  }
  queue_.push_back(std::move(message));
  if (open_ && !writing_) {
    writing_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->write_next(); });
  }
  return true;
}

void WebSocketSession::write_next() {
  std::shared_ptr<const std::string> next;
  {
    std::lock_guard lock(mutex_);
    if (finished_ || !open_) return;
    if (queue_.empty()) {
      if (!closing_) {
        writing_ = false;
        return;
      }
      writing_ = true;  // the close handshake is the last write
    } else {
      writing_ = true;
      next = queue_.pop_front();
    }
  }
  if (!next) {
    websocket::close_reason reason(static_cast<websocket::close_code>(close_code_), close_reason_.substr(0, 123));
    ws_->async_close(reason, [self = shared_from_this()](beast::error_code ec) {
      self->finish(ec ? "close failed: " + ec.message() : "closed by the server");
    });
    return;
  }
  ws_->async_write(asio::buffer(*next), [self = shared_from_this(), next](beast::error_code ec, std::size_t) {
    if (ec) return self->finish("write failed: " + ec.message());
    {
      std::lock_guard lock(self->mutex_);
      self->queued_bytes_ -= std::min(self->queued_bytes_, next->size());
    }
    self->write_next();
  });
}

void WebSocketSession::close(std::uint16_t code, std::string reason) {
  std::lock_guard lock(mutex_);
  if (finished_ || closing_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (open_ && !writing_) {
    writing_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->write_next(); });
  }
}

void WebSocketSession::shutdown() { close(1001, "server shutting down"); }

void WebSocketSession::finish(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  spdlog::debug("websocket from {} ended: {}", remote_address_, reason);
  if (ws_) {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(*ws_).socket();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
  sessions_->remove(this);
  if (auto endpoint = std::move(endpoint_)) endpoint->on_close();
}

}  // namespace backside::net
