#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>

namespace backside::net {

namespace {

// Mozilla's intermediate configuration, version 5.7.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string describe_certificate(SSL_CTX* context) {
  X509* certificate = SSL_CTX_get0_certificate(context);
  if (!certificate) return "no certificate";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "?";
  X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  BIO_puts(bio, ", expires ");
  ASN1_TIME_print(bio, X509_get0_notAfter(certificate));
  std::string text = bio_text(bio);
  BIO_free(bio);
  if (X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0) text += " (EXPIRED)";
  return text;
}

}  // namespace

std::string take_openssl_errors(const std::string& fallback) {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? fallback : text;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsSettings& settings) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return Error{ErrorCode::internal, "TLS: " + take_openssl_errors("cannot create a context")};
  std::string alpn;
  if (!settings.alpn.empty()) {
    alpn.push_back(static_cast<char>(settings.alpn.size()));
    alpn += settings.alpn;
  }
  std::shared_ptr<TlsContext> context(new TlsContext(raw, std::move(alpn)));
  const auto failed = [&](const std::string& what) -> Error {
    return Error{ErrorCode::invalid_argument, "TLS: " + what + ": " + take_openssl_errors("unknown error")};
  };
  if (!SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) || !SSL_CTX_set_cipher_list(raw, kTls12Ciphers) ||
      !SSL_CTX_set_ciphersuites(raw, kTls13Suites) || !SSL_CTX_set1_groups_list(raw, kGroups) ||
      !SSL_CTX_set_dh_auto(raw, 1)) {
    return failed("cannot apply the protocol settings");
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // An idle connection gives its record buffers back (about 34 KiB each way).
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  // Sessions resume only on the port (and settings) that created them.
  static constexpr unsigned char kSessionContext[] = "backside";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
  // (TLS 1.2 tickets travel inside the handshake, before the client writes anything: those stay.)
  if (!settings.session_tickets && !SSL_CTX_set_num_tickets(raw, 0)) return failed("cannot turn session tickets off");
  if (SSL_CTX_use_certificate_chain_file(raw, settings.cert_file.c_str()) != 1) {
    return failed("cannot read the certificate " + settings.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(raw, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return failed("the private key " + settings.key_file + " does not belong to the certificate " +
                    settings.cert_file);
    }
    return failed("cannot read the private key " + settings.key_file);
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return failed("the private key " + settings.key_file + " does not belong to the certificate " +
                  settings.cert_file);
  }
  if (settings.client_certificates != ClientCertificates::none) {
    if (settings.client_ca_file.empty()) {
      return Error{ErrorCode::invalid_argument, "TLS: client certificates need a CA file (tls_client_ca)"};
    }
    if (SSL_CTX_load_verify_locations(raw, settings.client_ca_file.c_str(), nullptr) != 1) {
      return failed("cannot read the client CA file " + settings.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (!names) return failed("no CA certificate in " + settings.client_ca_file);
    SSL_CTX_set_client_CA_list(raw, names);  // takes ownership
    int mode = SSL_VERIFY_PEER;
    if (settings.client_certificates == ClientCertificates::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, mode, nullptr);
  }
  if (!context->alpn_.empty()) SSL_CTX_set_alpn_select_cb(raw, &TlsContext::select_alpn, context.get());
  context->description_ = describe_certificate(raw);
  return std::shared_ptr<const TlsContext>(std::move(context));
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

int TlsContext::select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                            unsigned int in_length, void* arg) {
  const auto* self = static_cast<const TlsContext*>(arg);
  // A client that offers only other protocols (h2 alone) goes on without ALPN, rather than failing the handshake.
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, reinterpret_cast<const unsigned char*>(self->alpn_.data()),
                            static_cast<unsigned int>(self->alpn_.size()), in,
                            in_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

Result<std::shared_ptr<TlsContextSource>> TlsContextSource::open(TlsSettings settings) {
  std::shared_ptr<TlsContextSource> source(new TlsContextSource(std::move(settings)));
  auto context = TlsContext::load(source->settings_);
  if (!context) return context.error();
  source->current_ = std::move(*context);
  return source;
}

std::shared_ptr<const TlsContext> TlsContextSource::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void TlsContextSource::use(std::shared_ptr<const TlsContext> context) {
  std::lock_guard lock(mutex_);
  current_ = std::move(context);
}

}  // namespace backside::net
