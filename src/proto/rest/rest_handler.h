#pragma once
// The Firebase REST API (docs/rest.md): /<path>.json with GET/PUT/POST/PATCH/DELETE, query parameters, ETags,
// and Server-Sent Events streaming.
#include <boost/asio/io_context.hpp>
#include <string>

#include "auth/accepted_users.h"
#include "auth/authenticator.h"
#include "util/memory_budget.h"
#include "db/registry.h"
#include "net/http.h"

namespace backside::proto::rest {

struct RestOptions {
  const auth::Authenticator* authenticator = nullptr;  // required
  std::string default_namespace = "default";
  MemoryBudget* memory_budget = nullptr;  // charged by request JSON until it is applied (nullptr = none)
  boost::asio::io_context* io = nullptr;   // runs the streams' credential expiry timers
  // Which pools of users each database accepts (GET/PUT/DELETE /.settings/tenants.json); nullptr = not offered.
  auth::AcceptedUsers* accepted_users = nullptr;
};

struct Call;

class RestHandler {
 public:
  RestHandler(db::Registry& registry, RestOptions options);
  // Handles a request whose path ends in ".json".
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);
  // The I/O context for the streams' credential expiry timers (the server's, once it exists).
  void set_io_context(boost::asio::io_context& io) { options_.io = &io; }

 private:
  void handle_rules_settings(const net::HttpRequest& request, const Call& call, const std::string& ns,
                             const identity::Identity& auth);
  void handle_tenants_settings(const net::HttpRequest& request, const Call& call, const std::string& ns,
                               const identity::Identity& auth);

  db::Registry& registry_;
  RestOptions options_;
};

// A JSON error reply in Firebase's form: {"error": "..."}.
net::HttpResponse error_response(unsigned status, const std::string& message, unsigned version = 11);

}  // namespace backside::proto::rest
