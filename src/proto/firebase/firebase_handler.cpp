#include "proto/firebase/firebase_handler.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <mutex>

namespace backside::proto::firebase {

namespace {

// Frames a connection's messages onto its WebSocket. The frames of one split message go out together even when
// several threads send (the I/O strand answering, database committers pushing and replying).
class WebSocketTransport : public Transport {
 public:
  explicit WebSocketTransport(std::shared_ptr<net::WebSocketConnection> socket) : socket_(std::move(socket)) {}

  bool send(const std::shared_ptr<const std::string>& message) override {
    if (message->size() <= kMaxFrameBytes) return socket_->send(message);
    return socket_->send_all(split_message(message));
  }

  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override {
    for (const auto& message : messages) {
      if (message->size() > kMaxFrameBytes) return Transport::send_all(messages);  // some need splitting
    }
    return socket_->send_all(messages);
  }

  void close(std::uint16_t code, const std::string& reason) override { socket_->close(code, reason); }
  void pause_reading(bool paused) override { socket_->pause_reading(paused); }

 private:
  std::shared_ptr<net::WebSocketConnection> socket_;
};

class WebSocketEndpoint : public net::WebSocketEndpoint {
 public:
  explicit WebSocketEndpoint(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}
  void on_open() override { connection_->open(); }
  void on_message(std::string&& message) override { connection_->on_frame(std::move(message)); }
  void on_close() override { connection_->on_close(); }

 private:
  std::shared_ptr<Connection> connection_;
};

// A connection that cannot be served (bad namespace): the client is told why and stops reconnecting (the `s` control
// message).
class RefusedEndpoint : public net::WebSocketEndpoint {
 public:
  RefusedEndpoint(std::shared_ptr<net::WebSocketConnection> socket, std::string reason)
      : socket_(std::move(socket)), reason_(std::move(reason)) {}
  void on_open() override {
    std::string message = "{\"t\":\"c\",\"d\":{\"t\":\"s\",\"d\":" + boost::json::serialize(boost::json::value(reason_)) +
                          "}}";
    socket_->send(std::make_shared<const std::string>(std::move(message)));
    socket_->close(1008, reason_);
  }
  void on_message(std::string&&) override {}
  void on_close() override { socket_.reset(); }

 private:
  std::shared_ptr<net::WebSocketConnection> socket_;
  std::string reason_;
};

}  // namespace

FirebaseHandler::FirebaseHandler(db::Registry& registry, FirebaseOptions options, LongPollOptions long_poll)
    : registry_(registry),
      options_(std::move(options)),
      long_polls_(std::make_unique<LongPollSessions>(registry_, options_, long_poll)) {
  options_.sessions = &sessions_;
}

FirebaseHandler::~FirebaseHandler() = default;

void FirebaseHandler::handle_long_poll(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  long_polls_->handle(request, std::move(exchange));
}

void FirebaseHandler::close_long_polls() { long_polls_->close_all(); }

void FirebaseHandler::end_replaced_session(const std::string& id) {
  if (id.empty()) return;
  if (auto old = sessions_.find(id)) old->end_replaced();
}

net::WebSocketAccept FirebaseHandler::accept_websocket(const net::HttpRequest& request,
                                                       std::shared_ptr<net::WebSocketConnection> socket) {
  std::string ns = options_.default_namespace;
  std::string upgrade_of;  // `s`: the long-poll session this WebSocket upgrades
  std::string replaces;    // `ls`: the session this client had before
  if (auto url = boost::urls::parse_origin_form(request.target())) {
    for (auto param : url->params()) {
      if (param.key == "ns" && !param.value.empty()) ns = param.value;
      if (param.key == "s" && !param.value.empty()) upgrade_of = param.value;
      if (param.key == "ls" && !param.value.empty()) replaces = param.value;
    }
  }
  if (!upgrade_of.empty()) return long_polls_->accept_upgrade(upgrade_of, std::move(socket));
  end_replaced_session(replaces);
  net::WebSocketAccept accepted;
  // The SDK splits its messages into frames of 16384 UTF-16 code units (at most 3 UTF-8 bytes each); other
  // clients may send whole messages. Either way a message is bounded by max_message_bytes.
  accepted.max_message_bytes = options_.max_message_bytes;
  auto database = registry_.get(ns);
  if (!database) {
    spdlog::info("firebase connection from {} refused: {}", socket->remote_address(), database.error().message);
    accepted.endpoint = std::make_shared<RefusedEndpoint>(socket, "Cannot open database \"" + ns +
                                                                      "\": " + database.error().message);
    return accepted;
  }
  std::string host(request[boost::beast::http::field::host]);
  auto transport = std::make_shared<WebSocketTransport>(std::move(socket));
  auto connection = std::make_shared<Connection>(**database, std::move(transport), options_, std::move(host));
  accepted.endpoint = std::make_shared<WebSocketEndpoint>(std::move(connection));
  return accepted;
}

}  // namespace backside::proto::firebase
