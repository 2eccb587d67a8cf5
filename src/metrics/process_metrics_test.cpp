#include "metrics/process_metrics.h"

#include <gtest/gtest.h>

namespace backside::metrics {
namespace {

TEST(ProcessMetrics, ParsesProcStatPastACommandNameWithSpacesAndParentheses) {
  // proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const std::string text =
      "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 123456 987654321 2048 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  ProcessStat stat;
  ASSERT_TRUE(parse_process_stat(text, stat));
  EXPECT_EQ(stat.user_ticks, 250);
  EXPECT_EQ(stat.system_ticks, 50);
  EXPECT_EQ(stat.start_ticks, 123456);
  EXPECT_EQ(stat.virtual_bytes, 987654321);
  EXPECT_EQ(stat.resident_pages, 2048);
}

TEST(ProcessMetrics, RefusesATruncatedStat) {
  ProcessStat stat;
  EXPECT_FALSE(parse_process_stat("4242 (x) S 1 2 3", stat));
  EXPECT_FALSE(parse_process_stat("", stat));
}

TEST(ProcessMetrics, ReportsThisProcess) {
  Registry registry;
  auto collection = registry.add_collector(collect_process_metrics);
  const std::string text = registry.render();
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos) << text;
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nprocess_start_time_seconds "), std::string::npos) << text;
}

}  // namespace
}  // namespace backside::metrics
