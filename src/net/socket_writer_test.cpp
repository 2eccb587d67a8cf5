#include "net/socket_writer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace backside::net {
namespace {

using Outcome = SocketWriter::Outcome;

class SocketWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    const int small = 4096;  // the kernel doubles it; a few KiB fill the socket quickly
    ::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(fds_[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  void TearDown() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  // Everything readable on the peer right now.
  std::string drain_peer() {
    std::string received;
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(fds_[1], buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
  }
  static OutgoingFrame frame(std::string payload, std::string header = "") {
    OutgoingFrame result;
    result.payload = std::make_shared<const std::string>(std::move(payload));
    result.header_size = static_cast<std::uint8_t>(header.size());
    std::copy(header.begin(), header.end(), result.header.begin());
    return result;
  }
  int fds_[2] = {-1, -1};
};

TEST_F(SocketWriterTest, FramesPushedBeforeStartGoOutInOrderWithTheirHeaders) {
  SocketWriter writer(1 << 20);
  EXPECT_EQ(writer.push(frame("one", "<1>")), Outcome::none);
  EXPECT_EQ(writer.push(frame("two")), Outcome::none);
  EXPECT_EQ(drain_peer(), "");
  EXPECT_EQ(writer.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), "<1>onetwo");
  EXPECT_EQ(writer.push(frame("three", "<3>")), Outcome::none);  // idle: written at once
  EXPECT_EQ(drain_peer(), "<3>three");
}

TEST_F(SocketWriterTest, AFullSocketQueuesAndResumeWritesEverythingInOrder) {
  SocketWriter writer(1 << 24);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  std::string expected;
  bool waited = false;
  for (int i = 0; i < 2000; ++i) {
    const std::string header = "[" + std::to_string(i) + "]";
    const std::string payload(97, static_cast<char>('a' + i % 26));
    expected += header + payload;
    const Outcome outcome = writer.push(frame(payload, header));
    if (outcome == Outcome::wait) {
      EXPECT_FALSE(waited) << "a second wait while the first is pending";
      waited = true;
    } else {
      EXPECT_EQ(outcome, Outcome::none);
    }
  }
  ASSERT_TRUE(waited) << "the socket never filled";
  std::string received;
  for (int round = 0; round < 10000 && received.size() < expected.size(); ++round) {
    received += drain_peer();
    const Outcome outcome = writer.resume();
    ASSERT_TRUE(outcome == Outcome::none || outcome == Outcome::wait);
  }
  received += drain_peer();
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);  // byte for byte: partial writes resumed mid-header and mid-payload
}

TEST_F(SocketWriterTest, FallingBehindTheBoundOverflows) {
  SocketWriter writer(64 * 1024);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  Outcome outcome = Outcome::none;
  int pushed = 0;
  while (outcome == Outcome::none || outcome == Outcome::wait) {
    outcome = writer.push(frame(std::string(1000, 'x')));
    ASSERT_LT(++pushed, 1000);
  }
  EXPECT_EQ(outcome, Outcome::overflow);
  EXPECT_EQ(writer.push(frame("more")), Outcome::refused);
}

TEST_F(SocketWriterTest, OneFrameLargerThanTheBoundPassesWhenNothingWaits) {
  SocketWriter writer(1000);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  const Outcome outcome = writer.push(frame(std::string(100000, 'y')));
  EXPECT_TRUE(outcome == Outcome::wait || outcome == Outcome::none);
}

TEST_F(SocketWriterTest, CloseWritesTheLastFrameThenDrains) {
  SocketWriter writer(1 << 20);
  EXPECT_EQ(writer.push(frame("queued")), Outcome::none);
  EXPECT_EQ(writer.close(frame("last", "!")), Outcome::none);  // not started: waits for start
  EXPECT_EQ(writer.push(frame("refused")), Outcome::refused);
  EXPECT_EQ(writer.close(frame("again")), Outcome::refused);
  EXPECT_TRUE(writer.closing());
  EXPECT_EQ(writer.start(fds_[0]), Outcome::drained);
  EXPECT_EQ(drain_peer(), "queued!last");
}

TEST_F(SocketWriterTest, AClosedPeerFailsTheWrite) {
  SocketWriter writer(1 << 20);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  ::close(fds_[1]);
  fds_[1] = -1;
  EXPECT_EQ(writer.push(frame("into the void")), Outcome::failed);
  EXPECT_EQ(writer.error(), EPIPE);
}

TEST_F(SocketWriterTest, StopDropsEverythingOnce) {
  SocketWriter writer(1 << 20);
  EXPECT_EQ(writer.push(frame("never sent")), Outcome::none);
  EXPECT_TRUE(writer.stop());
  EXPECT_FALSE(writer.stop());
  EXPECT_EQ(writer.push(frame("x")), Outcome::refused);
  EXPECT_EQ(writer.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), "");
}

TEST_F(SocketWriterTest, QueuedBytesAreChargedToTheBudgetAndGivenBackAsTheyAreWritten) {
  MemoryBudget budget(1 << 20);
  SocketWriter writer(1 << 20, &budget);
  EXPECT_EQ(writer.push(frame("abc", "<>")), Outcome::none);  // not started: queued
  EXPECT_EQ(writer.push(frame("defg")), Outcome::none);
  EXPECT_EQ(budget.used(), 9u);  // headers count too
  EXPECT_EQ(writer.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), "<>abcdefg");
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(writer.push(frame("idle")), Outcome::none);  // written at once: never charged
  EXPECT_EQ(budget.used(), 0u);
}

TEST_F(SocketWriterTest, AQueueTheBudgetCannotTakeIsDroppedAsASlowReader) {
  MemoryBudget budget(20000);
  SocketWriter writer(1 << 24, &budget);  // the per-connection bound is far away: only the budget stops it
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  Outcome outcome = Outcome::none;
  int pushed = 0;
  while (outcome == Outcome::none || outcome == Outcome::wait) {
    outcome = writer.push(frame(std::string(1000, 'x')));
    ASSERT_LT(++pushed, 1000);
    EXPECT_LE(budget.used(), 20000u);
  }
  EXPECT_EQ(outcome, Outcome::over_budget);
  EXPECT_EQ(budget.used(), 0u);  // the dropped queue gave its bytes back
  EXPECT_EQ(writer.push(frame("more")), Outcome::refused);
  EXPECT_TRUE(writer.closing());
}

TEST_F(SocketWriterTest, OneConnectionOverTheBudgetLeavesTheOthersTheirShare) {
  MemoryBudget budget(5000);
  SocketWriter greedy(1 << 20, &budget);
  SocketWriter other(1 << 20, &budget);
  EXPECT_EQ(greedy.push(frame(std::string(4000, 'g'))), Outcome::none);  // not started: all of it queued
  EXPECT_EQ(other.push(frame(std::string(900, 'o'))), Outcome::none);
  EXPECT_EQ(greedy.push(frame(std::string(200, 'g'))), Outcome::over_budget);
  EXPECT_EQ(budget.used(), 900u);
  EXPECT_EQ(other.push(frame(std::string(3000, 'o'))), Outcome::none);  // what the dropped one held is free again
  EXPECT_EQ(budget.used(), 3900u);
  EXPECT_TRUE(other.stop());
  EXPECT_EQ(budget.used(), 0u);
}

TEST_F(SocketWriterTest, PushAllIsChargedAllOrNothing) {
  MemoryBudget budget(100);
  SocketWriter writer(1 << 20, &budget);
  const OutgoingFrame frames[] = {frame(std::string(60, 'a')), frame(std::string(60, 'b'))};
  EXPECT_EQ(writer.push_all(frames), Outcome::over_budget);
  EXPECT_EQ(budget.used(), 0u);
}

TEST_F(SocketWriterTest, WhenTheBudgetIsFullTheLargestQueueIsDroppedNotTheSmallOne) {
  MemoryBudget budget(10000);
  SocketWriter slow(1 << 20, &budget);
  bool slow_dropped = false;
  slow.enrol_for_eviction([&] { slow_dropped = true; });
  SocketWriter reader(1 << 20, &budget);
  reader.enrol_for_eviction([] {});
  EXPECT_EQ(slow.push(frame(std::string(9000, 's'))), Outcome::none);  // not started: queued
  EXPECT_EQ(reader.push(frame(std::string(2000, 'r'))), Outcome::none);
  EXPECT_TRUE(slow_dropped);
  EXPECT_EQ(budget.used(), 2000u);
  EXPECT_EQ(slow.push(frame("more")), Outcome::over_budget);  // the evicted queue takes nothing more
  EXPECT_EQ(budget.used(), 2000u);
  EXPECT_EQ(reader.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), std::string(2000, 'r'));
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace backside::net
