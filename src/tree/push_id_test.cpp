#include "tree/push_id.h"

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace backside::tree {
namespace {

constexpr std::string_view kAlphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

std::int64_t decode_time(const std::string& id) {
  std::int64_t time = 0;
  for (std::size_t i = 0; i < 8; ++i) time = time * 64 + static_cast<std::int64_t>(kAlphabet.find(id[i]));
  return time;
}

TEST(PushId, AlphabetIsAsciiSorted) { EXPECT_TRUE(std::is_sorted(kAlphabet.begin(), kAlphabet.end())); }

TEST(PushId, Format) {
  PushIdGenerator generator;
  const std::int64_t now = 1700000000123;
  const std::string id = generator.next(now);
  ASSERT_EQ(id.size(), 20u);
  for (const char c : id) EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << id;
  EXPECT_EQ(decode_time(id), now);
  EXPECT_EQ(id.substr(0, 8), "-NjEtLWv");  // 1700000000123 in base 64, big-endian
}

TEST(PushId, TimestampEncoding) {
  PushIdGenerator generator;
  EXPECT_EQ(generator.next(0).substr(0, 8), "--------");
  EXPECT_EQ(generator.next(1).substr(0, 8), "-------0");
  EXPECT_EQ(generator.next(64).substr(0, 8), "------0-");
  EXPECT_EQ(generator.next(64 * 64 - 1).substr(0, 8), "------zz");
}

TEST(PushId, MonotonicWithinOneMillisecond) {
  PushIdGenerator generator;
  // Enough IDs for the incremented random part to carry across several characters.
  std::string previous = generator.next(1000);
  for (int i = 0; i < 10000; ++i) {
    const std::string id = generator.next(1000);
    ASSERT_LT(previous, id);
    ASSERT_EQ(id.substr(0, 8), previous.substr(0, 8));
    previous = id;
  }
}

TEST(PushId, IncreasingAcrossTimeEvenIfTheClockStepsBack) {
  PushIdGenerator generator;
  const std::string first = generator.next(5000);
  const std::string later = generator.next(5001);
  EXPECT_LT(first, later);
  const std::string earlier_clock = generator.next(4000);
  EXPECT_LT(later, earlier_clock);
  EXPECT_EQ(decode_time(earlier_clock), 5001);
}

TEST(PushId, RandomPartDiffersBetweenGenerators) {
  PushIdGenerator a;
  PushIdGenerator b;
  EXPECT_NE(a.next(1000).substr(8), b.next(1000).substr(8));
}

TEST(PushId, ThreadSafe) {
  PushIdGenerator generator;
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (auto& list : ids) {
    threads.emplace_back([&generator, &list] {
      for (int i = 0; i < 1000; ++i) list.push_back(generator.next(1234));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : ids) {
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
    unique.insert(list.begin(), list.end());
  }
  EXPECT_EQ(unique.size(), 4000u);
}

}  // namespace
}  // namespace backside::tree
