#include "auth/attempt_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace backside::auth {
namespace {

// One attempt whose outcome is known at once: a wrong password.
bool wrong_guess(AttemptLimiter& limiter, const std::string& key, std::int64_t now) {
  if (!limiter.reserve(key, now)) return false;
  limiter.count(key, now);
  return true;
}

TEST(AttemptLimiter, LocksAKeyAfterTooManyAttemptsWithinTheWindow) {
  AttemptLimiter limiter({.max_attempts = 3, .window_seconds = 60});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(wrong_guess(limiter, "account:a@x.io", 1000 + i));
  EXPECT_FALSE(limiter.reserve("account:a@x.io", 1010));
  EXPECT_TRUE(limiter.reserve("account:b@x.io", 1010)) << "other keys are not affected";
  EXPECT_FALSE(limiter.reserve("account:a@x.io", 1059));
  EXPECT_TRUE(wrong_guess(limiter, "account:a@x.io", 1060)) << "the window has passed";
  EXPECT_TRUE(limiter.reserve("account:a@x.io", 1061)) << "a new window counts from zero";
}

TEST(AttemptLimiter, ReservationsInFlightCountAgainstTheLimit) {
  AttemptLimiter limiter({.max_attempts = 10, .window_seconds = 60});
  // 40 guesses arrive before any hash is done: only 10 get a reservation.
  int reserved = 0;
  for (int i = 0; i < 40; ++i) reserved += limiter.reserve("k", 100) ? 1 : 0;
  EXPECT_EQ(reserved, 10);
  EXPECT_EQ(limiter.in_flight("k"), 10u);
  for (int i = 0; i < 10; ++i) limiter.count("k", 101);
  EXPECT_EQ(limiter.in_flight("k"), 0u);
  EXPECT_FALSE(limiter.reserve("k", 102)) << "the right password after the limit is refused too";
}

TEST(AttemptLimiter, ReleasedReservationsFreeTheirPlaceAndLeaveNothingBehind) {
  AttemptLimiter limiter({.max_attempts = 2, .window_seconds = 60});
  ASSERT_TRUE(limiter.reserve("k", 1));
  ASSERT_TRUE(limiter.reserve("k", 1));
  EXPECT_FALSE(limiter.reserve("k", 1));
  limiter.release("k");
  EXPECT_TRUE(limiter.reserve("k", 1));
  limiter.release("k");
  limiter.release("k");
  EXPECT_EQ(limiter.tracked_keys(), 0u);
  limiter.release("unknown");  // harmless
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(AttemptLimiter, SuccessClearsTheCountButNotOtherReservations) {
  AttemptLimiter limiter({.max_attempts = 3, .window_seconds = 60});
  EXPECT_TRUE(wrong_guess(limiter, "k", 1));
  ASSERT_TRUE(limiter.reserve("k", 2));  // still hashing
  ASSERT_TRUE(limiter.reserve("k", 2));  // the right password
  limiter.succeeded("k");
  EXPECT_EQ(limiter.in_flight("k"), 1u);
  ASSERT_TRUE(limiter.reserve("k", 3));
  ASSERT_TRUE(limiter.reserve("k", 3));
  EXPECT_FALSE(limiter.reserve("k", 3)) << "the reservation still in flight holds its place";
  limiter.count("k", 4);
}

TEST(AttemptLimiter, AWindowEndingWhileInFlightKeepsTheReservations) {
  AttemptLimiter limiter({.max_attempts = 2, .window_seconds = 10});
  ASSERT_TRUE(limiter.reserve("k", 0));
  ASSERT_TRUE(limiter.reserve("k", 0));
  EXPECT_FALSE(limiter.reserve("k", 20)) << "a new window, but both attempts are still in flight";
  limiter.count("k", 21);
  limiter.count("k", 21);
  EXPECT_FALSE(limiter.reserve("k", 22));
  EXPECT_TRUE(limiter.reserve("k", 31));
}

TEST(AttemptLimiter, ParallelReservationsNeverExceedTheLimit) {
  AttemptLimiter limiter({.max_attempts = 10, .window_seconds = 60});
  std::atomic<int> reserved{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.reserve("k", 5)) {
          ++reserved;
          limiter.count("k", 5);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(reserved.load(), 10);
}

TEST(AttemptLimiter, ZeroMaxAttemptsTurnsItOff) {
  AttemptLimiter limiter({.max_attempts = 0, .window_seconds = 60});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(wrong_guess(limiter, "k", i));
  EXPECT_TRUE(limiter.reserve("k", 100));
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(AttemptLimiter, TheTableStaysBoundedAndKeepsRecentLockouts) {
  AttemptLimiter limiter({.max_attempts = 1, .window_seconds = 1000, .max_keys = 100});
  for (int i = 0; i < 10000; ++i) wrong_guess(limiter, "address:" + std::to_string(i), i / 10);
  EXPECT_LE(limiter.tracked_keys(), 100u);
  EXPECT_FALSE(limiter.reserve("address:9999", 1000)) << "the newest lockout survives eviction";
  // Expired entries are the first to go.
  AttemptLimiter expiring({.max_attempts = 1, .window_seconds = 10, .max_keys = 10});
  for (int i = 0; i < 10; ++i) wrong_guess(expiring, "old" + std::to_string(i), 0);
  wrong_guess(expiring, "new", 100);
  EXPECT_EQ(expiring.tracked_keys(), 1u);
  EXPECT_FALSE(expiring.reserve("new", 101));
}

TEST(AttemptLimiter, EntriesInFlightAreNeverEvicted) {
  AttemptLimiter limiter({.max_attempts = 2, .window_seconds = 1000, .max_keys = 10});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.reserve("busy" + std::to_string(i), 0));
  EXPECT_FALSE(limiter.reserve("new", 1)) << "a full table of reservations refuses new keys";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.in_flight("busy" + std::to_string(i)), 1u);
  limiter.release("busy0");
  EXPECT_TRUE(limiter.reserve("new", 1));
}

}  // namespace
}  // namespace backside::auth
