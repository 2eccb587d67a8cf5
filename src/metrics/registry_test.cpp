#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/server_metrics.h"

namespace backside::metrics {
namespace {

TEST(MetricsRegistry, RendersFamiliesInTextFormatWithHelpAndTypeOnce) {
  Registry registry;
  Counter& rest_ok = registry.counter("app_writes_total", "Writes answered", {{"door", "rest"}, {"result", "ok"}});
  Counter& stomp_ok = registry.counter("app_writes_total", "Writes answered", {{"door", "stomp"}, {"result", "ok"}});
  Gauge& open = registry.gauge("app_open_connections", "Open now");
  rest_ok.add(3);
  stomp_ok.add();
  open.add(5);
  open.sub(2);
  EXPECT_EQ(registry.render(),
            "# HELP app_writes_total Writes answered\n"
            "# TYPE app_writes_total counter\n"
            "app_writes_total{door=\"rest\",result=\"ok\"} 3\n"
            "app_writes_total{door=\"stomp\",result=\"ok\"} 1\n"
            "# HELP app_open_connections Open now\n"
            "# TYPE app_open_connections gauge\n"
            "app_open_connections 3\n");
}

TEST(MetricsRegistry, TheSameNameAndLabelsGiveTheSameSeries) {
  Registry registry;
  Counter& first = registry.counter("x_total", "help", {{"a", "1"}});
  Counter& again = registry.counter("x_total", "help", {{"a", "1"}});
  Counter& other = registry.counter("x_total", "help", {{"a", "2"}});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &other);
}

TEST(MetricsRegistry, RefusesWhatPrometheusWouldNotParse) {
  Registry registry;
  EXPECT_THROW(registry.counter("no_suffix", "help"), std::logic_error);  // a counter ends in _total
  EXPECT_THROW(registry.gauge("9starts_with_a_digit", "help"), std::logic_error);
  EXPECT_THROW(registry.gauge("has-dash", "help"), std::logic_error);
  EXPECT_THROW(registry.gauge("bad_label", "help", {{"le", "1"}}), std::logic_error);  // histograms' own
  EXPECT_THROW(registry.gauge("bad_label", "help", {{"__reserved", "1"}}), std::logic_error);
  registry.gauge("taken", "help");
  EXPECT_THROW(registry.histogram("taken", "help", {1}), std::logic_error);  // one name, one type
  EXPECT_THROW(registry.histogram("h", "help", {2, 1}), std::logic_error);   // ascending bounds
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.gauge("g", "a \\ and a\nnew line", {{"path", "a\"b\\c\nd"}}).set(1);
  EXPECT_EQ(registry.render(),
            "# HELP g a \\\\ and a\\nnew line\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndInclusiveOfTheirBound) {
  Registry registry;
  Histogram& histogram = registry.histogram("latency_seconds", "Latency", {0.25, 0.5, 1}, {{"db", "a"}});
  histogram.observe(0.25);  // on a bound: in that bucket (le = less than or equal)
  histogram.observe(0.375);
  histogram.observe(0.375);
  histogram.observe(2);  // above every bound: only +Inf
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{db=\"a\",le=\"0.25\"} 1\n"
            "latency_seconds_bucket{db=\"a\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{db=\"a\",le=\"1\"} 3\n"
            "latency_seconds_bucket{db=\"a\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{db=\"a\"} 3\n"
            "latency_seconds_count{db=\"a\"} 4\n");
}

TEST(MetricsRegistry, CollectorsReportAtEachScrapeUntilTheirCollectionEnds) {
  Registry registry;
  registry.gauge("databases_open", "Databases").set(2);
  int scrapes = 0;
  {
    Registry::Collection collection = registry.add_collector([&](Samples& samples) {
      ++scrapes;
      samples.gauge("budget_used_bytes", "Used", {}, 1024);
      samples.gauge("databases_open", "Databases", {{"from", "collector"}}, 7);  // joins the registered family
      samples.counter("databases_open", "Databases", {}, 1);  // another type under a known name: left out
      samples.gauge("bad name", "Invalid", {}, 1);             // not a metric name: left out
    });
    EXPECT_EQ(registry.render(),
              "# HELP databases_open Databases\n"
              "# TYPE databases_open gauge\n"
              "databases_open 2\n"
              "databases_open{from=\"collector\"} 7\n"
              "# HELP budget_used_bytes Used\n"
              "# TYPE budget_used_bytes gauge\n"
              "budget_used_bytes 1024\n");
    EXPECT_EQ(scrapes, 1);
  }
  EXPECT_EQ(registry.render(),
            "# HELP databases_open Databases\n"
            "# TYPE databases_open gauge\n"
            "databases_open 2\n");
  EXPECT_EQ(scrapes, 1);
}

TEST(MetricsRegistry, CountsFromManyThreadsWithoutLosingAny) {
  Registry registry;
  Counter& counter = registry.counter("hits_total", "Hits");
  Histogram& histogram = registry.histogram("size", "Sizes", {10});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.add();
        histogram.observe(i % 20);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000u);
  EXPECT_EQ(histogram.bucket(0) + histogram.bucket(1), 40000u);
  EXPECT_EQ(histogram.bucket(0), 4u * 5500u);  // 0..10 of every 20
}

TEST(GaugeIncrement, GivesItsUnitBackExactlyOnce) {
  Gauge gauge;
  {
    GaugeIncrement first(gauge);
    GaugeIncrement second(gauge);
    EXPECT_EQ(gauge.value(), 2);
    GaugeIncrement moved = std::move(first);
    EXPECT_EQ(gauge.value(), 2);
    second.release();
    second.release();
    EXPECT_EQ(gauge.value(), 1);
  }
  EXPECT_EQ(gauge.value(), 0);
}

TEST(ServerMetrics, EverySeriesExistsFromTheStart) {
  Registry registry;
  ServerMetrics metrics(registry);
  const std::string text = registry.render();
  EXPECT_NE(text.find("backside_writes_total{door=\"stomp\",result=\"denied\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("backside_open_connections{kind=\"firebase_long_poll\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("backside_commit_duration_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("backside_http_responses_total{code=\"5xx\"} 0\n"), std::string::npos);
  metrics.writes(Door::rest, WriteResult::conflict).add(2);
  metrics.http_responses(404).add();
  const std::string after = registry.render();
  EXPECT_NE(after.find("backside_writes_total{door=\"rest\",result=\"conflict\"} 2\n"), std::string::npos);
  EXPECT_NE(after.find("backside_http_responses_total{code=\"4xx\"} 1\n"), std::string::npos);
}

TEST(ServerMetrics, WriteResultsFollowTheErrorCodes) {
  EXPECT_EQ(write_result_of(std::nullopt), WriteResult::ok);
  EXPECT_EQ(write_result_of(Error{ErrorCode::permission_denied, ""}), WriteResult::denied);
  EXPECT_EQ(write_result_of(Error{ErrorCode::invalid_argument, ""}), WriteResult::invalid);
  EXPECT_EQ(write_result_of(Error{ErrorCode::too_large, ""}), WriteResult::too_large);
  EXPECT_EQ(write_result_of(Error{ErrorCode::hash_mismatch, ""}), WriteResult::conflict);
  EXPECT_EQ(write_result_of(Error{ErrorCode::unavailable, ""}), WriteResult::unavailable);
  EXPECT_EQ(write_result_of(Error{ErrorCode::internal, ""}), WriteResult::error);
}

}  // namespace
}  // namespace backside::metrics
