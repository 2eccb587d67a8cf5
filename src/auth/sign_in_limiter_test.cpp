#include "auth/sign_in_limiter.h"

#include "gtest/gtest.h"

namespace backside::auth {
namespace {

TEST(SignInLimiter, LocksAKeyAfterTooManyFailuresWithinTheWindow) {
  SignInLimiter limiter({.max_failures = 3, .window_seconds = 60});
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allowed("account:a@x.io", 1000 + i));
    limiter.failed("account:a@x.io", 1000 + i);
  }
  EXPECT_FALSE(limiter.allowed("account:a@x.io", 1010));
  EXPECT_TRUE(limiter.allowed("account:b@x.io", 1010)) << "other keys are not affected";
  EXPECT_FALSE(limiter.allowed("account:a@x.io", 1059));
  EXPECT_TRUE(limiter.allowed("account:a@x.io", 1060)) << "the window has passed";
  limiter.failed("account:a@x.io", 1060);
  EXPECT_TRUE(limiter.allowed("account:a@x.io", 1061)) << "a new window counts from zero";
}

TEST(SignInLimiter, SuccessClearsTheCount) {
  SignInLimiter limiter({.max_failures = 2, .window_seconds = 60});
  limiter.failed("k", 1);
  limiter.succeeded("k");
  limiter.failed("k", 2);
  EXPECT_TRUE(limiter.allowed("k", 3));
  limiter.failed("k", 3);
  EXPECT_FALSE(limiter.allowed("k", 4));
}

TEST(SignInLimiter, ZeroMaxFailuresTurnsItOff) {
  SignInLimiter limiter({.max_failures = 0, .window_seconds = 60});
  for (int i = 0; i < 100; ++i) limiter.failed("k", i);
  EXPECT_TRUE(limiter.allowed("k", 100));
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(SignInLimiter, TheTableStaysBoundedAndKeepsRecentLockouts) {
  SignInLimiter limiter({.max_failures = 1, .window_seconds = 1000, .max_keys = 100});
  for (int i = 0; i < 10000; ++i) limiter.failed("address:" + std::to_string(i), i / 10);
  EXPECT_LE(limiter.tracked_keys(), 100u);
  EXPECT_FALSE(limiter.allowed("address:9999", 1000)) << "the newest lockout survives eviction";
  // Expired entries are the first to go.
  SignInLimiter expiring({.max_failures = 1, .window_seconds = 10, .max_keys = 10});
  for (int i = 0; i < 10; ++i) expiring.failed("old" + std::to_string(i), 0);
  expiring.failed("new", 100);
  EXPECT_EQ(expiring.tracked_keys(), 1u);
  EXPECT_FALSE(expiring.allowed("new", 101));
}

}  // namespace
}  // namespace backside::auth
