#pragma once
// Sends each HTTP request to its front door: CORS preflights, REST (*.json), the Firebase long-poll transport
// (/.lp), the Firebase Auth endpoints (identitytoolkit, securetoken, JWKS), the operator's /livez, /readyz and
// /metrics, the admin console (/console/, /.console/api/...), and 404 for the rest; and each WebSocket upgrade: /.ws to the Firebase front door, /stomp to STOMP.
#include "console/rules_playground.h"
#include "app/ops_handler.h"
#include "console/console_handler.h"
#include "net/http.h"
#include "proto/firebase/firebase_handler.h"
#include "proto/auth_api/identity_handler.h"
#include "proto/rest/rest_handler.h"
#include "proto/stomp/stomp_handler.h"

namespace backside::app {

class HttpRouter : public net::HttpHandler {
 public:
  HttpRouter(proto::rest::RestHandler& rest, proto::firebase::FirebaseHandler& firebase,
             proto::stomp::StompHandler& stomp, proto::auth_api::IdentityHandler& identity, OpsHandler& ops,
             console::ConsoleHandler& console, console::RulesPlayground& rules_playground)
      : rest_(rest),
        firebase_(firebase),
        stomp_(stomp),
        identity_(identity),
        ops_(ops),
        console_(console),
        rules_playground_(rules_playground) {}
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) override;
  net::WebSocketAccept accept_websocket(const net::HttpRequest& request,
                                        std::shared_ptr<net::WebSocketConnection> connection) override;

 private:
  proto::rest::RestHandler& rest_;
  proto::firebase::FirebaseHandler& firebase_;
  proto::stomp::StompHandler& stomp_;  // WebSocket /stomp
  proto::auth_api::IdentityHandler& identity_;  // Firebase Auth endpoints
  OpsHandler& ops_;                             // health probes and metrics
  console::ConsoleHandler& console_;            // the admin console's page and its data API
  console::RulesPlayground& rules_playground_;  // the admin console's rules playground
};

}  // namespace backside::app
