#include "net/server.h"

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <boost/asio/strand.hpp>
#include <future>
#include <string_view>

#include "net/http_session.h"
#include "net/tcp_session.h"
#include "util/log_throttle.h"

namespace backside::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Shared by the listeners of a server: running out of descriptors is one incident for the whole process (every port
// fails at once), and refusals are one kind of event to rate-limit, whichever port they happen on.
struct Server::AcceptState {
  LogThrottle refusals_log{std::chrono::seconds(10)};
  std::atomic<std::size_t> failures{0};  // failed accepts since the last one that worked (0 = accepting normally)
  std::atomic<std::int64_t> failing_since_ms{0};
};

// Accepts connections on one port: HTTP (HttpSession, which may become a WebSocket) or a raw protocol
// (TcpSession handed to a StreamHandler).
class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, const ServerOptions& options, ConnectionLimiter& limiter,
           std::shared_ptr<AcceptState> state, HttpHandler* handler, StreamHandler* stream_handler,
           metrics::ConnectionKind stream_kind, std::shared_ptr<TlsContextSource> tls)
      : io_(io),
        options_(options),
        limiter_(limiter),
        state_(std::move(state)),
        handler_(handler),
        stream_handler_(stream_handler),
        stream_kind_(stream_kind),
        tls_(std::move(tls)),
        acceptor_(io),
        sessions_(std::make_shared<SessionSet>()) {}

  Result<tcp::endpoint> open(std::uint16_t port) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return invalid("Invalid host address \"" + options_.host + "\": " + ec.message());
    tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error{ErrorCode::unavailable,
                   "Cannot listen on " + options_.host + ":" + std::to_string(port) + ": " + ec.message()};
    }
    return acceptor_.local_endpoint();
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) return self->accept_failed(ec);
      self->accept_recovered();
      self->admit(std::move(socket));
      self->accept();
    });
  }

  // Closes the listening socket on an I/O thread, where its accepts run. From another thread, waits until it is
  // closed, so that a connection attempted after this returns is refused; without I/O threads, closes it here.
  void stop_accepting(bool io_running) {
    if (!io_running) {
      boost::system::error_code ec;
      acceptor_.close(ec);
      return;
    }
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::post(acceptor_.get_executor(), [self = shared_from_this(), closed] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
      closed->set_value();
    });
    if (!io_.get_executor().running_in_this_thread()) done.wait_for(std::chrono::seconds(5));
  }

  void shutdown_sessions() { sessions_->shutdown_all(); }
  std::size_t wait_closed(std::chrono::steady_clock::time_point deadline) {
    return sessions_->wait_until_empty(deadline);
  }

  // After the I/O threads stopped: the sessions still open go now, while the I/O context they use still exists.
  void release_sessions() { sessions_->release_all(); }

 private:
  // Out of file descriptors (EMFILE, ENFILE) and similar: back off briefly and try again, serving the connections
  // we have meanwhile. Logged once per incident (whichever port fails first), not on every retry (every 100 ms) nor
  // per port, with one line when the server accepts again.
  void accept_failed(const boost::system::error_code& ec) {
    if (state_->failures.fetch_add(1) == 0) {
      state_->failing_since_ms = now_ms();
      spdlog::warn("accept failed on port {}: {} ({} connections open); retrying every 100 ms, existing connections "
                   "are served meanwhile", port(), ec.message(), limiter_.open());
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    timer->async_wait([self = shared_from_this(), timer](boost::system::error_code) { self->accept(); });
  }

  // An accept worked during an incident. A descriptor freed for a moment is not the end of it (the next accept may
  // fail again): the incident ends, with its one line, once a second has passed without another failure.
  void accept_recovered() {
    std::size_t failures = state_->failures.load();
    if (failures == 0) return;
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
    timer->async_wait([self = shared_from_this(), timer, failures](boost::system::error_code) mutable {
      // Unchanged since: nothing failed for a second. Otherwise a later accept schedules its own check.
      if (!self->state_->failures.compare_exchange_strong(failures, 0)) return;
      spdlog::info("accepting connections on port {} again, after {} failed attempts over {} ms", self->port(),
                   failures, now_ms() - self->state_->failing_since_ms.load());
    });
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Counts the new connection against the caps and starts its session, or closes it at once.
  void admit(tcp::socket socket) {
    boost::system::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone (reset before we got to it); the socket closes here
    ConnectionLimiter::Admission admission = limiter_.admit(peer.address());
    if (admission.verdict != ConnectionLimiter::Verdict::admitted) return refuse(std::move(socket), peer, admission);
    socket.set_option(tcp::no_delay(true), ec);
    // On a TLS port the handshake is the session's first read: it is bounded by the session's own first timeout
    // (an HTTP request's, STOMP's CONNECT), as a client that sends nothing is.
    std::shared_ptr<TlsChannel> channel = tls_ ? std::make_shared<TlsChannel>(tls_->current()) : nullptr;
    if (stream_handler_) {
      auto session = std::make_shared<TcpSession>(std::move(socket), std::move(channel), options_, sessions_);
      session->connection_slot = std::move(admission.slot);
      session->start(*stream_handler_, stream_kind_);
    } else {
      auto session =
          std::make_shared<HttpSession>(std::move(socket), std::move(channel), *handler_, options_, sessions_);
      session->connection_slot = std::move(admission.slot);
      session->start();
    }
  }

  // Over a cap: the connection is closed at once. An HTTP client first gets a 503 (one non-blocking write of a
  // fixed response; if the socket cannot take it, the client just sees the close).
  void refuse(tcp::socket socket, const tcp::endpoint& peer, const ConnectionLimiter::Admission& admission) {
    const bool server_full = admission.verdict == ConnectionLimiter::Verdict::server_full;
    metrics::server_metrics()
        .refused_connections(server_full ? metrics::ConnectionRefusal::server_full
                                         : metrics::ConnectionRefusal::address_full)
        .add();
    if (!stream_handler_) {
      static constexpr std::string_view kServerFull =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
          "Retry-After: 5\r\nConnection: close\r\nContent-Length: 52\r\n\r\n"
          "{\"error\":\"Too many connections open on the server\"}\n";
      static constexpr std::string_view kAddressFull =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
          "Retry-After: 5\r\nConnection: close\r\nContent-Length: 56\r\n\r\n"
          "{\"error\":\"Too many connections open from your address\"}\n";
      static_assert(kServerFull.size() - kServerFull.find("\r\n\r\n") - 4 == 52, "Content-Length of kServerFull");
      static_assert(kAddressFull.size() - kAddressFull.find("\r\n\r\n") - 4 == 56, "Content-Length of kAddressFull");
      const std::string_view response = server_full ? kServerFull : kAddressFull;
      [[maybe_unused]] ssize_t written =
          ::send(socket.native_handle(), response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    std::size_t suppressed = 0;
    if (state_->refusals_log.allow(suppressed)) {
      const ConnectionLimits& limits = limiter_.limits();
      if (server_full) {
        spdlog::warn("refused a connection from {} on port {}: {} connections open (max_connections){}",
                     peer.address().to_string(), port(), limits.max_connections, suppressed_note(suppressed));
      } else {
        spdlog::warn("refused a connection from {} on port {}: {} connections open from {} "
                     "(max_connections_per_address){}",
                     peer.address().to_string(), port(), limits.max_connections_per_address,
                     address_group(peer.address()), suppressed_note(suppressed));
      }
    }
  }

  static std::string suppressed_note(std::size_t suppressed) {
    return suppressed ? "; " + std::to_string(suppressed) + " more refused since the last such line" : "";
  }

  std::uint16_t port() const {
    boost::system::error_code ec;
    auto endpoint = acceptor_.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
  }

  asio::io_context& io_;
  const ServerOptions& options_;
  ConnectionLimiter& limiter_;
  std::shared_ptr<AcceptState> state_;
  HttpHandler* handler_;
  StreamHandler* stream_handler_;
  metrics::ConnectionKind stream_kind_;  // what a stream_handler_ connection counts as
  std::shared_ptr<TlsContextSource> tls_;  // null: plain TCP
  tcp::acceptor acceptor_;
  std::shared_ptr<SessionSet> sessions_;
};

Server::Server(ServerOptions options, HttpHandler& handler)
    : options_(std::move(options)),
      handler_(handler),
      limiter_(options_.connection_limits),
      accept_state_(std::make_shared<AcceptState>()) {}

Server::~Server() { stop(); }

Result<tcp::endpoint> Server::listen(std::shared_ptr<TlsContextSource> tls) {
  listener_ = std::make_shared<Listener>(io_, options_, limiter_, accept_state_, &handler_, nullptr,
                                         metrics::ConnectionKind::http, std::move(tls));
  auto endpoint = listener_->open(options_.port);
  if (endpoint) listener_->accept();
  return endpoint;
}

Result<tcp::endpoint> Server::listen_stream(std::uint16_t port, StreamHandler& handler, metrics::ConnectionKind kind,
                                           std::shared_ptr<TlsContextSource> tls) {
  auto listener =
      std::make_shared<Listener>(io_, options_, limiter_, accept_state_, nullptr, &handler, kind, std::move(tls));
  auto endpoint = listener->open(port);
  if (!endpoint) return endpoint;
  listener->accept();
  stream_listeners_.push_back(std::move(listener));
  return endpoint;
}

void Server::start() {
  std::size_t count = options_.io_threads ? options_.io_threads : std::max(1u, std::thread::hardware_concurrency());
  work_.emplace(io_.get_executor());
  for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([this] { run_io_thread(); });
}

void Server::run_io_thread() {
  // The last line of defence: a handler that throws (a parser's std::length_error, a bad_alloc) has already been
  // unwound out of its operation, which releases the connection it served (the connection ends); the process and
  // every other connection go on. Handlers catch what they can answer themselves; this only logs the rest.
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      log_handler_exception(e.what());
    } catch (...) {
      log_handler_exception("unknown exception");
    }
  }
}

void Server::log_handler_exception(const char* what) {
  // Rate-limited: a client that can trigger the exception at will must not be able to flood the log with it.
  const auto now = std::chrono::steady_clock::now();
  const std::size_t count = ++handler_exceptions_;
  std::lock_guard lock(exception_log_mutex_);
  if (now - last_exception_log_ < std::chrono::seconds(10)) return;
  last_exception_log_ = now;
  spdlog::error("a connection ended on an unexpected exception ({} so far): {}", count, what);
}

void Server::stop_accepting() {
  const bool io_running = !threads_.empty() && !io_.stopped();
  if (listener_) listener_->stop_accepting(io_running);
  for (auto& listener : stream_listeners_) listener->stop_accepting(io_running);
}

void Server::close_connections() {
  stop_accepting();
  if (listener_) listener_->shutdown_sessions();
  for (auto& listener : stream_listeners_) listener->shutdown_sessions();
}

std::size_t Server::wait_closed(std::chrono::steady_clock::time_point deadline) {
  std::size_t open = 0;
  if (listener_) open += listener_->wait_closed(deadline);
  for (auto& listener : stream_listeners_) open += listener->wait_closed(deadline);
  return open;
}

void Server::stop() {
  if (!threads_.empty()) {
    close_connections();
    // Give sessions a moment to flush their final bytes, then stop the loop.
    auto guard = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
    guard->async_wait([this, guard](boost::system::error_code) { io_.stop(); });
    for (auto& t : threads_) t.join();
    threads_.clear();
    work_.reset();
  }
  if (listener_) listener_->release_sessions();
  for (auto& listener : stream_listeners_) listener->release_sessions();
}

}  // namespace backside::net
