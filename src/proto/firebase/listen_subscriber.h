#pragma once
// One Firebase listen (`q`) as a hub subscriber: renders view events as `d` (overwrite) and `m` (merge) pushes
// with the listen's tag for query listens, and queues them on its connection's socket.
// Subscribers of one view with the same tag (or both untagged) share the rendered bytes.
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proto/firebase/connection.h"
#include "session/client_session.h"
#include "session/listen.h"

namespace backside::proto::firebase {

class ListenSubscriber : public session::SessionSubscriber {
 public:
  // `key`: the listen's key in its session (path and query identifier).
  ListenSubscriber(std::weak_ptr<net::WebSocketConnection> socket, const std::shared_ptr<session::ClientSession>& session,
                   std::string key, tree::Path path, std::optional<std::int64_t> tag,
                   std::optional<boost::json::object> wire_query, std::string client_hash);

  const std::string& render_key() const override { return render_key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override;
  void deliver(const std::shared_ptr<const std::string>& bytes) override;
  void deliver_all(std::span<const std::shared_ptr<const std::string>> events) override;
  void revoked(const Error& why) override;

 private:
  // Where events go, or nullptr when they should not: unlistened, connection gone, or its credential ended (then
  // the session has the client told, once).
  std::shared_ptr<net::WebSocketConnection> open_socket();

  // Weak: a subscription the hub still holds must not keep a socket (and its I/O objects) alive after the
  // connection, e.g. past the server's I/O context at shutdown.
  std::weak_ptr<net::WebSocketConnection> socket_;
  std::weak_ptr<session::ClientSession> session_;
  std::shared_ptr<identity::CredentialExpiry> credential_;
  std::string key_;
  tree::Path path_;
  std::optional<std::int64_t> tag_;
  std::optional<boost::json::object> wire_query_;
  std::string client_hash_;
  std::string render_key_;
};

// A push message: {"t":"d","d":{"a":<action>,"b":{"p":<path>,"d":<data>[,"t":tag]}}} rendered from a node.
std::string render_overwrite(const tree::Path& path, const tree::Node& value, std::optional<std::int64_t> tag);

}  // namespace backside::proto::firebase
