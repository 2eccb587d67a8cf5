#include "proto/firebase/long_poll_sessions.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <vector>

#include "util/secure_random.h"

namespace backside::proto::firebase {

namespace http = boost::beast::http;

namespace {

std::string random_token(std::size_t length) {
  return secure_random_string(length, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::string more_refused(std::size_t suppressed) {
  return suppressed ? "; " + std::to_string(suppressed) + " more refused since the last such line" : "";
}

// The WebSocket of an upgrade: hands its open, frames and close to the session it names. The socket owns this
// endpoint, which holds it weakly; while bound, the session holds the socket (until websocket_closed).
class UpgradeEndpoint : public net::WebSocketEndpoint {
 public:
  UpgradeEndpoint(std::shared_ptr<LongPollSession> session, const std::shared_ptr<net::WebSocketConnection>& socket)
      : session_(std::move(session)), socket_(socket) {}
  void on_open() override {
    auto socket = socket_.lock();
    if (socket && !session_->bind_websocket(socket)) socket->close(1008, "This long-poll session cannot be upgraded");
  }
  void on_message(std::string&& message) override {
    if (auto socket = socket_.lock()) session_->websocket_frame(socket, std::move(message));
  }
  void on_close() override {
    if (auto socket = socket_.lock()) session_->websocket_closed(socket);
  }

 private:
  std::shared_ptr<LongPollSession> session_;
  std::weak_ptr<net::WebSocketConnection> socket_;
};

// The WebSocket of an upgrade that names no session: closed once open.
class ClosingEndpoint : public net::WebSocketEndpoint {
 public:
  explicit ClosingEndpoint(const std::shared_ptr<net::WebSocketConnection>& socket) : socket_(socket) {}
  void on_open() override {
    if (auto socket = socket_.lock()) socket->close(1008, "Unknown long-poll session");
  }
  void on_message(std::string&&) override {}
  void on_close() override {}

 private:
  std::weak_ptr<net::WebSocketConnection> socket_;
};

}  // namespace

LongPollSessions::LongPollSessions(db::Registry& registry, const FirebaseOptions& firebase, LongPollOptions options)
    : registry_(registry),
      firebase_(firebase),
      options_(std::move(options)),
      per_address_(options_.max_sessions_per_address, options_.per_address_exempt) {}

LongPollSessions::~LongPollSessions() { close_all(); }

void LongPollSessions::forget(const LongPollSession& session) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session.id()); it != sessions_.end() && it->second.get() == &session) {
    sessions_.erase(it);
    per_address_.remove(session.remote_address());
  }
  if (auto it = by_connection_.find(session.connection_session_id()); it != by_connection_.end()) {
    auto held = it->second.lock();
    if (!held || held.get() == &session) by_connection_.erase(it);
  }
}

std::shared_ptr<LongPollSession> LongPollSessions::find(const std::string& id, const std::string& password) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->password() != password) return nullptr;
  return it->second;
}

void LongPollSessions::close_all() {
  std::vector<std::shared_ptr<LongPollSession>> sessions;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [id, session] : sessions_) sessions.push_back(session);
  }
  // Each one's end has the registry forget it: none is left to hold a timer past the I/O context.
  for (auto& session : sessions) session->stop("server shutting down");
}

void LongPollSessions::handle(const net::HttpRequest& request, std::shared_ptr<net::HttpExchange> exchange) {
  const long_poll::QueryParams params = long_poll::parse_query(request.target());
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto get = [&](const char* key) -> std::string {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };

  if (params.contains("start")) return start(request, params, std::move(exchange));
  if (params.contains("dframe")) {
    return exchange->reply(long_poll::http_response(version, keep_alive, std::string(long_poll::kDisconnectFrame),
                                                    "text/html; charset=utf-8"));
  }
  auto session = find(get("id"), get("pw"));
  if (params.contains("disconn")) {
    if (session) session->end("the client left");
    return exchange->reply(long_poll::http_response(version, keep_alive, "", "text/plain; charset=utf-8"));
  }
  if (!params.contains("id")) {
    return exchange->reply(long_poll::http_response(
        version, keep_alive, "{\"error\":\"/.lp is the Firebase long-poll transport: start=t or id=..\"}",
        long_poll::kJsonType, http::status::bad_request));
  }
  if (!session) {
    // Unknown or expired: the client closes this transport and reconnects.
    return exchange->reply(
        long_poll::http_response(version, keep_alive, std::string(long_poll::kUnknownSessionScript)));
  }
  session->poll(params, version, keep_alive, std::move(exchange));
}

void LongPollSessions::start(const net::HttpRequest& request, const long_poll::QueryParams& params,
                             std::shared_ptr<net::HttpExchange> exchange) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto get = [&](const char* key) -> std::string {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  auto unavailable = [&](std::string_view body) {
    exchange->reply(long_poll::http_response(version, keep_alive, std::string(body), long_poll::kJsonType,
                                             http::status::service_unavailable));
  };

  const std::string callback_id = get("cb");
  if (!long_poll::valid_callback_id(callback_id)) {
    return exchange->reply(long_poll::http_response(version, keep_alive,
                                                    "{\"error\":\"Invalid long-poll callback id\"}",
                                                    long_poll::kJsonType, http::status::bad_request));
  }
  if (!firebase_.io) {
    // The sessions' timers need the server's I/O context (FirebaseHandler::set_io_context).
    spdlog::error("firebase long-poll connection from {} refused: no I/O context for its timers",
                  exchange->remote_address());
    return unavailable("{\"error\":\"Long-poll is not available\"}");
  }
  std::string ns = get("ns");
  if (ns.empty()) ns = firebase_.default_namespace;
  auto database = registry_.get(ns);
  if (!database) {
    spdlog::info("firebase long-poll connection from {} refused: {}", exchange->remote_address(),
                 database.error().message);
    return exchange->reply(long_poll::http_response(
        version, keep_alive,
        long_poll::refused_start_script(callback_id,
                                        "Cannot open database \"" + ns + "\": " + database.error().message)));
  }
  const std::string address = exchange->remote_address();
  {
    std::lock_guard lock(mutex_);
    if (closed_) return unavailable("{\"error\":\"The server is shutting down\"}");
    if (sessions_.size() >= options_.max_sessions) {
      std::size_t suppressed = 0;
      if (refusals_log_.allow(suppressed)) {
        spdlog::warn("firebase long-poll connection from {} refused: {} sessions open{}", address, sessions_.size(),
                     more_refused(suppressed));
      }
      return unavailable("{\"error\":\"Too many long-poll sessions\"}");
    }
    // Counted now, so that parallel starts from one address cannot all pass; given back by forget().
    if (!per_address_.try_add(address)) {
      std::size_t suppressed = 0;
      if (refusals_log_.allow(suppressed)) {
        spdlog::warn("firebase long-poll connection from {} refused: {} sessions open from that address "
                     "(max_connections_per_address){}",
                     address, options_.max_sessions_per_address, more_refused(suppressed));
      }
      return unavailable("{\"error\":\"Too many long-poll sessions from your address\"}");
    }
  }
  // `ls`: the client's previous connection ends (proto/firebase/session_registry.h).
  if (const std::string replaces = get("ls"); !replaces.empty() && firebase_.sessions) {
    if (auto old = firebase_.sessions->find(replaces)) old->end_replaced();
  }
  auto session = std::make_shared<LongPollSession>(
      random_token(16), random_token(16), address, firebase_.io->get_executor(), firebase_, options_,
      [this](const LongPollSession& ended) { forget(ended); });
  std::string host(request[http::field::host]);
  auto connection = std::make_shared<Connection>(**database, session, firebase_, std::move(host));
  std::string body = session->start(std::move(connection), callback_id);
  bool registered = false;
  {
    std::lock_guard lock(mutex_);
    // close_all() may have run since the check above: then this session is not one it saw.
    if (!closed_) {
      sessions_[session->id()] = session;
      by_connection_[session->connection_session_id()] = session;
      registered = true;
    } else {
      per_address_.remove(address);
    }
  }
  if (!registered) {
    session->stop("server shutting down");
    return unavailable("{\"error\":\"The server is shutting down\"}");
  }
  // Ended while it started (its handshake over the memory budget): its own forget() came before it was here.
  if (session->finished()) forget(*session);
  spdlog::info("firebase long-poll session {} started from {} (connection {}, database \"{}\")", session->id(),
               address, session->connection_session_id(), ns);
  exchange->reply(long_poll::http_response(version, keep_alive, std::move(body)));
}

net::WebSocketAccept LongPollSessions::accept_upgrade(const std::string& session_id,
                                                      std::shared_ptr<net::WebSocketConnection> socket) {
  std::shared_ptr<LongPollSession> session;
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_connection_.find(session_id); it != by_connection_.end()) session = it->second.lock();
  }
  if (!session) {
    spdlog::info("firebase upgrade from {} refused: no long-poll session {}", socket->remote_address(), session_id);
    return firebase_websocket(std::make_shared<ClosingEndpoint>(socket), firebase_.max_message_bytes);
  }
  return firebase_websocket(std::make_shared<UpgradeEndpoint>(std::move(session), socket),
                            firebase_.max_message_bytes);
}

}  // namespace backside::proto::firebase
