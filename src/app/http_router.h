#pragma once
// Sends each HTTP request to its front door: CORS preflights, REST (*.json), and 404 for the rest.
#include "net/http.h"
#include "proto/rest/rest_handler.h"

namespace backside::app {

class HttpRouter : public net::HttpHandler {
 public:
  explicit HttpRouter(proto::rest::RestHandler& rest) : rest_(rest) {}
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) override;

 private:
  proto::rest::RestHandler& rest_;
};

}  // namespace backside::app
