#include "proto/firebase/long_poll_reassembler.h"

#include <gtest/gtest.h>

namespace backside::proto::firebase {
namespace {

// Web-safe base64 of "hello world" (11 bytes, one '.' of padding), and of "{}".
constexpr std::string_view kHello = "aGVsbG8gd29ybGQ.";
constexpr std::string_view kBraces = "e30.";

long_poll::Segment segment(std::uint64_t number, std::uint64_t total, std::string_view data) {
  return long_poll::Segment{number, total, std::string(data)};
}

// Every message that is complete now.
std::vector<std::string> drain(LongPollReassembler& reassembler) {
  std::vector<std::string> out;
  for (;;) {
    auto next = reassembler.next();
    EXPECT_TRUE(next.ok()) << next.error().message;
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

TEST(LongPollReassembler, SegmentsInOrderMakeTheirMessage) {
  LongPollReassembler reassembler(1 << 20, 16);
  ASSERT_TRUE(reassembler.add(segment(0, 3, kHello.substr(0, 5))));
  EXPECT_TRUE(drain(reassembler).empty());
  ASSERT_TRUE(reassembler.add(segment(1, 3, kHello.substr(5, 5))));
  EXPECT_TRUE(drain(reassembler).empty());
  ASSERT_TRUE(reassembler.add(segment(2, 3, kHello.substr(10))));
  EXPECT_EQ(drain(reassembler), std::vector<std::string>{"hello world"});
}

TEST(LongPollReassembler, ASegmentWaitsForTheOnesBeforeIt) {
  LongPollReassembler reassembler(1 << 20, 16);
  // Two messages; their segments come in the order of two polls overtaking each other.
  ASSERT_TRUE(reassembler.add(segment(2, 1, kBraces)));
  ASSERT_TRUE(reassembler.add(segment(1, 2, kHello.substr(8))));
  EXPECT_TRUE(drain(reassembler).empty());
  EXPECT_GE(reassembler.buffered_bytes(), kBraces.size() + kHello.size() - 8);
  ASSERT_TRUE(reassembler.add(segment(0, 2, kHello.substr(0, 8))));
  EXPECT_EQ(drain(reassembler), (std::vector<std::string>{"hello world", "{}"}));
}

TEST(LongPollReassembler, MessagesComeOneAtATime) {
  LongPollReassembler reassembler(1 << 20, 16);
  ASSERT_TRUE(reassembler.add(segment(0, 1, kBraces)));
  ASSERT_TRUE(reassembler.add(segment(1, 1, kHello)));
  auto first = reassembler.next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(**first, "{}");
  auto second = reassembler.next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ(**second, "hello world");
  auto none = reassembler.next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(LongPollReassembler, RepeatedSegmentsAreIgnored) {
  LongPollReassembler reassembler(1 << 20, 16);
  ASSERT_TRUE(reassembler.add(segment(0, 1, kBraces)));
  EXPECT_EQ(drain(reassembler), std::vector<std::string>{"{}"});
  ASSERT_TRUE(reassembler.add(segment(0, 1, kHello)));  // already taken
  ASSERT_TRUE(reassembler.add(segment(2, 1, kBraces)));
  ASSERT_TRUE(reassembler.add(segment(2, 1, kHello)));  // already waiting: the first one stays
  EXPECT_TRUE(drain(reassembler).empty());
  ASSERT_TRUE(reassembler.add(segment(1, 1, kHello)));
  EXPECT_EQ(drain(reassembler), (std::vector<std::string>{"hello world", "{}"}));
}

TEST(LongPollReassembler, AMessageOfNoSegmentsIsMalformed) {
  LongPollReassembler reassembler(1 << 20, 16);
  EXPECT_FALSE(reassembler.add(segment(0, 0, kBraces)));
}

TEST(LongPollReassembler, InvalidBase64IsAnError) {
  LongPollReassembler reassembler(1 << 20, 16);
  ASSERT_TRUE(reassembler.add(segment(0, 1, "e3$.")));
  auto next = reassembler.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::invalid_argument);
}

TEST(LongPollReassembler, TooManySegmentsWaitingCrossTheBound) {
  LongPollReassembler reassembler(1 << 20, 3);
  for (std::uint64_t n = 1; n <= 3; ++n) ASSERT_TRUE(reassembler.add(segment(n, 4, "QUFB")));
  EXPECT_FALSE(reassembler.add(segment(4, 4, "QUFB")));  // a fourth waiting for segment 0
}

TEST(LongPollReassembler, SegmentsWaitingHoldAtMostOneMessagesWorthOfBase64) {
  // 30 bytes of message are 40 characters of base64 (+4 of slack).
  LongPollReassembler reassembler(30, 100);
  ASSERT_TRUE(reassembler.add(segment(1, 3, std::string(40, 'Q'))));
  ASSERT_TRUE(reassembler.add(segment(2, 3, "QUFB")));
  EXPECT_FALSE(reassembler.add(segment(3, 3, "QUFB")));
}

TEST(LongPollReassembler, AMessageLargerThanTheBoundIsAnError) {
  LongPollReassembler reassembler(30, 100);
  // Each segment is within the bound; together they are not.
  ASSERT_TRUE(reassembler.add(segment(0, 3, std::string(20, 'Q'))));
  ASSERT_TRUE(reassembler.add(segment(1, 3, std::string(20, 'Q'))));
  EXPECT_TRUE(drain(reassembler).empty());
  ASSERT_TRUE(reassembler.add(segment(2, 3, std::string(20, 'Q'))));
  auto next = reassembler.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::too_large);
}

TEST(LongPollReassembler, ClearDropsWhatWaits) {
  LongPollReassembler reassembler(1 << 20, 16);
  ASSERT_TRUE(reassembler.add(segment(0, 2, std::string(1000, 'Q'))));
  ASSERT_TRUE(reassembler.add(segment(5, 1, std::string(1000, 'Q'))));
  EXPECT_TRUE(drain(reassembler).empty());
  EXPECT_GE(reassembler.buffered_bytes(), 2000u);
  reassembler.clear();
  EXPECT_LE(reassembler.buffered_bytes(), std::string().capacity());  // the buffers went back
}

}  // namespace
}  // namespace backside::proto::firebase
