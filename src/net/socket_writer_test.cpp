#include "net/socket_writer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "net/websocket_frame.h"

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
  static OutgoingFrame frame(std::string payload, std::string header = "", std::string head = "") {
    OutgoingFrame result;
    result.payload = std::make_shared<const std::string>(std::move(payload));
    result.head = std::move(head);
    result.header_size = static_cast<std::uint8_t>(header.size());
    std::copy(header.begin(), header.end(), result.header.begin());
    return result;
  }
  // Drains the peer and resumes until `expected_size` bytes arrived (or no progress is possible).
  std::string receive_all(SocketWriter& writer, std::size_t expected_size) {
    std::string received;
    for (int round = 0; round < 100000 && received.size() < expected_size; ++round) {
      received += drain_peer();
      const Outcome outcome = writer.resume();
      EXPECT_TRUE(outcome == Outcome::none || outcome == Outcome::wait);
    }
    received += drain_peer();
    return received;
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

TEST_F(SocketWriterTest, AFrameIsItsHeaderThenItsHeadThenItsPayload) {
  SocketWriter writer(1 << 20);
  EXPECT_EQ(writer.push(frame("body1", "<1>", "head1:")), Outcome::none);  // queued: written by start
  EXPECT_EQ(writer.push(frame("body2", "", "head2:")), Outcome::none);
  EXPECT_EQ(writer.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), "<1>head1:body1head2:body2");
  EXPECT_EQ(writer.push(frame("body3", "<3>", "head3:")), Outcome::none);  // idle: written at once
  EXPECT_EQ(drain_peer(), "<3>head3:body3");
  OutgoingFrame head_only;  // no payload at all
  head_only.head = "only a head";
  EXPECT_EQ(writer.push(std::move(head_only)), Outcome::none);
  EXPECT_EQ(drain_peer(), "only a head");
}

TEST_F(SocketWriterTest, ASharedPayloadGoesToEveryConnectionBehindItsOwnHead) {
  int other[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
  const auto body = std::make_shared<const std::string>("shared body");
  SocketWriter first(1 << 20);
  SocketWriter second(1 << 20);
  ASSERT_EQ(first.start(fds_[0]), Outcome::none);
  ASSERT_EQ(second.start(other[0]), Outcome::none);
  OutgoingFrame a;
  a.head = "for a|";
  a.payload = body;
  OutgoingFrame b;
  b.head = "for b|";
  b.payload = body;
  EXPECT_EQ(first.push(std::move(a)), Outcome::none);
  EXPECT_EQ(second.push(std::move(b)), Outcome::none);
  EXPECT_EQ(drain_peer(), "for a|shared body");
  char buffer[64];
  const ssize_t n = ::recv(other[1], buffer, sizeof buffer, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0), "for b|shared body");
  EXPECT_EQ(*body, "shared body");
  ::close(other[0]);
  ::close(other[1]);
}

TEST_F(SocketWriterTest, PartialWritesResumeInsideTheHeadAndInsideThePayload) {
  // Head and payload are each many times what the socket takes in one write, so writes end inside both of them.
  SocketWriter writer(1 << 24);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  std::string head(200000, ' ');
  std::string payload(200000, ' ');
  for (std::size_t i = 0; i < head.size(); ++i) head[i] = static_cast<char>('A' + i % 23);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 19);
  const std::string expected = "<h>" + head + payload;
  ASSERT_EQ(writer.push(frame(payload, "<h>", head)), Outcome::wait);  // only part of the head went out
  const std::string first_write = drain_peer();
  ASSERT_GT(first_write.size(), 3u);
  ASSERT_LT(first_write.size(), 3 + head.size());
  std::string received = first_write + receive_all(writer, expected.size() - first_write.size());
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);
}

TEST_F(SocketWriterTest, ManyFramesWithHeadsResumeByteForByte) {
  SocketWriter writer(1 << 24);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  std::string expected;
  bool waited = false;
  for (int i = 0; i < 3000; ++i) {
    // Sizes that vary, so that writes end at every kind of place: in a header, a head, a payload.
    const std::string header = "[" + std::to_string(i) + "]";
    const std::string head = "head " + std::to_string(i) + std::string(static_cast<std::size_t>(i * 7 % 50), 'h');
    const std::string payload(static_cast<std::size_t>(i * 13 % 90), static_cast<char>('a' + i % 26));
    expected += header + head + payload;
    const Outcome outcome = writer.push(frame(payload, header, head));
    if (outcome == Outcome::wait) {
      EXPECT_FALSE(waited) << "a second wait while the first is pending";
      waited = true;
    } else {
      EXPECT_EQ(outcome, Outcome::none);
    }
  }
  ASSERT_TRUE(waited) << "the socket never filled";
  const std::string received = receive_all(writer, expected.size());
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);
}

TEST_F(SocketWriterTest, AWebSocketFrameWithAHeadIsOneFrameWhoseLengthCoversHeadAndPayload) {
  SocketWriter writer(1 << 24);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  // Lengths in each of the three header forms: 7 bits, 16 bits, 64 bits.
  for (const auto& [head_size, payload_size] : {std::pair<std::size_t, std::size_t>{40, 60},
                                                {100, 26}, {70, 300}, {30000, 50000}}) {
    const std::string head(head_size, 'h');
    const std::string payload(payload_size, 'p');
    const OutgoingFrame ws =
        make_websocket_frame(WebSocketOpcode::text, std::make_shared<const std::string>(payload), head);
    EXPECT_EQ(ws.head, head);
    const Outcome outcome = writer.push(ws);
    ASSERT_TRUE(outcome == Outcome::none || outcome == Outcome::wait);
    const std::size_t total = head_size + payload_size;
    std::string received = drain_peer();
    if (outcome == Outcome::wait) received += receive_all(writer, ws.header_size + total - received.size());
    ASSERT_EQ(received.size(), ws.header_size + total);
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(received[i]); };
    EXPECT_EQ(byte(0), 0x81);  // FIN, text: one whole frame
    std::size_t length = byte(1) & 0x7F;
    std::size_t header_size = 2;
    if (length == 126) {
      length = (std::size_t(byte(2)) << 8) | byte(3);
      header_size = 4;
    } else if (length == 127) {
      length = 0;
      for (std::size_t i = 0; i < 8; ++i) length = (length << 8) | byte(2 + i);
      header_size = 10;
    }
    EXPECT_EQ(byte(1) & 0x80, 0);  // unmasked
    EXPECT_EQ(header_size, ws.header_size);
    EXPECT_EQ(length, total) << head_size << " + " << payload_size;
    EXPECT_TRUE(received.substr(header_size) == head + payload);
  }
  // Without a head it is the payload's length alone.
  const OutgoingFrame plain = make_websocket_frame(WebSocketOpcode::text, std::make_shared<const std::string>("xyz"));
  EXPECT_EQ(plain.header_size, 2);
  EXPECT_EQ(plain.header[1], 3);
  EXPECT_TRUE(plain.head.empty());
}

TEST_F(SocketWriterTest, HeadsAreChargedToTheBudgetAndGivenBack) {
  MemoryBudget budget(1 << 20);
  SocketWriter writer(1 << 20, &budget);
  EXPECT_EQ(writer.push(frame("abc", "<>", "head:")), Outcome::none);  // not started: queued
  EXPECT_EQ(writer.push(frame("", "", "just a head")), Outcome::none);
  EXPECT_EQ(budget.used(), 2u + 5u + 3u + 11u);
  EXPECT_EQ(writer.start(fds_[0]), Outcome::none);
  EXPECT_EQ(drain_peer(), "<>head:abcjust a head");
  EXPECT_EQ(budget.used(), 0u);
}

TEST_F(SocketWriterTest, HeadsCountTowardTheBound) {
  // Each frame's payload is one byte: only its head can take the queue past the bound within a few frames.
  SocketWriter writer(64 * 1024);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  Outcome outcome = Outcome::none;
  int pushed = 0;
  while (outcome == Outcome::none || outcome == Outcome::wait) {
    outcome = writer.push(frame("x", "", std::string(1000, 'h')));
    ASSERT_LT(++pushed, 1000);
  }
  EXPECT_EQ(outcome, Outcome::overflow);
}

TEST_F(SocketWriterTest, HeadsCountTowardTheBudget) {
  MemoryBudget budget(20000);
  SocketWriter writer(1 << 24, &budget);
  ASSERT_EQ(writer.start(fds_[0]), Outcome::none);
  Outcome outcome = Outcome::none;
  int pushed = 0;
  while (outcome == Outcome::none || outcome == Outcome::wait) {
    outcome = writer.push(frame("x", "", std::string(1000, 'h')));
    ASSERT_LT(++pushed, 1000);
    EXPECT_LE(budget.used(), 20000u);
  }
  EXPECT_EQ(outcome, Outcome::over_budget);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace backside::net
