#include "util/memory_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace backside {
namespace {

using Use = MemoryBudget::Use;

TEST(MemoryBudget, ChargesUpToTheLimitAndRefusesBeyondIt) {
  MemoryBudget budget(100);
  auto first = MemoryCharge::take(&budget, Use::request_body, 60);
  ASSERT_TRUE(first);
  EXPECT_EQ(budget.used(), 60u);
  EXPECT_FALSE(MemoryCharge::take(&budget, Use::request_body, 41));  // all or nothing
  EXPECT_EQ(budget.used(), 60u);
  EXPECT_EQ(budget.refusals(Use::request_body), 1u);
  EXPECT_EQ(budget.refusals(Use::outbound_queue), 0u);
  auto second = MemoryCharge::take(&budget, Use::request_body, 40);
  ASSERT_TRUE(second);
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(MemoryCharge::take(&budget, Use::request_body, 1));
}

TEST(MemoryBudget, AChargeGivesItsBytesBackWhenDestroyed) {
  MemoryBudget budget(100);
  {
    auto charge = MemoryCharge::take(&budget, Use::outbound_queue, 70);
    ASSERT_TRUE(charge);
    EXPECT_EQ(budget.used(), 70u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, AChargeGrowsAndShrinksWithItsBuffer) {
  MemoryBudget budget(100);
  MemoryCharge charge(&budget, Use::incoming_frame);
  EXPECT_TRUE(charge.resize(30));
  EXPECT_TRUE(charge.resize(90));
  EXPECT_EQ(budget.used(), 90u);
  EXPECT_FALSE(charge.resize(101));
  EXPECT_EQ(charge.bytes(), 90u);  // a refused growth leaves the charge as it was
  EXPECT_EQ(budget.used(), 90u);
  charge.shrink_to(95);  // never grows
  EXPECT_EQ(charge.bytes(), 90u);
  charge.shrink_to(10);
  EXPECT_EQ(budget.used(), 10u);
  charge.release();
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, MovingAChargeMovesItsBytesOnce) {
  MemoryBudget budget(100);
  auto charge = MemoryCharge::take(&budget, Use::transaction, 50);
  ASSERT_TRUE(charge);
  MemoryCharge moved = std::move(*charge);
  charge.reset();  // the moved-from charge holds nothing and gives nothing back
  EXPECT_EQ(budget.used(), 50u);
  MemoryCharge other(&budget);
  ASSERT_TRUE(other.resize(20));
  other = std::move(moved);  // the 20 it held are given back, the 50 move in
  EXPECT_EQ(budget.used(), 50u);
  EXPECT_EQ(other.bytes(), 50u);
}

TEST(MemoryBudget, AChargeWithoutABudgetAlwaysSucceeds) {
  MemoryCharge charge;
  EXPECT_TRUE(charge.resize(std::size_t(1) << 40));
  EXPECT_EQ(charge.bytes(), std::size_t(1) << 40);
}

TEST(MemoryBudget, ARequestLargerThanTheWholeBudgetIsRefusedWithoutOverflow) {
  MemoryBudget budget(100);
  EXPECT_FALSE(MemoryCharge::take(&budget, Use::request_body, static_cast<std::size_t>(-1)));
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, ConcurrentChargesNeverExceedTheLimit) {
  MemoryBudget budget(1000);
  std::vector<std::thread> threads;
  std::atomic<std::size_t> granted{0};
  std::atomic<int> finished{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<MemoryCharge> held;
      for (int i = 0; i < 1000; ++i) {
        if (auto charge = MemoryCharge::take(&budget, Use::outbound_queue, 7)) held.push_back(std::move(*charge));
        EXPECT_LE(budget.used(), 1000u);
      }
      granted += held.size();
      ++finished;
      while (finished.load() < 4) std::this_thread::yield();  // hold every charge until all threads have asked
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 1000u / 7);  // nothing given back meanwhile: exactly what fits
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, WhenFullTheLargestEvictableChargeIsTakenBackForASmallerOne) {
  MemoryBudget budget(1000);
  int slow_evicted = 0;
  int other_evicted = 0;
  MemoryCharge slow(&budget);
  slow.enrol([&] { ++slow_evicted; });
  MemoryCharge other(&budget);
  other.enrol([&] { ++other_evicted; });
  MemoryCharge reader(&budget);
  reader.enrol([] {});
  ASSERT_TRUE(slow.resize(600));
  ASSERT_TRUE(other.resize(300));
  EXPECT_TRUE(reader.resize(200));  // 1100 would not fit: the largest (600) goes, not the asker
  EXPECT_EQ(slow_evicted, 1);
  EXPECT_EQ(other_evicted, 0);
  EXPECT_TRUE(slow.evicted());
  EXPECT_EQ(slow.bytes(), 0u);
  EXPECT_EQ(budget.used(), 500u);
  EXPECT_EQ(budget.evictions(), 1u);
  EXPECT_FALSE(slow.resize(10));  // an evicted charge never grows again
  slow.release();                 // and gives nothing back twice
  EXPECT_EQ(budget.used(), 500u);
}

TEST(MemoryBudget, TheLargestAskerIsRefusedAndNobodyIsEvicted) {
  MemoryBudget budget(1000);
  int evicted = 0;
  MemoryCharge big(&budget);
  big.enrol([] {});
  MemoryCharge small(&budget);
  small.enrol([&] { ++evicted; });
  ASSERT_TRUE(big.resize(700));
  ASSERT_TRUE(small.resize(250));
  EXPECT_FALSE(big.resize(800));  // it is the largest: it is the one refused
  EXPECT_EQ(evicted, 0);
  EXPECT_EQ(budget.used(), 950u);
  EXPECT_EQ(budget.refusals(Use::outbound_queue), 1u);
}

TEST(MemoryBudget, ChargesThatAreNotEnrolledAreNeverEvicted) {
  MemoryBudget budget(1000);
  auto body = MemoryCharge::take(&budget, Use::request_body, 900);
  ASSERT_TRUE(body);
  MemoryCharge queue(&budget);
  queue.enrol([] {});
  EXPECT_FALSE(queue.resize(200));
  EXPECT_EQ(body->bytes(), 900u);
}

TEST(MemoryBudget, AnyUseMayEvictASlowQueue) {
  MemoryBudget budget(1000);
  bool evicted = false;
  MemoryCharge queue(&budget);
  queue.enrol([&] { evicted = true; });
  ASSERT_TRUE(queue.resize(800));
  EXPECT_TRUE(MemoryCharge::take(&budget, Use::request_body, 500));  // a request is served, the slow reader goes
  EXPECT_TRUE(evicted);
}

}  // namespace
}  // namespace backside
