// A TCP connection for the load generator, optionally speaking client-side WebSocket (RFC 6455) on top.
// Deliberately small: the generator must not be the bottleneck, so frames are parsed in place from one read
// buffer (no per-message allocation for unfragmented messages) and writes are coalesced into one buffer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  using Done = std::function<void(std::string error)>;  // empty error = success
  // Raw mode: called with every unconsumed byte; returns how many bytes it consumed.
  using DataHandler = std::function<std::size_t(std::string_view)>;
  // WebSocket mode: called once per whole message (text or binary).
  using MessageHandler = std::function<void(std::string_view)>;

  explicit Conn(asio::io_context& io) : socket_(io) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void connect(const tcp::endpoint& endpoint, Done done);
  // After connect: the HTTP upgrade to WebSocket. Afterwards messages go to the message handler.
  void upgrade(const std::string& host, const std::string& target, const std::string& subprotocol, Done done);
  // After connect: start reading in raw mode.
  void start_raw();

  void send(std::string_view bytes);    // raw bytes
  void send_ws(std::string_view text);  // one masked text frame

  void on_data(DataHandler handler) { data_handler_ = std::move(handler); }
  void on_message(MessageHandler handler) { message_handler_ = std::move(handler); }
  // Called once when the connection fails or the peer closes it (never after close()).
  void on_close(Done handler) { close_handler_ = std::move(handler); }
  void close();

 private:
  enum class Mode { idle, handshake, raw, websocket };
  void read();
  void process();
  std::size_t process_handshake(std::string_view data);
  std::size_t process_frames(std::string_view data);
  void fail(const std::string& error);
  void flush();

  tcp::socket socket_;
  Mode mode_ = Mode::idle;
  std::vector<char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0;
  std::string out_pending_, out_writing_;
  bool writing_ = false, closed_ = false;
  std::string fragments_;
  bool fragmented_ = false;
  Done handshake_done_;
  DataHandler data_handler_;
  MessageHandler message_handler_;
  Done close_handler_;
};

}  // namespace loadgen
