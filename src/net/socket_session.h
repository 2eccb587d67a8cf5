#pragma once
// What the WebSocket and raw TCP sessions share once their handshakes are done: a socket on a strand, read by
// waiting until it is readable and then taking what is there into a per-thread buffer (an idle connection holds no
// read buffer), and written through a SocketWriter, doing what its outcomes ask for (wait for writability, end a
// connection that fell behind or failed). The protocol — framing, closing — is the subclass's.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_session.h"
#include "net/server.h"
#include "net/socket_writer.h"
#include "util/send_batch.h"

namespace backside::net {

// The peer's address for logs ("?" if unknown).
std::string remote_address_of(const boost::asio::ip::tcp::socket& socket);

class SocketSession : public Session, public SendBatch::Member, public std::enable_shared_from_this<SocketSession> {
 public:
  ~SocketSession() override;

  // SendBatch::Member: writes what the batch queued.
  void flush_batched() override { act(writer_.flush()); }

  // Once owned by a shared_ptr, before anything is sent: the memory budget may drop this connection (its queue
  // being the largest) when others need room.
  void enable_eviction();

 protected:
  // `socket`'s executor is the connection's strand (an unopened socket for a session that gets it later).
  // `kind` names the connection in logs ("websocket", "connection").
  SocketSession(boost::asio::ip::tcp::socket&& socket, const ServerOptions& options,
                std::shared_ptr<SessionSet> sessions, std::string remote_address, const char* kind);

  // Before the writer starts: the connection speaks TLS through `channel` (which may hold input already read).
  void use_tls(std::shared_ptr<TlsChannel> channel);
  // Strand. Hands what the TLS channel already holds (read by an earlier owner of the socket) to on_bytes.
  void read_tls_input();
  // Strand. Waits for bytes (unless paused, finished, already waiting or the socket is not open yet) and hands them
  // to on_bytes.
  void read_next();
  // Strand. Stops (true) or resumes (false) reading.
  void pause(bool paused);
  // Does what the writer asked for (any thread; the work runs on the strand).
  void act(SocketWriter::Outcome outcome);
  // Whether a push queued (or wrote) what it was given.
  static bool sent(SocketWriter::Outcome outcome);
  // Strand: the server's session set owns this session from now until finish() (net/http_session.h says why).
  void own_until_finished();
  // Strand: ends the connection once — stops the writer, closes the socket, then on_finished(reason).
  void finish(std::string reason);

  // Strand callbacks.
  virtual void on_bytes(std::string_view bytes) = 0;
  virtual void on_end_of_stream() = 0;  // the peer closed its side
  virtual void on_drained() = 0;        // the writer's close() frame (if any) and all before it are written
  virtual void on_finished() = 0;       // the socket is closed: release the endpoint, tell it

  boost::asio::any_io_executor strand_;
  const ServerOptions& options_;
  std::shared_ptr<SessionSet> sessions_;
  std::string remote_address_;
  boost::asio::ip::tcp::socket socket_;
  SocketWriter writer_;  // shared with sending threads
  std::shared_ptr<TlsChannel> tls_;  // null: plain TCP
  bool finished_ = false;  // strand

 private:
  void on_readable();
  // Strand: decrypts `ciphertext` (and what the channel held) and hands the plaintext on.
  void on_tls_bytes(std::string_view ciphertext);
  // Strand: hands `bytes` to on_bytes; false (and the connection finished) if the protocol threw.
  bool deliver(std::string_view bytes);

  const char* kind_;
  bool reading_ = false;      // strand: a wait for readable data is pending
  bool read_paused_ = false;  // strand
};

}  // namespace backside::net
