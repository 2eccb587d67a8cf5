#pragma once
// One raw TCP connection on a protocol port (STOMP): bytes in, handed to the front door's StreamEndpoint as they
// arrive, and bytes out through a SocketWriter (written at once by the sending thread when nothing is queued, else
// queued, bounded, and written in gather writes: see net/socket_writer.h). Reads wait for the socket to be readable
// and use a per-thread buffer, so an idle connection holds none. Runs on the connection's strand.
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "net/http.h"
#include "net/http_session.h"
#include "net/server.h"
#include "net/socket_writer.h"
#include "util/send_batch.h"

namespace backside::net {

class TcpSession : public Session,
                   public StreamConnection,
                   public SendBatch::Member,
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

  // SendBatch::Member: writes what the batch queued.
  void flush_batched() override { act(writer_.flush()); }

  // Session: close from any thread (server shutdown).
  void shutdown() override { close("server shutting down"); }

 private:
  void read_next();
  void on_readable();
  // Does what the writer asked for (any thread; the work runs on the strand).
  void act(SocketWriter::Outcome outcome);
  void finish(std::string reason);  // on the strand: tear down, tell the endpoint once

  boost::asio::ip::tcp::socket socket_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  std::shared_ptr<StreamEndpoint> endpoint_;  // released after on_close
  SocketWriter writer_;                       // shared with sending threads
  std::string close_reason_;                  // strand
  bool finished_ = false;                     // strand
};

}  // namespace backside::net
