#include "net/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/strand.hpp>

#include "net/http_session.h"
#include "net/tcp_session.h"

namespace backside::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Accepts connections on one port: HTTP (HttpSession, which may become a WebSocket) or a raw protocol
// (TcpSession handed to a StreamHandler).
class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, const ServerOptions& options, HttpHandler* handler, StreamHandler* stream_handler)
      : io_(io),
        options_(options),
        handler_(handler),
        stream_handler_(stream_handler),
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
      if (ec) {
        // Out of file descriptors and similar: log, back off briefly, keep serving the connections we have.
        spdlog::warn("accept failed: {}", ec.message());
        auto timer = std::make_shared<asio::steady_timer>(self->io_, std::chrono::milliseconds(100));
        timer->async_wait([self, timer](boost::system::error_code) { self->accept(); });
        return;
      }
      socket.set_option(tcp::no_delay(true), ec);
      if (self->stream_handler_) {
        std::make_shared<TcpSession>(std::move(socket), self->options_, self->sessions_)->start(*self->stream_handler_);
      } else {
        std::make_shared<HttpSession>(std::move(socket), *self->handler_, self->options_, self->sessions_)->start();
      }
      self->accept();
    });
  }

  void stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
    sessions_->shutdown_all();
  }

 private:
  asio::io_context& io_;
  const ServerOptions& options_;
  HttpHandler* handler_;
  StreamHandler* stream_handler_;
  tcp::acceptor acceptor_;
  std::shared_ptr<SessionSet> sessions_;
};

Server::Server(ServerOptions options, HttpHandler& handler) : options_(std::move(options)), handler_(handler) {}

Server::~Server() { stop(); }

Result<tcp::endpoint> Server::listen() {
  listener_ = std::make_shared<Listener>(io_, options_, &handler_, nullptr);
  auto endpoint = listener_->open(options_.port);
  if (endpoint) listener_->accept();
  return endpoint;
}

Result<tcp::endpoint> Server::listen_stream(std::uint16_t port, StreamHandler& handler) {
  auto listener = std::make_shared<Listener>(io_, options_, nullptr, &handler);
  auto endpoint = listener->open(port);
  if (!endpoint) return endpoint;
  listener->accept();
  stream_listeners_.push_back(std::move(listener));
  return endpoint;
}

void Server::start() {
  std::size_t count = options_.io_threads ? options_.io_threads : std::max(1u, std::thread::hardware_concurrency());
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

void Server::close_connections() {
  if (listener_) listener_->stop();
  for (auto& listener : stream_listeners_) listener->stop();
}

void Server::stop() {
  if (threads_.empty()) return;
  close_connections();
  // Give sessions a moment to flush their final bytes, then stop the loop.
  auto guard = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
  guard->async_wait([this, guard](boost::system::error_code) { io_.stop(); });
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace backside::net
