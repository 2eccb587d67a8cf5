#include "app/ops_handler.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include "app/health.h"
#include "metrics/server_metrics.h"
#include "metrics/text_format.h"
#include "proto/rest/rest_handler.h"

namespace backside::app {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kLivez = "/livez";
constexpr std::string_view kReadyz = "/readyz";
constexpr std::string_view kMetrics = "/metrics";

net::HttpResponse text_response(const net::HttpRequest& request, http::status status, std::string_view content_type,
                                std::string body) {
  net::HttpResponse response(status, request.version());
  response.set(http::field::content_type, content_type);
  // Probes and scrapes must see the server as it is now, never a cache's copy.
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

net::HttpResponse error(const net::HttpRequest& request, unsigned status, const std::string& message) {
  auto response = proto::rest::error_response(status, message, request.version());
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  return response;
}

}  // namespace

OpsHandler::OpsHandler(const db::Registry& registry, const std::atomic<bool>& draining, OpsOptions options)
    : registry_(registry), draining_(draining), options_(std::move(options)) {}

bool OpsHandler::handles(std::string_view path) { return path == kLivez || path == kReadyz || path == kMetrics; }

void OpsHandler::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto response = error(request, 405, "Use GET on " + std::string(path));
    response.set(http::field::allow, "GET, HEAD");
    return exchange->reply(std::move(response));
  }
  if (path == kMetrics) return metrics(request, exchange);
  health(request, path, exchange);
}

void OpsHandler::health(const net::HttpRequest& request, std::string_view path,
                        const std::shared_ptr<net::HttpExchange>& exchange) {
  bool verbose = false;
  if (auto url = boost::urls::parse_origin_form(request.target())) {
    for (auto param : url->params()) {
      // ?verbose, as Kubernetes has it (any value but false or 0)
      if (param.key == "verbose") verbose = param.value != "false" && param.value != "0";
    }
  }
  HealthReport report;
  std::string_view probe;
  if (path == kLivez) {
    report = liveness();
    probe = "livez";
  } else {
    std::vector<StoreHealth> stores;
    for (const auto& [name, database] : registry_.open_databases()) {
      stores.push_back({name, database->storage_failing()});
    }
    report = readiness(draining_.load(), stores);
    probe = "readyz";
  }
  const http::status status = report.passed() ? http::status::ok : http::status::service_unavailable;
  exchange->reply(text_response(request, status, "text/plain; charset=utf-8", render_health(report, probe, verbose)));
}

void OpsHandler::metrics(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange) {
  if (!options_.metrics_public) {
    std::string credential;
    if (auto url = boost::urls::parse_origin_form(request.target())) {
      for (auto param : url->params()) {
        if (param.key == "auth") credential = param.value;
      }
    }
    if (auto header = request[http::field::authorization]; credential.empty() && !header.empty()) {
      constexpr std::string_view kBearer = "Bearer ";
      if (header.size() > kBearer.size() && boost::algorithm::istarts_with(header, kBearer)) {
        credential = std::string(header.substr(kBearer.size()));
      }
    }
    auto identity = options_.authenticator->authenticate(options_.default_namespace, credential);
    if (!identity || !identity->admin) {
      auto response = error(request, 401,
                            "Permission denied: /metrics needs the admin credential (Authorization: Bearer <admin "
                            "token>, or ?auth=<admin token>), unless the server runs with metrics_public");
      response.set(http::field::www_authenticate, "Bearer realm=\"backside metrics\"");
      return exchange->reply(std::move(response));
    }
  }
  exchange->reply(text_response(request, http::status::ok, metrics::kTextFormatContentType,
                                metrics::default_registry().render()));
}

}  // namespace backside::app
