#pragma once
// One raw TCP connection on a protocol port (STOMP): bytes in, handed to the front door's StreamEndpoint as they
// arrive, and bytes out through the connection's SocketWriter (net/socket_session.h, net/socket_writer.h).
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "net/http.h"
#include "net/socket_session.h"

namespace backside::net {

class TcpSession : public SocketSession, public StreamConnection {
 public:
  // `tls`: the connection's TLS channel on a TLS port, null on a plain one.
  TcpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls, const ServerOptions& options,
             std::shared_ptr<SessionSet> sessions);
  ~TcpSession() override;

  // Asks `handler` for an endpoint and starts reading; the connection counts as `kind` in backside_open_connections.
  // Call once.
  void start(StreamHandler& handler, metrics::ConnectionKind kind);

  // StreamConnection
  bool send(std::shared_ptr<const std::string> bytes) override;
  bool send(std::string head, std::shared_ptr<const std::string> body) override;
  void close(std::string reason) override;
  void post(std::function<void()> fn) override;
  const std::string& remote_address() const override { return remote_address_; }
  void pause_reading(bool paused) override;

  // Session, from any thread: server shutdown. The endpoint says its last words (on_server_shutdown), then the
  // connection closes once they are written.
  void shutdown() override;

 private:
  std::shared_ptr<TcpSession> self() { return std::static_pointer_cast<TcpSession>(shared_from_this()); }
  bool push(OutgoingFrame frame);
  void on_bytes(std::string_view bytes) override;
  void on_end_of_stream() override { finish("closed by the client"); }
  void on_drained() override { finish(close_reason_); }
  void on_finished() override;

  std::shared_ptr<StreamEndpoint> endpoint_;  // released after on_close
  std::string close_reason_;                  // strand
};

}  // namespace backside::net
