#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace backside::app {
namespace {

TEST(Config, OperationsOptionsHaveTheirDefaults) {
  Config config;
  EXPECT_EQ(config.log_format, "text");
  EXPECT_FALSE(config.metrics_public);
  EXPECT_EQ(config.shutdown_delay_seconds, 0u);
  EXPECT_EQ(config.drain_timeout_seconds, 10u);
}

TEST(Config, LogFormatIsTextOrJson) {
  Config config;
  ASSERT_TRUE(set_option(config, "log_format", "json"));
  EXPECT_EQ(config.log_format, "json");
  auto refused = set_option(config, "log_format", "yaml");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "Invalid value for log_format: \"yaml\" (use text or json)");
  EXPECT_EQ(config.log_format, "json");
}

TEST(Config, MetricsPublicIsASwitch) {
  Config config;
  ASSERT_TRUE(set_option(config, "metrics_public", "true"));
  EXPECT_TRUE(config.metrics_public);
  ASSERT_TRUE(set_option(config, "metrics_public", "0"));
  EXPECT_FALSE(config.metrics_public);
  EXPECT_FALSE(set_option(config, "metrics_public", "yes"));
  bool listed_as_switch = false;
  for (const auto& option : config_options()) {
    if (option.name == "metrics_public") listed_as_switch = option.flag;
  }
  EXPECT_TRUE(listed_as_switch);  // --metrics-public takes no value
}

TEST(Config, ShutdownTimesAreBoundedSeconds) {
  Config config;
  ASSERT_TRUE(set_option(config, "shutdown_delay_seconds", "5"));
  ASSERT_TRUE(set_option(config, "drain_timeout_seconds", "0"));
  EXPECT_EQ(config.shutdown_delay_seconds, 5u);
  EXPECT_EQ(config.drain_timeout_seconds, 0u);
  EXPECT_FALSE(set_option(config, "drain_timeout_seconds", "3601"));
  EXPECT_FALSE(set_option(config, "shutdown_delay_seconds", "-1"));
  EXPECT_FALSE(set_option(config, "drain_timeout_seconds", "ten"));
  EXPECT_EQ(config.drain_timeout_seconds, 0u);
}

TEST(Config, EveryOperationsOptionHasItsFlagAndVariable) {
  EXPECT_EQ(flag_name("drain_timeout_seconds"), "drain-timeout-seconds");
  EXPECT_EQ(env_name("log_format"), "BACKSIDE_LOG_FORMAT");
  ::setenv("BACKSIDE_DRAIN_TIMEOUT_SECONDS", "7", 1);
  ::setenv("BACKSIDE_METRICS_PUBLIC", "true", 1);
  Config config;
  Status applied = apply_environment(config);
  ::unsetenv("BACKSIDE_DRAIN_TIMEOUT_SECONDS");
  ::unsetenv("BACKSIDE_METRICS_PUBLIC");
  ASSERT_TRUE(applied);
  EXPECT_EQ(config.drain_timeout_seconds, 7u);
  EXPECT_TRUE(config.metrics_public);
}

}  // namespace
}  // namespace backside::app
