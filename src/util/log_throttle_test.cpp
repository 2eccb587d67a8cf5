#include "util/log_throttle.h"

#include <gtest/gtest.h>

namespace backside {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottle, LetsOneThroughPerIntervalAndCountsTheRest) {
  LogThrottle throttle(10s);
  const auto t0 = LogThrottle::Clock::time_point{} + 1h;
  std::size_t suppressed = 99;
  ASSERT_TRUE(throttle.allow(suppressed, t0));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(throttle.allow(suppressed, t0 + 1s * i));
  EXPECT_FALSE(throttle.allow(suppressed, t0 + 9s));
  ASSERT_TRUE(throttle.allow(suppressed, t0 + 10s));
  EXPECT_EQ(suppressed, 6u);  // held back since the last line
  ASSERT_TRUE(throttle.allow(suppressed, t0 + 25s));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace backside
