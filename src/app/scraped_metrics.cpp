#include "app/scraped_metrics.h"

#include <array>
#include <string>

#include "app/version.h"
#include "metrics/process_metrics.h"
#include "metrics/server_metrics.h"

namespace backside::app {

namespace {

// MemoryBudget::Use, in enum order.
constexpr std::array<const char*, MemoryBudget::kUses> kMemoryUseNames = {
    "outbound_queue", "request_header", "request_body",   "incoming_message",
    "incoming_frame", "transaction",    "response",       "parsed_request"};

}  // namespace

metrics::Registry::Collection collect_server_state(const db::Registry& databases, const MemoryBudget& memory_budget,
                                                   const std::atomic<bool>& draining) {
  return metrics::default_registry().add_collector([&databases, &memory_budget, &draining](metrics::Samples& out) {
    out.gauge("backside_build_info", "The running version of Backside (always 1)",
              {{"version", std::string(version())}}, 1);
    out.gauge("backside_draining", "1 while the server shuts down (/readyz answers 503), else 0", {},
              draining.load() ? 1 : 0);

    out.gauge("backside_memory_budget_used_bytes",
              "Bytes of client-controlled buffers (request bodies, partial messages, outbound queues) held now",
              {}, static_cast<double>(memory_budget.used()));
    out.gauge("backside_memory_budget_limit_bytes", "The memory budget for client-controlled buffers "
              "(max_buffered_bytes)", {}, static_cast<double>(memory_budget.limit()));
    for (std::size_t use = 0; use < kMemoryUseNames.size(); ++use) {
      out.counter("backside_memory_budget_refusals_total",
                  "Buffers the memory budget refused (the request or client asking for them refused or dropped), "
                  "by what they were for",
                  {{"use", kMemoryUseNames[use]}},
                  static_cast<double>(memory_budget.refusals(static_cast<MemoryBudget::Use>(use))));
    }

    // One series per database: bounded by max_databases.
    const auto open = databases.open_databases();
    out.gauge("backside_databases_open", "Databases (namespaces) open", {}, static_cast<double>(open.size()));
    out.gauge("backside_databases_damaged", "Databases found damaged at start and not served (backside check)", {},
              static_cast<double>(databases.damaged().size()));
    for (const auto& [name, database] : open) {
      out.gauge("backside_database_listens", "Listens (subscriptions of every door) registered on a database",
                {{"database", name}}, static_cast<double>(database->listen_count()));
    }
    for (const auto& [name, database] : open) {
      out.gauge("backside_database_views",
                "Distinct (path, query) views the listens of a database share: each event is rendered once per view",
                {{"database", name}}, static_cast<double>(database->view_count()));
    }
    for (const auto& [name, database] : open) {
      out.gauge("backside_database_storage_failing",
                "1 while a database's store refuses commits (full disk, I/O error) and its writes are refused",
                {{"database", name}}, database->storage_failing() ? 1 : 0);
    }

    metrics::collect_process_metrics(out);
  });
}

}  // namespace backside::app
