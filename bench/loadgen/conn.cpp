#include "conn.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>

namespace loadgen {

void Conn::connect(const tcp::endpoint& endpoint, Done done) {
  socket_.async_connect(endpoint, [self = shared_from_this(), done = std::move(done)](boost::system::error_code ec) {
    if (ec) return done("connect: " + ec.message());
    boost::system::error_code ignored;
    self->socket_.set_option(tcp::no_delay(true), ignored);
    done("");
  });
}

void Conn::upgrade(const std::string& host, const std::string& target, const std::string& subprotocol, Done done) {
  mode_ = Mode::handshake;
  handshake_done_ = std::move(done);
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (!subprotocol.empty()) request += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
  request += "\r\n";
  send(request);
  read();
}

void Conn::start_raw() {
  mode_ = Mode::raw;
  read();
}

void Conn::send(std::string_view bytes) {
  if (closed_) return;
  out_pending_.append(bytes);
  if (!writing_) flush();
}

void Conn::send_ws(std::string_view text) {
  if (closed_) return;
  // FIN + text; masked with the all-zero key, so the payload goes out as is (a valid client frame).
  out_pending_.push_back(static_cast<char>(0x81));
  const std::size_t n = text.size();
  if (n < 126) {
    out_pending_.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out_pending_.push_back(static_cast<char>(0x80 | 126));
    out_pending_.push_back(static_cast<char>(n >> 8));
    out_pending_.push_back(static_cast<char>(n & 0xff));
  } else {
    out_pending_.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out_pending_.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
  }
  out_pending_.append(4, '\0');
  out_pending_.append(text);
  if (!writing_) flush();
}

void Conn::flush() {
  if (out_pending_.empty() || closed_) return;
  writing_ = true;
  out_writing_.clear();
  out_writing_.swap(out_pending_);
  asio::async_write(socket_, asio::buffer(out_writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return self->fail("write: " + ec.message());
                      self->flush();
                    });
}

void Conn::read() {
  if (closed_) return;
  if (in_begin_ > 0 && in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  // Small to start (idle connections hold many of these), doubled while a large message needs more room.
  if (in_.size() - in_end_ < 4096) {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < 4096) in_.resize(std::max<std::size_t>(in_.size() * 2, 8192));
  }
  socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->fail(ec == asio::error::eof ? "closed by peer" : "read: " + ec.message());
                            self->in_end_ += n;
                            self->process();
                            self->read();
                          });
}

void Conn::process() {
  while (!closed_ && in_begin_ < in_end_) {
    std::string_view data(in_.data() + in_begin_, in_end_ - in_begin_);
    std::size_t used = 0;
    switch (mode_) {
      case Mode::handshake: used = process_handshake(data); break;
      case Mode::raw: used = data_handler_ ? data_handler_(data) : data.size(); break;
      case Mode::websocket: used = process_frames(data); break;
      case Mode::idle: used = data.size(); break;
    }
    if (used == 0) return;
    in_begin_ += used;
  }
}

std::size_t Conn::process_handshake(std::string_view data) {
  auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > 65536) fail("handshake: response too large");
    return 0;
  }
  std::string_view status = data.substr(0, data.find("\r\n"));
  auto done = std::move(handshake_done_);
  if (status.find(" 101") == std::string_view::npos) {
    fail("handshake refused: " + std::string(status));
    if (done) done("handshake refused: " + std::string(status));
    return 0;
  }
  mode_ = Mode::websocket;
  if (done) done("");
  return end + 4;
}

std::size_t Conn::process_frames(std::string_view data) {
  std::size_t used = 0;
  while (data.size() - used >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + used);
    std::size_t avail = data.size() - used;
    const bool fin = p[0] & 0x80;
    const int opcode = p[0] & 0x0f;
    const bool masked = p[1] & 0x80;
    std::uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (masked) header += 4;  // servers never mask; tolerate it anyway below
    if (avail < header + len) break;
    std::string_view payload(data.data() + used + header, len);
    std::string unmasked;
    if (masked) {
      unmasked.assign(payload);
      for (std::size_t i = 0; i < unmasked.size(); ++i) unmasked[i] ^= static_cast<char>(p[header - 4 + (i & 3)]);
      payload = unmasked;
    }
    used += header + len;
    if (opcode == 0x8) {
      fail("closed by peer (WebSocket close)");
      return used;
    }
    if (opcode == 0x9) {  // ping: answer with a pong carrying the same payload
      std::string pong;
      pong.push_back(static_cast<char>(0x8a));
      pong.push_back(static_cast<char>(0x80 | payload.size()));
      pong.append(4, '\0');
      pong.append(payload);
      send(pong);
      continue;
    }
    if (opcode == 0xa) continue;
    if (opcode == 0x0 || !fin || fragmented_) {
      if (opcode != 0x0) fragments_.clear();
      fragments_.append(payload);
      fragmented_ = !fin;
      if (fin && message_handler_) message_handler_(fragments_);
      continue;
    }
    if (message_handler_) message_handler_(payload);
    if (closed_) return used;
  }
  return used;
}

void Conn::fail(const std::string& error) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (auto handler = std::move(close_handler_)) handler(error);
}

void Conn::close() {
  if (closed_) return;
  closed_ = true;
  close_handler_ = nullptr;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace loadgen
