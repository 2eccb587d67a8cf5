#include "auth/password_hasher.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace backside::auth {
namespace {

TEST(PasswordHasher, RefusesWorkPastItsBoundAndGivesNewPasswordsHalf) {
  PasswordHasher hasher(/*threads=*/1, /*max_pending=*/4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_started;
  std::atomic<int> finished{0};
  // The first job blocks its worker, so the others wait in the queue. (A malformed hash verifies at once.)
  ASSERT_TRUE(hasher.verify("not a hash", "pw", [&](bool matches) {
    EXPECT_FALSE(matches);
    first_started.set_value();
    released.wait();
    ++finished;
  }));
  first_started.get_future().wait();
  ASSERT_TRUE(hasher.hash("new password", [&](std::string hash) {
    EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
    ++finished;
  })) << "new passwords get half of 4";
  EXPECT_FALSE(hasher.hash("another", [&](std::string) { ADD_FAILURE() << "a refused hash ran"; }))
      << "half of the bound is taken";
  ASSERT_TRUE(hasher.verify("not a hash", "pw", [&](bool) { ++finished; }));
  ASSERT_TRUE(hasher.verify("not a hash", "pw", [&](bool) { ++finished; }));
  EXPECT_EQ(hasher.pending(), 4u);
  EXPECT_FALSE(hasher.verify("not a hash", "pw", [&](bool) { ADD_FAILURE() << "a refused verify ran"; }));
  release.set_value();
  for (int i = 0; i < 1000 && hasher.pending() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(hasher.pending(), 0u);
  EXPECT_EQ(finished.load(), 4);
  EXPECT_TRUE(hasher.verify("not a hash", "pw", [](bool) {})) << "room again once the work is done";
}

TEST(PasswordHasher, DestructionFinishesQueuedWorkAndJoins) {
  auto hasher = std::make_unique<PasswordHasher>(/*threads=*/1, /*max_pending=*/8);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> finished{0};
  ASSERT_TRUE(hasher->verify("not a hash", "pw", [&](bool) {
    released.wait();
    ++finished;
  }));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(hasher->verify("not a hash", "pw", [&](bool) { ++finished; }));
  // Destroyed while three jobs wait behind a blocked one: the destructor returns only once all four ran.
  std::thread destroyer([&] { hasher.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(finished.load(), 0);
  release.set_value();
  destroyer.join();
  EXPECT_EQ(finished.load(), 4);
}

}  // namespace
}  // namespace backside::auth
