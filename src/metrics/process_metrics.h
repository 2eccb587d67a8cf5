#pragma once
// The process metrics every Prometheus client library exports under the same names (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, ...), read from /proc at scrape time, so dashboards made for
// any exporter work unchanged. Linux only; where /proc cannot be read, the metric is left out.
#include <string_view>

#include "metrics/registry.h"

namespace backside::metrics {

void collect_process_metrics(Samples& samples);

// The fields of /proc/<pid>/stat the metrics use, parsed from its text (exposed for the unit test).
struct ProcessStat {
  double user_ticks = 0;
  double system_ticks = 0;
  double start_ticks = 0;  // since boot
  double virtual_bytes = 0;
  double resident_pages = 0;
};
bool parse_process_stat(std::string_view text, ProcessStat& stat);

}  // namespace backside::metrics
