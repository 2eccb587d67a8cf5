// Event streams on a real net::Server over loopback: a handler keeps each request's exchange, and the test thread
// (as a database thread would) starts the stream and sends on it; a raw client socket reads what arrives.
#include "net/event_stream_session.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "net/server.h"
#include "util/memory_budget.h"

namespace backside::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// Keeps every request's exchange for the test to answer.
class KeepingHandler : public HttpHandler {
 public:
  void handle(HttpRequest&& /*request*/, std::shared_ptr<HttpExchange> exchange) override {
    std::lock_guard lock(mutex_);
    exchanges_.push_back(std::move(exchange));
    ++requests_;
    arrived_.notify_all();
  }
  // The next request's exchange (nullptr if none comes within 5 s).
  std::shared_ptr<HttpExchange> next() {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, 5s, [&] { return !exchanges_.empty(); })) return nullptr;
    auto exchange = std::move(exchanges_.front());
    exchanges_.pop_front();
    return exchange;
  }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::shared_ptr<HttpExchange>> exchanges_;
  int requests_ = 0;
};

// A raw client connection, read with deadlines.
class Client {
 public:
  explicit Client(const asio::ip::tcp::endpoint& endpoint, int receive_buffer = 0) : socket_(io_) {
    socket_.open(endpoint.protocol());
    if (receive_buffer) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect(endpoint);
  }
  void write(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void close() { socket_.close(); }
  // Reads until `received` holds `needle` (true), or the connection ends or 10 s pass (false).
  bool read_until(const std::string& needle) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (received.find(needle) == std::string::npos) {
      if (ended || !read_some(deadline)) return false;
    }
    return true;
  }
  // Reads until the server ends the connection (true) or 10 s pass (false).
  bool read_to_end() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!ended) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  // Reads what arrives within `time`.
  void read_for(std::chrono::milliseconds time) {
    const auto deadline = std::chrono::steady_clock::now() + time;
    while (!ended && read_some(deadline)) {
    }
  }

  std::string received;
  bool ended = false;  // end of stream, or reset

 private:
  // One poll and one read; false if the deadline passed first.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    using std::chrono::milliseconds;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd fd{socket_.native_handle(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) {
      ended = true;
      return true;
    }
    received.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

HttpResponse stream_head(std::string first_event) {
  HttpResponse head(http::status::ok, 11);
  head.set(http::field::content_type, "text/event-stream");
  head.body() = std::move(first_event);
  return head;
}

constexpr const char* kHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
constexpr const char* kRequest = "GET /s.json HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";

class EventStreamSessionTest : public ::testing::Test {
 protected:
  void start_server() {
    options_.port = 0;
    options_.io_threads = 2;
    server_ = std::make_unique<Server>(options_, handler_);
    auto endpoint = server_->listen();
    ASSERT_TRUE(endpoint) << endpoint.error().message;
    endpoint_ = *endpoint;
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  // Connects, asks for a stream and returns the request's exchange.
  std::shared_ptr<HttpExchange> request_stream(Client& client) {
    client.write(kRequest);
    auto exchange = handler_.next();
    EXPECT_TRUE(exchange);
    return exchange;
  }
  // Starts the stream on `exchange`, counting its on_closed calls in `closed`.
  static std::shared_ptr<EventStream> start(HttpExchange& exchange, std::atomic<int>& closed,
                                            std::string first_event = "event: first\n\n") {
    auto stream = exchange.start_stream(stream_head(std::move(first_event)));
    stream->on_closed([&closed] { ++closed; });
    return stream;
  }
  // How most tests begin: a client (client_) whose request got a stream (stream_), its on_closed calls counted in
  // closed_.
  void open_stream(int receive_buffer = 0) {
    client_.emplace(endpoint_, receive_buffer);
    exchange_ = request_stream(*client_);
    ASSERT_TRUE(exchange_);
    stream_ = start(*exchange_, closed_);
  }
  static std::shared_ptr<const std::string> bytes(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
  }

  ServerOptions options_;
  MemoryBudget budget_{std::size_t(256) << 20};  // for a test that sets it in options_; outlives the server
  KeepingHandler handler_;
  std::unique_ptr<Server> server_;
  asio::ip::tcp::endpoint endpoint_;
  std::optional<Client> client_;
  std::shared_ptr<HttpExchange> exchange_;
  std::atomic<int> closed_{0};
  std::shared_ptr<EventStream> stream_;
};

TEST_F(EventStreamSessionTest, TheHeadAndEventsArriveInOrderAndCloseEndsTheStreamAfterThem) {
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  // Sent at once after start_stream, from this thread: most of them before the socket is handed over.
  std::string expected = std::string(kHead) + "event: first\n\n";
  for (int i = 0; i < 200; ++i) {
    std::string event = "event: put\ndata: " + std::to_string(i) + "\n\n";
    EXPECT_TRUE(stream_->send(bytes(event)));
    expected += event;
  }
  stream_->close();
  EXPECT_FALSE(stream_->send(bytes("event: late\n\n")));  // closing: refused
  ASSERT_TRUE(client_->read_to_end()) << client_->received;
  EXPECT_EQ(client_->received, expected);
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
}

TEST_F(EventStreamSessionTest, CloseWritesWhatTheSocketCouldNotTakeYetBeforeEnding) {
  options_.max_stream_queue_bytes = std::size_t(64) << 20;
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream(4096));
  // 32 MiB the client does not read yet: far more than the sockets' buffers take, so most of it is queued.
  const auto chunk = bytes(std::string(64 * 1024, 'x'));
  for (int i = 0; i < 512; ++i) ASSERT_TRUE(stream_->send(chunk));
  stream_->close();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(closed_, 0) << "the stream ended with its queue unwritten";
  ASSERT_TRUE(client_->read_to_end());
  const std::size_t head_size = std::string(kHead).size() + std::string("event: first\n\n").size();
  EXPECT_EQ(client_->received.size(), head_size + 512 * chunk->size());
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
}

TEST_F(EventStreamSessionTest, AClientThatDoesNotReadIsDroppedAtTheQueueBound) {
  options_.memory_budget = &budget_;
  options_.max_stream_queue_bytes = 256 * 1024;
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream(4096));
  const auto chunk = bytes(std::string(64 * 1024, 'y'));
  std::size_t most_charged = 0;
  std::size_t sent = 0;
  for (; sent < 4000; ++sent) {
    if (!stream_->send(chunk)) break;
    most_charged = std::max(most_charged, budget_.used());
  }
  EXPECT_LT(sent, 4000u) << "never dropped";
  EXPECT_GT(most_charged, 0u) << "the queue was not charged to the memory budget";
  EXPECT_LE(most_charged, options_.max_stream_queue_bytes + chunk->size());
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
  EXPECT_TRUE(eventually([&] { return budget_.used() == 0; })) << budget_.used();
  EXPECT_FALSE(stream_->send(chunk));
  ASSERT_TRUE(client_->read_to_end());
  EXPECT_LT(client_->received.size(), sent * chunk->size());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(closed_, 1);
}

TEST_F(EventStreamSessionTest, OnClosedRunsOnceWhenTheClientGoes) {
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  ASSERT_TRUE(client_->read_until("event: first\n\n"));
  client_->close();
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
  EXPECT_FALSE(stream_->send(bytes("event: after\n\n")));
  stream_->close();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(closed_, 1);
  // Asked for after the end, on_closed still runs.
  std::atomic<int> late{0};
  stream_->on_closed([&late] { ++late; });
  ASSERT_TRUE(eventually([&] { return late == 1; }));
}

TEST_F(EventStreamSessionTest, AStreamStartedAfterTheClientLeftEnds) {
  start_server();
  std::shared_ptr<HttpExchange> exchange;
  {
    Client client(endpoint_);
    exchange = request_stream(client);
  }
  ASSERT_TRUE(exchange);
  std::atomic<int> closed{0};
  auto stream = start(*exchange, closed);
  ASSERT_TRUE(eventually([&] { return closed == 1; }));
  EXPECT_FALSE(stream->send(bytes("event: after\n\n")));
}

TEST_F(EventStreamSessionTest, KeepAliveBytesGoOutWhenTheStreamIsIdleOnly) {
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  stream_->keep_alive(bytes(": keep-alive\n\n"), 1);
  // Busy (an event every 100 ms) for 2.5 s: no keep-alive.
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(stream_->send(bytes("event: tick\n\n")));
    std::this_thread::sleep_for(100ms);
  }
  client_->read_for(50ms);
  EXPECT_EQ(client_->received.find(": keep-alive"), std::string::npos) << client_->received;
  // Idle: one within about two intervals.
  ASSERT_TRUE(client_->read_until(": keep-alive\n\n")) << client_->received;
  EXPECT_TRUE(client_->received.starts_with(std::string(kHead) + "event: first\n\nevent: tick\n\n"));
  EXPECT_EQ(closed_, 0);
}

TEST_F(EventStreamSessionTest, WhatTheClientSendsOnAStreamIsDiscarded) {
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  ASSERT_TRUE(client_->read_until("event: first\n\n"));
  client_->write(std::string(kRequest) + "and some more bytes");
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(stream_->send(bytes("event: after\n\n")));
  ASSERT_TRUE(client_->read_until("event: after\n\n")) << client_->received;
  EXPECT_EQ(handler_.requests(), 1);  // nothing of it was read as a request
  EXPECT_EQ(closed_, 0);
}

TEST_F(EventStreamSessionTest, ServerShutdownEndsStreamsAfterWhatIsQueued) {
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  ASSERT_TRUE(client_->read_until("event: first\n\n"));
  ASSERT_TRUE(stream_->send(bytes("event: last\n\n")));
  server_->close_connections();
  ASSERT_TRUE(client_->read_to_end());
  EXPECT_EQ(client_->received, std::string(kHead) + "event: first\n\nevent: last\n\n");
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
}

TEST_F(EventStreamSessionTest, AStreamStartedDuringShutdownSendsItsHeadAndEnds) {
  start_server();
  Client client(endpoint_);
  auto exchange = request_stream(client);
  ASSERT_TRUE(exchange);
  // The request has arrived: a shutdown lets its answer out before the connection closes (a drain), and a stream
  // that answer starts ends right after what it was started with.
  server_->close_connections();
  std::atomic<int> closed{0};
  auto stream = start(*exchange, closed);
  ASSERT_TRUE(client.read_to_end()) << client.received;
  EXPECT_EQ(client.received, std::string(kHead) + "event: first\n\n");
  ASSERT_TRUE(eventually([&] { return closed == 1; }));
  EXPECT_FALSE(stream->send(bytes("event: after\n\n")));
}

TEST_F(EventStreamSessionTest, AStreamHoldsItsConnectionSlotUntilItEnds) {
  options_.connection_limits.max_connections = 1;
  start_server();
  ASSERT_NO_FATAL_FAILURE(open_stream());
  ASSERT_TRUE(client_->read_until("event: first\n\n"));
  {
    Client refused(endpoint_);
    ASSERT_TRUE(refused.read_to_end());
    EXPECT_TRUE(refused.received.starts_with("HTTP/1.1 503 ")) << refused.received;
  }
  stream_->close();
  ASSERT_TRUE(client_->read_to_end());
  ASSERT_TRUE(eventually([&] { return closed_ == 1; }));
  Client admitted(endpoint_);
  EXPECT_TRUE(request_stream(admitted)) << "the stream's slot was not given back";
  EXPECT_EQ(handler_.requests(), 2);
}

}  // namespace
}  // namespace backside::net
