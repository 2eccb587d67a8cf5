// libFuzzer target for whole HTTP connections through the real server: one app::App (every door, the router, the
// network server) runs in-process with a production configuration (no --dev, rules, an admin token) and small
// limits; each input is written to a fresh TCP connection to its HTTP port, which is then half-closed. Built and
// run by scripts/fuzz.sh. The first input byte picks how the rest is split into writes ('0': one write).
// Checks, beyond "no crash, no leak, no sanitizer report": what the server sends is a sequence of well-formed
// HTTP/1.1 responses, one per request (the last may be cut off when the connection ends; after a 101 the bytes are
// WebSocket frames, not checked here), and afterwards the server still answers an admin GET with 200. The read
// ends when the server closes the connection or after 2 s (a held long-poll, a stream the server keeps open).
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/app.h"

namespace {

using namespace backside;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr const char* kAdminToken = "fuzz-admin-token-0123456789abcdef";
constexpr std::size_t kMaxBodyBytes = 512;  // small, so that fuzzed bodies (chunked ones too) cross it
constexpr std::size_t kHeaderLimit = 64 * 1024;  // as net/http_session.cpp

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "http request fuzzer: %s\n", why.c_str());
  std::abort();
}

class Server {
 public:
  Server() {
    char dir[] = "/tmp/backside-http-fuzz-XXXXXX";
    if (!::mkdtemp(dir)) fail(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = dir;
    // Rules that allow some paths to anyone, others to their owner only, the rest to the admin only.
    std::ofstream(dir_ / "rules.json") << R"({"rules": {"public": {".read": true, ".write": true},
        "users": {"$uid": {".read": "auth != null && auth.uid == $uid", ".write": "auth != null && auth.uid == $uid"}}}})";
    app::Config config;
    config.port = 0;
    config.stomp_port = 0;  // STOMP over raw TCP: off (STOMP over WebSocket is on the HTTP port)
    config.data_dir = (dir_ / "data").string();
    config.rules = (dir_ / "rules.json").string();
    config.admin_token = kAdminToken;
    config.io_threads = 2;
    config.max_body_bytes = kMaxBodyBytes;
    config.max_stream_queue_bytes = 16 * 1024;
    config.max_buffered_bytes = 4 << 20;
    config.max_databases = 4;
    config.max_update_keys = 64;
    config.request_timeout_seconds = 1;
    config.websocket_idle_seconds = 2;
    config.stomp_connect_timeout_ms = 1000;
    // The per-address caps apply to loopback too (not exempt), so that inputs reach them.
    config.connection_limit_exempt.clear();
    config.max_connections_per_address = 32;
    config.auth_max_pending_password_hashes = 4;
    app_ = std::make_unique<app::App>(config);
    if (!app_->start()) fail("the server did not start");
    port_ = app_->http_endpoint().port();
  }
  ~Server() {
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<app::App> app_;
  std::uint16_t port_ = 0;
};

Server& the_server() {
  static Server server;
  return server;
}

struct Received {
  std::string bytes;
  bool closed = false;  // by the server (else the deadline passed)
};

// Writes `request` in writes of `chunk` bytes (0: all at once), half-closes, and reads until the server closes the
// connection or `deadline` passes.
Received exchange(std::uint16_t port, std::string_view request, std::size_t chunk, Clock::duration deadline) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    fail(std::string("connect: ") + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // each write its own segment
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  Received received;
  std::size_t written = 0;
  bool write_side_open = true;
  const Clock::time_point end = Clock::now() + deadline;
  char buffer[16 * 1024];
  for (;;) {
    if (write_side_open && written == request.size()) {
      ::shutdown(fd, SHUT_WR);
      write_side_open = false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, static_cast<short>(POLLIN | (write_side_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0) {
      if (errno == EINTR) continue;
      fail(std::string("poll: ") + std::strerror(errno));
    }
    if (p.revents & POLLOUT) {
      const std::size_t n = chunk == 0 ? request.size() - written : std::min(chunk, request.size() - written);
      const ssize_t sent = ::send(fd, request.data() + written, n, MSG_NOSIGNAL);
      if (sent > 0) {
        written += static_cast<std::size_t>(sent);
      } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
        write_side_open = false;  // the server closed its side (EPIPE, ECONNRESET): read what it said
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        if (received.bytes.size() < (std::size_t(1) << 20)) received.bytes.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        received.closed = true;  // end of stream, or a reset
        break;
      }
    }
  }
  ::close(fd);
  return received;
}

// The requests of `input` as the server's parser sees them (same limits), as far as they parse: for each, whether
// it is a HEAD (its response has no body, whatever its Content-Length says). Stops after an upgrade request.
std::vector<bool> head_requests(std::string_view input) {
  std::vector<bool> heads;
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(kHeaderLimit);
    parser.eager(true);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_done()) break;
    input.remove_prefix(used);
    heads.push_back(parser.get().method() == http::verb::head);
    if (boost::beast::websocket::is_upgrade(parser.get())) break;
  }
  return heads;
}

// Checks that `received` is a sequence of HTTP/1.1 responses, at most one (besides 1xx) per request.
void check_responses(const Received& received, const std::vector<bool>& heads) {
  std::string_view rest = received.bytes;
  std::size_t answered = 0;
  while (!rest.empty()) {
    if (!rest.starts_with("HTTP/1.1 ")) {
      fail("the server sent bytes that do not start an HTTP/1.1 response: \"" +
           std::string(rest.substr(0, 40)) + "\"");
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(kHeaderLimit);
    parser.eager(true);
    if (answered < heads.size() && heads[answered]) parser.skip(true);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec == http::error::need_more || (!ec && !parser.is_done())) {
      // The last response, unfinished when the connection ended or the deadline passed: a stream (its body runs
      // until the connection closes), or a client dropped mid-answer.
      if (!received.closed) return;
      parser.put_eof(ec);
      if (ec && ec != http::error::partial_message) fail("the server's last response ends badly: " + ec.message());
      return;
    }
    if (ec) fail("the server sent a malformed HTTP response: " + ec.message());
    const unsigned status = parser.get().result_int();
    if (status == 101) return;  // WebSocket frames follow
    if (status / 100 == 1) continue;  // an interim response: the final one follows
    if (++answered > heads.size() + 1) {
      // One more than parsed here is allowed: an error answer to what did not parse (e.g. 400, 413, 501).
      fail("the server sent " + std::to_string(answered) + " responses to " + std::to_string(heads.size()) +
           " requests");
    }
  }
}

// The server still serves: an admin GET answers 200 (retried briefly: a connection slot or a budget charge of the
// connection just closed may still be on its way back).
void check_alive(std::uint16_t port) {
  const std::string request = std::string("GET /.json?shallow=true&auth=") + kAdminToken +
                              " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
  std::string last;
  for (int attempt = 0; attempt < 30; ++attempt) {
    Received received = exchange(port, request, 0, std::chrono::seconds(5));
    if (received.bytes.starts_with("HTTP/1.1 200 ")) return;
    last = received.bytes.substr(0, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fail("the server no longer answers GET /.json with 200; last answer: \"" + last + "\"");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::err);  // refusals are logged as warnings: thousands of them
  the_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Server& server = the_server();
  static const std::size_t kChunks[8] = {0, 1, 2, 3, 7, 16, 100, 1000};
  const std::size_t chunk = kChunks[data[0] % 8];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Received received = exchange(server.port(), input, chunk, std::chrono::seconds(2));
  check_responses(received, head_requests(input));
  check_alive(server.port());

  static unsigned inputs = 0;
  if (++inputs % 512 == 0) {  // keep the tree small
    exchange(server.port(),
             std::string("DELETE /.json?auth=") + kAdminToken + " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n",
             0, std::chrono::seconds(5));
  }
  return 0;
}
