#include "metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace backside::metrics {

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The boot time in seconds since the epoch (the `btime` line of /proc/stat), or 0.
double boot_time_seconds() {
  const std::string stat = read_file("/proc/stat");
  const std::size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) return 0;
  double seconds = 0;
  const char* begin = stat.data() + at + 7;
  std::from_chars(begin, stat.data() + stat.size(), seconds);
  return seconds;
}

}  // namespace

bool parse_process_stat(std::string_view text, ProcessStat& stat) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted after the last ')'.
  const std::size_t comm_end = text.rfind(')');
  if (comm_end == std::string_view::npos) return false;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::size_t at = comm_end + 1;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    const std::size_t end = std::min(text.find(' ', at), text.size());
    if (end > at) fields.push_back(text.substr(at, end - at));
    at = end;
  }
  auto field = [&](std::size_t number, double& out) {  // numbered as in proc(5), from 1
    if (number < 3 || number - 3 >= fields.size()) return false;
    std::string_view value = fields[number - 3];
    while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    return std::from_chars(value.data(), value.data() + value.size(), out).ec == std::errc();
  };
  return field(14, stat.user_ticks) && field(15, stat.system_ticks) && field(22, stat.start_ticks) &&
         field(23, stat.virtual_bytes) && field(24, stat.resident_pages);
}

void collect_process_metrics(Samples& samples) {
  ProcessStat stat;
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const long page_bytes = ::sysconf(_SC_PAGESIZE);
  if (parse_process_stat(read_file("/proc/self/stat"), stat) && ticks_per_second > 0 && page_bytes > 0) {
    const double ticks = static_cast<double>(ticks_per_second);
    samples.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
                    (stat.user_ticks + stat.system_ticks) / ticks);
    if (const double boot = boot_time_seconds(); boot > 0) {
      samples.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", {},
                    boot + stat.start_ticks / ticks);
    }
    samples.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, stat.virtual_bytes);
    samples.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                  stat.resident_pages * static_cast<double>(page_bytes));
  }
  std::error_code ec;
  std::size_t open = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++open;
  if (!ec) samples.gauge("process_open_fds", "Number of open file descriptors.", {}, static_cast<double>(open));
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    samples.gauge("process_max_fds", "Maximum number of open file descriptors.", {},
                  static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace backside::metrics
