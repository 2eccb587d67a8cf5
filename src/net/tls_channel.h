#pragma once
// The server side of one TLS connection, on bytes rather than on a socket: ciphertext read from the socket goes in
// (read), plaintext comes out; plaintext to send goes in (encrypt), ciphertext to write to the socket comes out
// (output). The sessions keep their own socket handling (net/socket_session.h, net/socket_writer.h, the HTTP
// session's stream), so TLS is one step on each side of it, and a connection that changes hands (an HTTP connection
// that becomes a WebSocket or an event stream) takes its channel along.
//
// Thread-safe: the connection's strand reads while any sending thread encrypts. The handshake is the server's
// part of the first reads; frames sent before it completes wait (established()).
#include <openssl/ssl.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "net/tls_context.h"

namespace backside::net {

class TlsChannel {
 public:
  explicit TlsChannel(std::shared_ptr<const TlsContext> context);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  enum class Status {
    open,
    closed,  // the peer sent close_notify
    failed,  // the handshake or a record failed (error() says why); the connection must end
  };

  // Takes `ciphertext` and decrypts every complete record, appending the plaintext to `plaintext`. Handshake
  // messages and alerts to send go to output().
  Status read(std::string_view ciphertext, std::string& plaintext);
  // Takes `ciphertext` (which may be empty: what an earlier owner fed and did not read) and decrypts into `into`
  // until it is full or nothing is left; `decrypted` is how much. For a reader with a buffer of its own.
  Status read_into(std::string_view ciphertext, std::span<char> into, std::size_t& decrypted);
  // Encrypts `parts` (one or more records) onto output(). False (and nothing taken) before the handshake completes
  // or after a failure.
  bool encrypt(std::span<const iovec> parts);
  // Queues close_notify on output() (once).
  void close_notify();

  // Writes what output() holds to `fd` without blocking: the bytes written (all, or until the socket was full), or
  // -errno.
  long send_output(int fd);
  // Moves what output() holds out (for a writer that writes it asynchronously).
  std::string take_output();
  std::size_t output_size() const;
  // Bytes taken in and not yet decrypted (an incomplete record).
  bool has_input() const;

  bool established() const;
  std::string error() const;
  // The handshake failed because the client spoke plain HTTP to this port (it can be told so in plain HTTP).
  bool spoke_plain_http() const;
  // The verified client certificate's subject common name, empty if none.
  std::string peer_common_name() const;

 private:
  static BIO_METHOD* bio_method();
  static int bio_write(BIO* bio, const char* data, int size);
  static int bio_read(BIO* bio, char* data, int size);
  static long bio_ctrl(BIO* bio, int command, long number, void* pointer);

  void take_input(std::string_view ciphertext);
  // After SSL_read or SSL_do_handshake returned `result`: the status, with error_ set on failure.
  Status status_after(int result);

  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> context_;  // outlives ssl_
  SSL* ssl_ = nullptr;
  std::string input_;               // ciphertext taken, from input_offset_ on not yet given to OpenSSL
  std::size_t input_offset_ = 0;
  std::string output_;              // ciphertext to write
  std::size_t output_offset_ = 0;   // of output_, already written
  bool established_ = false;
  bool failed_ = false;
  bool close_notified_ = false;
  bool plain_http_ = false;
  std::string error_;
};

}  // namespace backside::net
