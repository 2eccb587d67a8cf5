#include "net/tls_channel.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace backside::net {

namespace {

constexpr std::size_t kRecordBytes = 16384;  // the most plaintext one TLS record carries
// What output_ may keep of its storage once written: a connection that sent a burst gives the rest back.
constexpr std::size_t kKeptOutputCapacity = 16384;

}  // namespace

BIO_METHOD* TlsChannel::bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "backside tls channel");
    BIO_meth_set_write(m, &TlsChannel::bio_write);
    BIO_meth_set_read(m, &TlsChannel::bio_read);
    BIO_meth_set_ctrl(m, &TlsChannel::bio_ctrl);
    return m;
  }();
  return method;
}

int TlsChannel::bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  auto* channel = static_cast<TlsChannel*>(BIO_get_data(bio));
  channel->output_.append(data, static_cast<std::size_t>(size));
  return size;
}

int TlsChannel::bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  auto* channel = static_cast<TlsChannel*>(BIO_get_data(bio));
  const std::size_t available = channel->input_.size() - channel->input_offset_;
  if (available == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const std::size_t n = std::min(available, static_cast<std::size_t>(size));
  std::memcpy(data, channel->input_.data() + channel->input_offset_, n);
  channel->input_offset_ += n;
  if (channel->input_offset_ == channel->input_.size()) {
    channel->input_.clear();
    channel->input_offset_ = 0;
  }
  return static_cast<int>(n);
}

long TlsChannel::bio_ctrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // writes are appended at once: nothing to flush
}

TlsChannel::TlsChannel(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  if (!ssl_) {
    failed_ = true;
    error_ = take_openssl_errors("cannot create a TLS session");
    return;
  }
  BIO* bio = BIO_new(bio_method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_set_bio takes its one reference
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() {
  if (ssl_) SSL_free(ssl_);
}

void TlsChannel::take_input(std::string_view ciphertext) {
  if (ciphertext.empty()) return;
  if (input_offset_ > 0) {
    input_.erase(0, input_offset_);
    input_offset_ = 0;
  }
  input_.append(ciphertext);
}

TlsChannel::Status TlsChannel::status_after(int result) {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Status::open;
    case SSL_ERROR_ZERO_RETURN:
      return Status::closed;
    default:
      break;
  }
  failed_ = true;
  const unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_HTTP_REQUEST) plain_http_ = true;
  error_ = take_openssl_errors(established_ ? "the connection failed" : "the handshake failed");
  if (const long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK) {
    error_ += std::string(" (client certificate: ") + X509_verify_cert_error_string(verify) + ")";
  }
  return Status::failed;
}

TlsChannel::Status TlsChannel::read(std::string_view ciphertext, std::string& plaintext) {
  std::lock_guard lock(mutex_);
  if (failed_) return Status::failed;
  take_input(ciphertext);
  char buffer[kRecordBytes];
  for (;;) {
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (SSL_is_init_finished(ssl_)) established_ = true;
    if (n <= 0) return status_after(n);
    plaintext.append(buffer, static_cast<std::size_t>(n));
  }
}

TlsChannel::Status TlsChannel::read_into(std::string_view ciphertext, std::span<char> into, std::size_t& decrypted) {
  std::lock_guard lock(mutex_);
  decrypted = 0;
  if (failed_) return Status::failed;
  take_input(ciphertext);
  while (decrypted < into.size()) {
    const int n = SSL_read(ssl_, into.data() + decrypted,
                           static_cast<int>(std::min(into.size() - decrypted, std::size_t(1) << 30)));
    if (SSL_is_init_finished(ssl_)) established_ = true;
    if (n <= 0) {
      const Status status = status_after(n);
      // What was decrypted before the end is delivered first; the end shows on the next call.
      return decrypted > 0 && status == Status::closed ? Status::open : status;
    }
    decrypted += static_cast<std::size_t>(n);
  }
  return Status::open;
}

bool TlsChannel::encrypt(std::span<const iovec> parts) {
  std::lock_guard lock(mutex_);
  if (!established_ || failed_ || close_notified_) return false;
  // Small parts (a frame's header, a short message) are gathered into one record rather than one record each.
  thread_local std::string gathered;
  gathered.clear();
  const auto write = [&](const char* data, std::size_t size) {
    while (size > 0) {
      const int chunk = static_cast<int>(std::min(size, std::size_t(1) << 30));
      const int n = SSL_write(ssl_, data, chunk);
      if (n <= 0) {
        status_after(n);
        return false;
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  };
  for (const iovec& part : parts) {
    const char* data = static_cast<const char*>(part.iov_base);
    if (part.iov_len >= kRecordBytes) {
      if (!gathered.empty() && !write(gathered.data(), gathered.size())) return false;
      gathered.clear();
      if (!write(data, part.iov_len)) return false;
      continue;
    }
    gathered.append(data, part.iov_len);
    if (gathered.size() >= kRecordBytes) {
      if (!write(gathered.data(), gathered.size())) return false;
      gathered.clear();
    }
  }
  if (!gathered.empty() && !write(gathered.data(), gathered.size())) return false;
  if (gathered.capacity() > 4 * kRecordBytes) std::string().swap(gathered);
  return true;
}

void TlsChannel::close_notify() {
  std::lock_guard lock(mutex_);
  if (close_notified_ || failed_ || !established_) return;
  close_notified_ = true;
  SSL_shutdown(ssl_);  // queues the alert; the peer's answer is not waited for
  ERR_clear_error();
}

long TlsChannel::send_output(int fd) {
  std::lock_guard lock(mutex_);
  long total = 0;
  while (output_offset_ < output_.size()) {
    const ssize_t n = ::send(fd, output_.data() + output_offset_, output_.size() - output_offset_,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return total;
      return -errno;
    }
    output_offset_ += static_cast<std::size_t>(n);
    total += n;
  }
  output_offset_ = 0;
  if (output_.capacity() > kKeptOutputCapacity) {
    std::string().swap(output_);
  } else {
    output_.clear();
  }
  return total;
}

std::string TlsChannel::take_output() {
  std::lock_guard lock(mutex_);
  std::string taken = output_offset_ == 0 ? std::move(output_) : output_.substr(output_offset_);
  output_ = std::string();
  output_offset_ = 0;
  return taken;
}

std::size_t TlsChannel::output_size() const {
  std::lock_guard lock(mutex_);
  return output_.size() - output_offset_;
}

bool TlsChannel::has_input() const {
  std::lock_guard lock(mutex_);
  return input_offset_ < input_.size() || (ssl_ && SSL_has_pending(ssl_));
}

bool TlsChannel::established() const {
  std::lock_guard lock(mutex_);
  return established_;
}

std::string TlsChannel::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

bool TlsChannel::spoke_plain_http() const {
  std::lock_guard lock(mutex_);
  return plain_http_;
}

std::string TlsChannel::peer_common_name() const {
  std::lock_guard lock(mutex_);
  if (!ssl_ || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
  X509* certificate = SSL_get0_peer_certificate(ssl_);
  if (!certificate) return {};
  char name[256];
  const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  return length > 0 ? std::string(name, static_cast<std::size_t>(length)) : std::string();
}

}  // namespace backside::net
