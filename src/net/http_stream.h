#pragma once
// The byte stream an HTTP connection is read and written through: the TCP stream (with its timeouts), and on a TLS
// port the connection's TlsChannel between the two. It is an asynchronous read/write stream as Beast's HTTP
// parser and serializer expect, so the HTTP session is the same code with TLS or without.
#include <boost/asio/append.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/errc.hpp>
#include <sys/uio.h>

#include <memory>
#include <span>
#include <string>
#include <utility>

#include "net/tls_channel.h"

namespace backside::net {

class HttpStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  HttpStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls)
      : tcp_(std::move(socket)), tls_(std::move(tls)) {}

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  void expires_after(std::chrono::steady_clock::duration timeout) { tcp_.expires_after(timeout); }
  void expires_never() { tcp_.expires_never(); }
  // The socket, for the session the connection becomes (which takes tls() along).
  boost::asio::ip::tcp::socket release_socket() { return tcp_.release_socket(); }
  const std::shared_ptr<TlsChannel>& tls() const { return tls_; }

  // The error a read or write completes with when TLS failed (tls()->error() says how).
  static boost::system::error_code tls_failure() {
    return boost::system::errc::make_error_code(boost::system::errc::protocol_error);
  }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    if (!tls_) return tcp_.async_read_some(buffers, std::forward<ReadHandler>(handler));
    return boost::asio::async_compose<ReadHandler, void(boost::system::error_code, std::size_t)>(
        ReadOp<MutableBufferSequence>{*this, buffers}, handler, tcp_);
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    if (!tls_) return tcp_.async_write_some(buffers, std::forward<WriteHandler>(handler));
    return boost::asio::async_compose<WriteHandler, void(boost::system::error_code, std::size_t)>(
        WriteOp<ConstBufferSequence>{*this, buffers}, handler, tcp_);
  }

 private:
  static constexpr std::size_t kCiphertextReadBytes = 16384 + 512;  // a record and its overhead
  static constexpr std::size_t kPlaintextWriteBytes = 65536;        // encrypted per write_some

  // The ends of a TLS failure: the alert (or, to a client that spoke plain HTTP, a plain HTTP answer saying what
  // this port speaks) goes out without waiting, and the operation fails.
  void answer_tls_failure() {
    if (tls_->spoke_plain_http()) {
      static constexpr std::string_view kPlainHttp =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n"
          "Content-Length: 71\r\n\r\n{\"error\":\"This port speaks HTTPS: use https:// (or wss://) URLs here\"}\n";
      static_assert(kPlainHttp.size() - kPlainHttp.find("\r\n\r\n") - 4 == 71, "Content-Length of kPlainHttp");
      [[maybe_unused]] ssize_t sent =
          ::send(tcp_.socket().native_handle(), kPlainHttp.data(), kPlainHttp.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      return;
    }
    tls_->send_output(tcp_.socket().native_handle());
  }

  // Decrypts into the caller's first buffer, reading ciphertext (and writing handshake messages) as needed.
  template <class MutableBufferSequence>
  struct ReadOp {
    HttpStream& stream;
    MutableBufferSequence buffers;
    enum class Step { start, wrote, read, done } step = Step::start;
    boost::system::error_code result;
    std::size_t decrypted = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      std::string_view fed;
      switch (step) {
        case Step::done:
          return self.complete(result, decrypted);
        case Step::wrote:
          stream.read_side_output_ = std::string();
          if (ec) return self.complete(ec, 0);
          break;
        case Step::read:
          if (ec) return self.complete(ec, 0);
          fed = std::string_view(stream.ciphertext_in_.get(), n);
          break;
        case Step::start:
          break;
      }
      const bool inline_call = step == Step::start;
      boost::asio::mutable_buffer into;
      for (auto buffer : boost::beast::buffers_range_ref(buffers)) {
        if (buffer.size() > 0) {
          into = buffer;
          break;
        }
      }
      std::size_t got = 0;
      const TlsChannel::Status status =
          stream.tls_->read_into(fed, std::span<char>(static_cast<char*>(into.data()), into.size()), got);
      if (status == TlsChannel::Status::failed) {
        stream.answer_tls_failure();
        return finish(self, inline_call, tls_failure(), 0);
      }
      if (got > 0 || into.size() == 0) return finish(self, inline_call, {}, got);
      if (status == TlsChannel::Status::closed) return finish(self, inline_call, boost::asio::error::eof, 0);
      if (stream.tls_->output_size() > 0) {
        step = Step::wrote;
        stream.read_side_output_ = stream.tls_->take_output();
        return boost::asio::async_write(stream.tcp_, boost::asio::buffer(stream.read_side_output_), std::move(self));
      }
      step = Step::read;
      if (!stream.ciphertext_in_) stream.ciphertext_in_.reset(new char[kCiphertextReadBytes]);
      stream.tcp_.async_read_some(boost::asio::buffer(stream.ciphertext_in_.get(), kCiphertextReadBytes),
                                  std::move(self));
    }

    // A completion known at once is never delivered inside the call that started the operation.
    template <class Self>
    void finish(Self& self, bool inline_call, boost::system::error_code ec, std::size_t n) {
      if (!inline_call) return self.complete(ec, n);
      step = Step::done;
      result = ec;
      decrypted = n;
      boost::asio::post(stream.tcp_.get_executor(), std::move(self));
    }
  };

  // Encrypts up to kPlaintextWriteBytes of the caller's buffers and writes the records.
  template <class ConstBufferSequence>
  struct WriteOp {
    HttpStream& stream;
    ConstBufferSequence buffers;
    bool started = false;
    std::size_t taken = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
      if (started) {
        if (stream.write_side_output_.capacity() > kPlaintextWriteBytes * 2) stream.write_side_output_ = std::string();
        return self.complete(ec, ec ? 0 : taken);
      }
      started = true;
      iovec parts[16];
      std::size_t count = 0;
      for (auto buffer : boost::beast::buffers_range_ref(buffers)) {
        if (count == std::size(parts) || taken >= kPlaintextWriteBytes) break;
        const std::size_t size = std::min(buffer.size(), kPlaintextWriteBytes - taken);
        if (size == 0) continue;
        parts[count++] = iovec{const_cast<void*>(buffer.data()), size};
        taken += size;
      }
      if (!stream.tls_->encrypt(std::span<const iovec>(parts, count))) {
        taken = 0;
        return boost::asio::post(stream.tcp_.get_executor(),
                                 boost::asio::append(std::move(self), tls_failure(), std::size_t(0)));
      }
      stream.write_side_output_ = stream.tls_->take_output();
      boost::asio::async_write(stream.tcp_, boost::asio::buffer(stream.write_side_output_), std::move(self));
    }
  };

  boost::beast::tcp_stream tcp_;
  std::shared_ptr<TlsChannel> tls_;
  std::unique_ptr<char[]> ciphertext_in_;  // TLS: what one read takes from the socket
  std::string read_side_output_;           // TLS: handshake messages being written by a read
  std::string write_side_output_;          // TLS: records being written by a write
};

}  // namespace backside::net
