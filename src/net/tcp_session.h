#pragma once
// One raw TCP connection on a protocol port (STOMP): a read loop handing each chunk to the front door's
// StreamEndpoint, and one write in flight at a time from a bounded queue of shared buffers (a reader too slow to
// keep up is dropped with a logged reason, never buffered without limit). Runs on the connection's strand.
#include <boost/asio/ip/tcp.hpp>
#include <array>
#include <memory>
#include <mutex>
#include <string>

#include "net/http.h"
#include "net/message_queue.h"
#include "net/http_session.h"
#include "net/server.h"

namespace backside::net {

class TcpSession : public Session,
                   public StreamConnection,
                   public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(boost::asio::ip::tcp::socket socket, const ServerOptions& options, std::shared_ptr<SessionSet> sessions);
  ~TcpSession() override;

  // Asks `handler` for an endpoint and starts reading. Call once.
  void start(StreamHandler& handler);

  // StreamConnection
  bool send(std::shared_ptr<const std::string> bytes) override;
  void close(std::string reason) override;
  void post(std::function<void()> fn) override;
  const std::string& remote_address() const override { return remote_address_; }

  // Session: close from any thread (server shutdown).
  void shutdown() override { close("server shutting down"); }

 private:
  void read_next();
  void write_next();                // on the strand
  void finish(std::string reason);  // on the strand: tear down, tell the endpoint once

  boost::asio::ip::tcp::socket socket_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  std::shared_ptr<StreamEndpoint> endpoint_;  // released after on_close
  std::array<char, 16384> read_buffer_{};

  std::mutex mutex_;  // shared with sending threads
  MessageQueue queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  std::string close_reason_;
};

}  // namespace backside::net
