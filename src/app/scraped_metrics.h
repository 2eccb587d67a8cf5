#pragma once
// The metrics read from the server's state at each scrape, rather than counted as things happen: what the server
// already keeps (the memory budget, the open databases and their listens, whether it is draining) and the process's
// resources. Registered on the process-wide registry (metrics/server_metrics.h) for as long as the returned
// collection lives: the app keeps it, and drops it before what it reads.
#include <atomic>

#include "db/registry.h"
#include "metrics/registry.h"
#include "util/memory_budget.h"

namespace backside::app {

[[nodiscard]] metrics::Registry::Collection collect_server_state(const db::Registry& databases,
                                                                 const MemoryBudget& memory_budget,
                                                                 const std::atomic<bool>& draining);

}  // namespace backside::app
