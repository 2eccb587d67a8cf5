#include "proto/firebase/firebase_handler.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

namespace backside::proto::firebase {

namespace {

class WebSocketEndpoint : public net::WebSocketEndpoint {
 public:
  WebSocketEndpoint(std::shared_ptr<Connection> connection, std::string previous_session)
      : connection_(std::move(connection)), previous_session_(std::move(previous_session)) {}
  void on_open() override { connection_->open(previous_session_); }
  void on_message(std::string&& message) override { connection_->on_frame(std::move(message)); }
  void on_close() override { connection_->on_close(); }

 private:
  std::shared_ptr<Connection> connection_;
  std::string previous_session_;  // `ls`
};

// A connection that cannot be served (bad namespace): the client is told why and stops reconnecting (the `s` control
// message).
class RefusedEndpoint : public net::WebSocketEndpoint {
 public:
  RefusedEndpoint(const std::shared_ptr<net::WebSocketConnection>& socket, std::string reason)
      : socket_(socket), reason_(std::move(reason)) {}
  void on_open() override {
    auto socket = socket_.lock();
    if (!socket) return;
    std::string message = "{\"t\":\"c\",\"d\":{\"t\":\"s\",\"d\":" + boost::json::serialize(boost::json::value(reason_)) +
                          "}}";
    socket->send(std::make_shared<const std::string>(std::move(message)));
    socket->close(1008, reason_);
  }
  void on_message(std::string&&) override {}
  void on_close() override {}

 private:
  std::weak_ptr<net::WebSocketConnection> socket_;  // the socket owns this endpoint
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
  // The SDK splits its messages into frames of 16384 UTF-16 code units (at most 3 UTF-8 bytes each); other
  // clients may send whole messages. Either way a message is bounded by max_message_bytes.
  auto database = registry_.get(ns);
  if (!database) {
    spdlog::info("firebase connection from {} refused: {}", socket->remote_address(), database.error().message);
    return firebase_websocket(
        std::make_shared<RefusedEndpoint>(socket, "Cannot open database \"" + ns + "\": " + database.error().message),
        options_.max_message_bytes);
  }
  std::string host(request[boost::beast::http::field::host]);
  auto connection = std::make_shared<Connection>(**database, socket, options_, std::move(host));
  return firebase_websocket(std::make_shared<WebSocketEndpoint>(std::move(connection), std::move(replaces)),
                            options_.max_message_bytes);
}

}  // namespace backside::proto::firebase
