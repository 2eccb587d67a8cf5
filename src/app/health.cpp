#include "app/health.h"

#include <algorithm>

namespace backside::app {

bool HealthReport::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const HealthCheck& check) { return check.passed; });
}

HealthReport readiness(bool shutting_down, const std::vector<StoreHealth>& stores) {
  HealthReport report;
  report.checks.push_back(shutting_down ? HealthCheck{"shutdown", false, "the server is shutting down"}
                                        : HealthCheck{"shutdown", true, {}});
  for (const StoreHealth& store : stores) {
    report.checks.push_back(store.failing ? HealthCheck{"store " + store.database, false,
                                                        "writes are refused: the store failed (see the server log)"}
                                          : HealthCheck{"store " + store.database, true, {}});
  }
  return report;
}

HealthReport liveness() {
  // Answering at all is the check: the request went through an I/O thread and the router.
  return HealthReport{{HealthCheck{"ping", true, {}}}};
}

std::string render_health(const HealthReport& report, std::string_view probe, bool verbose) {
  const bool passed = report.passed();
  if (passed && !verbose) return "ok";
  std::string body;
  for (const HealthCheck& check : report.checks) {
    body += check.passed ? "[+]" : "[-]";
    body += check.name;
    body += check.passed ? " ok" : " failed: " + check.failure;
    body += '\n';
  }
  body += probe;
  body += passed ? " check passed\n" : " check failed\n";
  return body;
}

}  // namespace backside::app
