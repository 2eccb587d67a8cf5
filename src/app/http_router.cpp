#include "app/http_router.h"

#include <boost/beast/http/field.hpp>
#include <cctype>
#include <cstring>

namespace backside::app {

namespace http = boost::beast::http;

namespace {

// A list of header names (RFC 9110 tokens, commas and spaces), the only thing echoed from the request's
// Access-Control-Request-Headers.
bool is_header_name_list(std::string_view text) {
  if (text.size() > 1024) return false;
  for (unsigned char c : text) {
    const bool token = std::isalnum(c) || (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    if (!token && c != ',' && c != ' ' && c != '\t') return false;
  }
  return true;
}

}  // namespace

void HttpRouter::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  if (request.method() == http::verb::options) {
    // CORS preflight: any origin may call the REST API (authorization is by token, not by cookie).
    net::HttpResponse response(http::status::ok, request.version());
    response.set(http::field::access_control_allow_origin, "*");
    response.set(http::field::access_control_allow_methods, "GET, PUT, POST, PATCH, DELETE, OPTIONS");
    std::string requested(request[http::field::access_control_request_headers]);
    response.set(http::field::access_control_allow_headers,
                 requested.empty() || !is_header_name_list(requested)
                     ? "Content-Type, Authorization, X-Firebase-ETag, If-Match, X-HTTP-Method-Override"
                     : requested);
    response.set(http::field::access_control_max_age, "3600");
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return exchange->reply(std::move(response));
  }
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  // The console first: it claims exact paths only (/console/..., three under /.console/api/), so it shadows nothing.
  if (console::ConsoleHandler::handles(path)) return console_.handle(std::move(request), std::move(exchange));
  if (proto::auth_api::IdentityHandler::handles(path)) return identity_.handle(std::move(request), std::move(exchange));
  if (OpsHandler::handles(path)) return ops_.handle(std::move(request), std::move(exchange));
  if (console::RulesPlayground::handles(path)) {
    return rules_playground_.handle(std::move(request), std::move(exchange));
  }
  if (path.size() >= 5 && path.substr(path.size() - 5) == ".json") {
    return rest_.handle(std::move(request), std::move(exchange));
  }
  if (path == "/.lp") return firebase_.handle_long_poll(std::move(request), std::move(exchange));
  if (path == "/.ws") {
    auto response = proto::rest::error_response(400, "/.ws is a WebSocket endpoint: send an upgrade request",
                                                 request.version());
    response.keep_alive(request.keep_alive());
    return exchange->reply(std::move(response));
  }
  auto response = proto::rest::error_response(404, "Not found: " + std::string(path), request.version());
  response.keep_alive(request.keep_alive());
  exchange->reply(std::move(response));
}

net::WebSocketAccept HttpRouter::accept_websocket(const net::HttpRequest& request,
                                                  std::shared_ptr<net::WebSocketConnection> connection) {
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/.ws") return firebase_.accept_websocket(request, std::move(connection));
  if (path == "/stomp") return stomp_.accept_websocket(request, std::move(connection));
  return {};
}

}  // namespace backside::app
