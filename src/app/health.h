#pragma once
// The health probes an orchestrator asks (docs/operations.md#health), in Kubernetes's conventions:
//   GET /livez   the process serves requests: 200 "ok" (a process that cannot answer is not alive);
//   GET /readyz  the server should be sent clients: 200 "ok" while every database's store takes commits and the
//                server is not shutting down, else 503.
// With ?verbose each check is listed ("[+]store default ok", "[-]shutdown failed: ..."), then "<probe> check passed"
// or "... failed"; a failing probe always lists its checks. Failures name the database but not the storage error
// itself: the probes are unauthenticated, the log has the details.
#include <string>
#include <string_view>
#include <vector>

namespace backside::app {

struct HealthCheck {
  std::string name;     // "ping", "shutdown", "store <database>"
  bool passed = true;
  std::string failure;  // why not, when it did not pass
};

struct HealthReport {
  std::vector<HealthCheck> checks;
  bool passed() const;
};

// What readiness looks at: the server's state and each open database's store.
struct StoreHealth {
  std::string database;
  bool failing = false;  // the store refuses commits (writes are refused until it recovers)
};
HealthReport readiness(bool shutting_down, const std::vector<StoreHealth>& stores);
HealthReport liveness();

// The body of a probe's answer: "ok" when it passed and `verbose` is off, else one line per check and a verdict.
std::string render_health(const HealthReport& report, std::string_view probe, bool verbose);

}  // namespace backside::app
