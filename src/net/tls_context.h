#pragma once
// TLS settings of a listening port, loaded into an OpenSSL context, and the source each new connection takes its
// context from: reload() (SIGHUP) builds a new context from the files and new connections get it, while the
// connections already open keep the one they began with. A reload that fails (a missing or mismatched file) keeps
// the previous context and says why.
//
// The protocol settings are Mozilla's "intermediate" configuration (https://wiki.mozilla.org/Security/Server_Side_TLS):
// TLS 1.2 and 1.3; for 1.2 only ECDHE/DHE key exchange with AES-GCM or ChaCha20-Poly1305; the client's cipher
// preference; X25519, P-256 and P-384; no renegotiation, no compression.
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.h"

namespace backside::net {

enum class ClientCertificates {
  none,      // not asked for
  optional,  // asked for; a client without one is let in, one with an unverifiable one is refused
  required,  // a client without a certificate the CA signed is refused in the handshake
};

// A client certificate the handshake verified against the configured CA.
struct ClientCertificate {
  std::string common_name;    // the subject's CN: the client's uid on the STOMP port
  std::int64_t not_after = 0;  // unix seconds: the end of its validity
};

struct TlsSettings {
  std::string cert_file;  // PEM: the server's certificate, then the chain
  std::string key_file;   // PEM: its private key
  // PEM: the CAs that sign client certificates (ClientCertificates other than none).
  std::string client_ca_file;
  ClientCertificates client_certificates = ClientCertificates::none;
  // ALPN protocol offered to clients that ask ("http/1.1" on the HTTP port); empty = none.
  std::string alpn;
  // TLS 1.3 session tickets (resumption) sent after the handshake. Off for STOMP: devices' clients such as stomp.py
  // read and write one TLS connection from two threads (CPython's ssl does not serialize SSL_read with SSL_write),
  // and a ticket read while the client writes its CONNECT can lose that write. RabbitMQ sends none either.
  bool session_tickets = true;

  bool enabled() const { return !cert_file.empty(); }
};

// One loaded configuration (immutable).
class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> load(const TlsSettings& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return context_; }
  // The certificate's subject and expiry, for logs ("CN=example.com, expires 2027-03-01").
  const std::string& description() const { return description_; }

 private:
  TlsContext(SSL_CTX* context, std::string alpn) : context_(context), alpn_(std::move(alpn)) {}
  static int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                         unsigned int in_length, void* arg);

  SSL_CTX* context_;
  std::string alpn_;  // in ALPN wire form: a length byte, then the name
  std::string description_;
};

// The context new connections on one port use; thread-safe.
class TlsContextSource {
 public:
  // Loads the files once; an error if they cannot be used.
  static Result<std::shared_ptr<TlsContextSource>> open(TlsSettings settings);

  std::shared_ptr<const TlsContext> current() const;
  // New connections use `context` (TlsContext::load of settings(), again: a reload) from now on.
  void use(std::shared_ptr<const TlsContext> context);
  const TlsSettings& settings() const { return settings_; }

 private:
  explicit TlsContextSource(TlsSettings settings) : settings_(std::move(settings)) {}

  const TlsSettings settings_;
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> current_;
};

// The OpenSSL error queue as one line (and clears it); `fallback` if it is empty.
std::string take_openssl_errors(const std::string& fallback);

}  // namespace backside::net
