#pragma once
// The Firebase Realtime Database front door (reference §1-§3): the WebSocket endpoint /.ws that the official
// SDKs connect to (`connectDatabaseEmulator`). Each accepted WebSocket becomes one Connection on the database
// named by `ns`.
#include <string>

#include "db/registry.h"
#include "net/http.h"
#include "proto/firebase/connection.h"

namespace backside::proto::firebase {

class FirebaseHandler {
 public:
  FirebaseHandler(db::Registry& registry, FirebaseOptions options);

  // An upgrade request to /.ws?v=5&ns=NS[&s=..][&ls=..][&p=..][&ac=..].
  net::WebSocketAccept accept_websocket(const net::HttpRequest& request,
                                        std::shared_ptr<net::WebSocketConnection> connection);

 private:
  db::Registry& registry_;
  FirebaseOptions options_;
};

}  // namespace backside::proto::firebase
