// A real net::Server on loopback, shut down while clients hold connections: what a drain does to a connection
// waiting for its next request, to one whose request is being answered, and to new connections.
#include "net/server.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/server_metrics.h"

namespace backside::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// Holds each request's exchange until the test answers it: a request "in flight" for as long as the test wants.
class HeldHandler : public HttpHandler {
 public:
  void handle(HttpRequest&& request, std::shared_ptr<HttpExchange> exchange) override {
    std::lock_guard lock(mutex_);
    held_ = std::move(exchange);
    version_ = request.version();
    arrived_.notify_all();
  }
  bool wait_for_request() {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, 5s, [&] { return held_ != nullptr; });
  }
  void answer(std::string body) {
    std::shared_ptr<HttpExchange> exchange;
    {
      std::lock_guard lock(mutex_);
      exchange = std::move(held_);
    }
    HttpResponse response(http::status::ok, version_);
    response.body() = std::move(body);
    response.prepare_payload();
    exchange->reply(std::move(response));
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::shared_ptr<HttpExchange> held_;
  unsigned version_ = 11;
};

class ServerDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    server_ = std::make_unique<Server>(options, handler_);
    auto endpoint = server_->listen();
    ASSERT_TRUE(endpoint) << endpoint.error().message;
    endpoint_ = *endpoint;
    server_->start();
  }
  void TearDown() override { server_->stop(); }

  // Everything the server sends on `socket` until it closes the connection; a failure if that takes over 5 s.
  static std::string read_until_closed(asio::ip::tcp::socket& socket) {
    std::string received;
    const auto until = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ADD_FAILURE() << "the server did not close the connection within 5 s; received: " << received;
        return received;
      }
      pollfd readable{socket.native_handle(), POLLIN, 0};
      if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(socket.native_handle(), buffer, sizeof buffer, 0);
      if (n == 0) return received;
      if (n < 0) {
        if (errno == EINTR) continue;
        ADD_FAILURE() << "read failed: " << std::strerror(errno);
        return received;
      }
      received.append(buffer, static_cast<std::size_t>(n));
    }
  }

  static std::int64_t open_http() {
    return metrics::server_metrics().open_connections(metrics::ConnectionKind::http).value();
  }
  // Waits until the server has accepted (and counts) `count` HTTP connections.
  static bool wait_for_open(std::int64_t count) {
    for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
      if (open_http() == count) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  HeldHandler handler_;
  std::unique_ptr<Server> server_;
  asio::ip::tcp::endpoint endpoint_;
  asio::io_context io_;
};

TEST_F(ServerDrainTest, AnIdleConnectionClosesAndARequestInFlightIsAnsweredFirst) {
  const std::int64_t open_before = open_http();
  asio::ip::tcp::socket idle(io_);
  idle.connect(endpoint_);
  asio::ip::tcp::socket busy(io_);
  busy.connect(endpoint_);
  asio::write(busy, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(handler_.wait_for_request());
  ASSERT_TRUE(wait_for_open(open_before + 2));  // both accepted and counted

  server_->close_connections();
  // The idle one is closed without a word; the busy one still waits for its answer.
  EXPECT_EQ(read_until_closed(idle), "");
  EXPECT_EQ(server_->wait_closed(std::chrono::steady_clock::now() + 200ms), 1u);

  handler_.answer("done");
  // The answer says the connection closes (no further request would be read), and then it does.
  EXPECT_EQ(read_until_closed(busy), "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone");
  EXPECT_EQ(server_->wait_closed(std::chrono::steady_clock::now() + 5s), 0u);
  EXPECT_TRUE(wait_for_open(open_before));
}

TEST_F(ServerDrainTest, NewConnectionsAreRefusedOnceAcceptingStops) {
  const std::int64_t open_before = open_http();
  asio::ip::tcp::socket before(io_);
  before.connect(endpoint_);
  ASSERT_TRUE(wait_for_open(open_before + 1));  // accepted by the server, not only queued by the kernel
  server_->stop_accepting();
  asio::ip::tcp::socket after(io_);
  boost::system::error_code ec;
  after.connect(endpoint_, ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
  // The connection opened before goes on being served until the server closes it.
  asio::write(before, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(handler_.wait_for_request());
  handler_.answer("still here");
  std::string head;
  asio::read_until(before, asio::dynamic_buffer(head), "still here");
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos);
}

}  // namespace
}  // namespace backside::net
