#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace backside::metrics {
namespace {

TEST(MetricsTextFormat, WritesNumbersAsPrometheusReadsThem) {
  auto text = [](double value) {
    std::string out;
    append_value(out, value);
    return out;
  };
  EXPECT_EQ(text(0), "0");
  EXPECT_EQ(text(-3), "-3");
  EXPECT_EQ(text(1073741824), "1073741824");
  EXPECT_EQ(text(0.25), "0.25");
  EXPECT_EQ(text(0.0001), "0.0001");
  EXPECT_EQ(text(0.00025), "0.00025");
  EXPECT_EQ(text(0.00001), "1e-05");
  EXPECT_EQ(text(2.5), "2.5");
  EXPECT_EQ(text(-0.5), "-0.5");
  EXPECT_EQ(text(1e20), "100000000000000000000");
  EXPECT_EQ(text(1e300), "1e+300");
  EXPECT_EQ(text(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(text(std::nan("")), "NaN");
  std::string big;
  append_value(big, std::uint64_t{18446744073709551615u});
  EXPECT_EQ(big, "18446744073709551615");
}

TEST(MetricsTextFormat, ChecksNamesAsPrometheusDefinesThem) {
  EXPECT_TRUE(valid_metric_name("backside_writes_total"));
  EXPECT_TRUE(valid_metric_name("job:rate5m"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("1x"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_TRUE(valid_label_name("door"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("__name__"));
}

}  // namespace
}  // namespace backside::metrics
