#include "proto/rest/reply_deadline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

namespace backside::proto::rest {
namespace {

using namespace std::chrono_literals;

TEST(ReplyDeadline, AnAnswerInTimeCancelsTheTimer) {
  boost::asio::io_context io;
  int expired = 0;
  auto deadline = ReplyDeadline::start(io.get_executor(), 10s, [&] { ++expired; });
  EXPECT_TRUE(deadline->in_time());
  EXPECT_TRUE(deadline->take());
  EXPECT_FALSE(deadline->take());  // one answer
  // Nothing is left to run: the timer is cancelled, not left to wait out its ten seconds.
  io.run_for(2s);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(expired, 0);
}

TEST(ReplyDeadline, TheTimerAnswersAtTheDeadlineAndALaterValueIsDropped) {
  boost::asio::io_context io;
  int expired = 0;
  const auto begun = std::chrono::steady_clock::now();  // before the timer starts: its 20 ms count from then
  auto deadline = ReplyDeadline::start(io.get_executor(), 20ms, [&] { ++expired; });
  io.run_for(5s);
  EXPECT_TRUE(io.stopped());
  EXPECT_GE(std::chrono::steady_clock::now() - begun, 20ms);
  EXPECT_EQ(expired, 1);
  EXPECT_FALSE(deadline->in_time());
  EXPECT_FALSE(deadline->take());
  EXPECT_EQ(expired, 1);
}

TEST(ReplyDeadline, ATakerThatFindsTheTimeUpAnswersTheExpiryItself) {
  boost::asio::io_context io;  // not run yet: the timer cannot have answered
  int expired = 0;
  auto deadline = ReplyDeadline::start(io.get_executor(), 1ms, [&] { ++expired; });
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(deadline->take());
  EXPECT_EQ(expired, 1);
  io.run_for(2s);  // the timer runs and finds it answered
  EXPECT_EQ(expired, 1);
  EXPECT_FALSE(deadline->in_time());
}

TEST(ReplyDeadline, InTimeFindsTheTimeUpToo) {
  int expired = 0;
  auto deadline = ReplyDeadline::start({}, 1ms, [&] { ++expired; });  // no timers: only the checks
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(deadline->in_time());
  EXPECT_EQ(expired, 1);
  EXPECT_FALSE(deadline->take());
  EXPECT_EQ(expired, 1);
}

TEST(ReplyDeadline, RacingTakersAndTheTimerGiveOneAnswer) {
  for (int round = 0; round < 50; ++round) {
    boost::asio::io_context io;
    std::atomic<int> answers{0};
    auto deadline = ReplyDeadline::start(io.get_executor(), 1ms, [&] { ++answers; });
    std::vector<std::thread> threads;
    threads.emplace_back([&] { io.run_for(2s); });
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        for (int tries = 0; tries < 1000; ++tries) {
          if (deadline->take()) ++answers;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(answers.load(), 1) << "round " << round;
  }
}

}  // namespace
}  // namespace backside::proto::rest
