#pragma once
// The network server: a listener on the HTTP port (and on raw protocol ports), and the I/O threads that run every
// session.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <mutex>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/connection_limiter.h"
#include "net/http.h"
#include "net/tls_context.h"
#include "util/memory_budget.h"
#include "util/result.h"

namespace backside::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9000;
  std::size_t io_threads = 0;                                // 0 = one per core
  // Open connections, server-wide and per client address, over every port (net/connection_limiter.h).
  ConnectionLimits connection_limits;
  std::size_t max_body_bytes = std::size_t(256) << 20;       // Firebase REST's limit
  std::size_t max_stream_queue_bytes = std::size_t(16) << 20;  // per stream, then the slow reader is dropped
  int request_timeout_seconds = 60;
  std::size_t max_websocket_message_bytes = std::size_t(16) << 20;  // one incoming WebSocket message
  // A WebSocket silent for half this time gets a ping from the server; silent for all of it, it is closed.
  int websocket_idle_seconds = 60;
  // Server-wide budget charged by every session's buffered input and queued output; nullptr = none. Owned by the
  // caller (app/app.cpp), it outlives the server.
  MemoryBudget* memory_budget = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, HttpHandler& handler);
  ~Server();

  // Binds and starts accepting; returns the bound endpoint (port 0 picks a free port). With `tls`, the port speaks
  // TLS only, each new connection taking the source's current context.
  Result<boost::asio::ip::tcp::endpoint> listen(std::shared_ptr<TlsContextSource> tls = nullptr);
  // Binds a raw protocol port (STOMP) whose connections go to `handler`, counted as `kind` in
  // backside_open_connections; call before start(). `tls` as for listen().
  Result<boost::asio::ip::tcp::endpoint> listen_stream(std::uint16_t port, StreamHandler& handler,
                                                       metrics::ConnectionKind kind,
                                                       std::shared_ptr<TlsContextSource> tls = nullptr);
  // Starts the I/O threads; returns immediately.
  void start();
  // Closes the listening sockets: new connections are refused (by the kernel); the open ones go on. Idempotent.
  void stop_accepting();
  // stop_accepting(), then ends every connection in its protocol (Session::shutdown: a WebSocket closes with 1001
  // after its door's last words, an HTTP connection after the answer to the request it is in), and every
  // connection that becomes a session from now on. Their close handlers run on the I/O threads, which keep going.
  void close_connections();
  // After close_connections(): waits until every connection has closed (its door has heard of it), or until
  // `deadline`; returns how many are still open.
  std::size_t wait_closed(std::chrono::steady_clock::time_point deadline);
  // close_connections(), then stops and joins the I/O threads, then drops the connections still open.
  void stop();
  boost::asio::io_context& io_context() { return io_; }

 private:
  class Listener;
  struct AcceptState;  // what the listeners share: the refusal log, the current accept failure incident
  void run_io_thread();
  void log_handler_exception(const char* what);

  ServerOptions options_;
  HttpHandler& handler_;
  ConnectionLimiter limiter_;  // before io_: sessions still queued on io_ at destruction hold its slots
  std::shared_ptr<AcceptState> accept_state_;
  boost::asio::io_context io_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::shared_ptr<Listener>> stream_listeners_;
  std::vector<std::thread> threads_;
  // Keeps the I/O threads running from start() to stop(), also when no connection has an operation pending (closing
  // the acceptors can take the last one before the sessions' shutdowns are queued).
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::atomic<std::size_t> handler_exceptions_{0};
  std::mutex exception_log_mutex_;
  std::chrono::steady_clock::time_point last_exception_log_{};
};

}  // namespace backside::net
