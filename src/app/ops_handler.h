#pragma once
// The operator's endpoints on the HTTP port (docs/operations.md): the health probes GET /livez and GET /readyz
// (app/health.h), unauthenticated, and GET /metrics in Prometheus's text format, which needs the admin credential
// (Authorization: Bearer <token>, or ?auth=<token>) unless the metrics_public option is on. All of them are cheap
// (no database is asked: readiness reads flags the databases publish) and never cached.
#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"

namespace backside::app {

struct OpsOptions {
  const auth::Authenticator* authenticator = nullptr;  // required: who may scrape /metrics
  std::string default_namespace = "default";           // what a credential is checked against
  bool metrics_public = false;
};

class OpsHandler {
 public:
  // `registry` and `draining` outlive the handler.
  OpsHandler(const db::Registry& registry, const std::atomic<bool>& draining, OpsOptions options);

  static bool handles(std::string_view path);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  void health(const net::HttpRequest& request, std::string_view path,
              const std::shared_ptr<net::HttpExchange>& exchange);
  void metrics(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange);

  const db::Registry& registry_;
  const std::atomic<bool>& draining_;
  OpsOptions options_;
};

}  // namespace backside::app
