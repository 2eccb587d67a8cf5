#pragma once
// The admin console's rules playground (docs/console.md), under /.console/api/rules/ (the console's other API
// paths are console/console_handler.h's). Admin only: the admin credential as REST takes it
// (Authorization: Bearer <admin token>, or ?auth=<admin token>); anyone else gets 401 (no or an invalid credential)
// or 403 (a valid one that is not the admin), as {"error": "..."}.
//
//   POST /.console/api/rules/simulate?ns=<database>   the rules playground (docs/security.md)
//     {"operation": "read" | "write", "path": "/a/b", "auth": null | {"uid": "u1", "token": {claims}},
//      "data": <write: the value to set, null deletes>, "rules": <optional rules source; default: the deployed>}
//     -> 200 {"allowed": bool, "message": "...", "trace": [{"rule_path", "path", "kind", "expression", "result",
//             "error"?}...]}; a bad body, path or rules -> 400 {"error": "..."}.
//   A read is decided by rules::can_read over the committed tree, a write by the database's own write path as a
//   dry run (db::WriteRequest::simulation): the same evaluator, cascade and .validate walk as real requests, and
//   nothing is written.
#include <memory>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"
#include "util/memory_budget.h"

namespace backside::console {

struct RulesPlaygroundOptions {
  const auth::Authenticator* authenticator = nullptr;  // required
  std::string default_namespace = "default";
  MemoryBudget* memory_budget = nullptr;  // charged by the parsed request body (nullptr = none)
};

class RulesPlayground {
 public:
  RulesPlayground(db::Registry& registry, RulesPlaygroundOptions options);

  static bool handles(std::string_view path);  // /.console/api/...
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);

 private:
  void simulate(const net::HttpRequest& request, const std::string& ns,
                const std::shared_ptr<net::HttpExchange>& exchange);

  db::Registry& registry_;
  RulesPlaygroundOptions options_;
};

}  // namespace backside::console
