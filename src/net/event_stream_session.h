#pragma once
// One Server-Sent Events stream (the REST door's streaming responses), taken over from an HttpSession when a
// handler calls HttpExchange::start_stream: a one-way byte stream written through its SocketSession base, so a
// stream has the same outbound path as the WebSocket and TCP connections (a SocketWriter bounded by
// ServerOptions::max_stream_queue_bytes, charged to the memory budget and evictable by it).
//
// Life cycle: start_stream (any thread) creates the session and queues the response head (with its body, the first
// event) as its first bytes; send() may follow at once, from any thread: what is sent before the session has the
// socket waits in the queue, in order. The HttpSession then hands the socket over on the connection's strand (run),
// and the session starts writing. What the client sends on the stream is read and discarded (an HTTP client does
// not pipeline behind a response that never ends); its end of stream, a failed read or write, an overflowing queue,
// close() (after what is queued is written) or server shutdown end the stream, and then on_closed runs, once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/http.h"
#include "net/socket_session.h"

namespace backside::net {

class EventStreamSession : public SocketSession, public EventStream {
 public:
  // `strand` is the HTTP connection's.
  EventStreamSession(boost::asio::any_io_executor strand, const ServerOptions& options,
                     std::shared_ptr<SessionSet> sessions, std::string remote_address);
  ~EventStreamSession() override;

  // Once owned by a shared_ptr, before any send (any thread): queues `head`, the serialized response head and its
  // body, as the stream's first bytes, and lets the memory budget evict the stream.
  void begin(std::shared_ptr<const std::string> head);
  // Strand. Takes over the HTTP connection's socket and TLS channel, if any (set connection_slot first), and starts
  // writing and reading. A
  // closed socket (the connection ended before the hand-off) ends the stream; a stream already ended (dropped
  // before the hand-off) closes the socket.
  void run(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls);

  // EventStream
  bool send(std::shared_ptr<const std::string> bytes) override;
  void close() override;
  void on_closed(std::function<void()> callback) override;
  void keep_alive(std::shared_ptr<const std::string> bytes, int interval_seconds) override;

  // Session: server shutdown sends what is queued, then closes.
  void shutdown() override { close(); }

 private:
  std::shared_ptr<EventStreamSession> self() {
    return std::static_pointer_cast<EventStreamSession>(shared_from_this());
  }
  void arm_keep_alive();  // strand

  // SocketSession
  void on_bytes(std::string_view) override {}  // discarded
  void on_end_of_stream() override { finish("the client closed the stream"); }
  void on_drained() override { finish("closed by the server"); }
  void on_finished() override;

  boost::asio::steady_timer keep_alive_timer_;
  std::atomic<bool> sent_since_tick_{false};  // set by send(): the stream was not idle
  // Strand state.
  std::function<void()> on_closed_;
  std::shared_ptr<const std::string> keep_alive_bytes_;
  int keep_alive_seconds_ = 0;
};

}  // namespace backside::net
