#include "proto/firebase/listen_subscriber.h"

#include <boost/json/serialize.hpp>

#include "tree/hash.h"
#include "tree/json_codec.h"

namespace backside::proto::firebase {

using tree::Node;
using tree::Path;

namespace {

const Node kNull;

// Push paths carry no leading slash: "a/b", the root is "".
void append_wire_path(std::string& out, const Path& path) {
  std::string text;
  for (const auto& segment : path.segments()) {
    if (!text.empty()) text += '/';
    text += segment;
  }
  tree::append_string(out, text);
}

void append_tag_and_close(std::string& out, std::optional<std::int64_t> tag) {
  if (tag) {
    out += ",\"t\":";
    out += std::to_string(*tag);
  }
  out += "}}}";
}

}  // namespace

std::string render_overwrite(const Path& path, const Node& value, std::optional<std::int64_t> tag) {
  std::string out = "{\"t\":\"d\",\"d\":{\"a\":\"d\",\"b\":{\"p\":";
  append_wire_path(out, path);
  out += ",\"d\":";
  tree::append_json(out, value, {.format = tree::Format::export_});
  append_tag_and_close(out, tag);
  return out;
}

ListenSubscriber::ListenSubscriber(std::weak_ptr<net::WebSocketConnection> socket,
                                   const std::shared_ptr<session::ClientSession>& session, std::string key, Path path,
                                   std::optional<std::int64_t> tag, std::optional<boost::json::object> wire_query,
                                   std::string client_hash)
    : socket_(std::move(socket)),
      session_(session),
      credential_(session->credential()),
      key_(std::move(key)),
      path_(std::move(path)),
      tag_(tag),
      wire_query_(std::move(wire_query)),
      client_hash_(std::move(client_hash)),
      render_key_(tag ? "fb:t=" + std::to_string(*tag) : "fb") {}

std::shared_ptr<const std::string> ListenSubscriber::render(const sync::ViewEvent& event) const {
  if (event.kind == sync::ViewEvent::Kind::put) {
    const Node& value = event.value ? *event.value : kNull;
    // The client already holds this value (it sent its hash): the `ok` alone completes the view.
    if (event.initial && !client_hash_.empty() && tree::node_hash(value) == client_hash_) return nullptr;
    return std::make_shared<const std::string>(render_overwrite(event.path, value, tag_));
  }
  auto out = std::make_shared<std::string>("{\"t\":\"d\",\"d\":{\"a\":\"m\",\"b\":{\"p\":");
  append_wire_path(*out, event.path);
  *out += ",\"d\":{";
  bool first = true;
  for (const auto& [relative, value] : event.merge) {
    if (!first) *out += ',';
    first = false;
    std::string key;
    for (const auto& segment : relative.segments()) {
      if (!key.empty()) key += '/';
      key += segment;
    }
    tree::append_string(*out, key);
    *out += ':';
    tree::append_json(*out, value ? *value : kNull, {.format = tree::Format::export_});
  }
  *out += '}';
  append_tag_and_close(*out, tag_);
  return out;
}

std::shared_ptr<net::WebSocketConnection> ListenSubscriber::open_socket() {
  if (!active()) return nullptr;
  auto socket = socket_.lock();
  if (!socket) return nullptr;
  if (credential_->expired()) {
    if (auto session = session_.lock()) session->credential_ended();
    return nullptr;
  }
  return socket;
}

void ListenSubscriber::deliver(const std::shared_ptr<const std::string>& bytes) {
  if (auto socket = open_socket()) socket->send(bytes);
}

void ListenSubscriber::deliver_all(std::span<const std::shared_ptr<const std::string>> events) {
  if (auto socket = open_socket()) socket->send_all(events);
}

void ListenSubscriber::revoked(const Error& why) {
  if (!stop()) return;
  if (auto session = session_.lock()) session->listen_ended(key_, this);
  if (why.code != ErrorCode::permission_denied) return;  // the database is closing: the connection ends anyway
  // `c` (listen revoked): the query, if any, as an ARRAY (the SDK maps over it).
  std::string out = "{\"t\":\"d\",\"d\":{\"a\":\"c\",\"b\":{\"p\":";
  append_wire_path(out, path_);
  if (wire_query_) {
    out += ",\"q\":[";
    out += boost::json::serialize(*wire_query_);
    out += ']';
  }
  out += "}}}";
  if (auto socket = socket_.lock()) socket->send(std::make_shared<const std::string>(std::move(out)));
}

}  // namespace backside::proto::firebase
