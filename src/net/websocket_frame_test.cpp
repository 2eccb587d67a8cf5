#include "net/websocket_frame.h"

#include <gtest/gtest.h>

#include <random>

namespace backside::net {
namespace {

using Event = WebSocketFrameReader::Event;
using Kind = Event::Kind;

// A client frame: masked with `mask`, the length in its shortest form unless `length_bytes` forces 2 or 8.
std::string client_frame(std::uint8_t first_byte, std::string_view payload, std::uint32_t mask = 0x37FA213D,
                         int length_bytes = 0) {
  std::string frame;
  frame.push_back(static_cast<char>(first_byte));
  const std::size_t size = payload.size();
  if (length_bytes == 0) length_bytes = size < 126 ? 0 : size <= 0xFFFF ? 2 : 8;
  if (length_bytes == 0) {
    frame.push_back(static_cast<char>(0x80 | size));
  } else if (length_bytes == 2) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(size >> 8));
    frame.push_back(static_cast<char>(size & 0xFF));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) frame.push_back(static_cast<char>((std::uint64_t(size) >> (8 * i)) & 0xFF));
  }
  const std::uint8_t key[4] = {std::uint8_t(mask >> 24), std::uint8_t(mask >> 16), std::uint8_t(mask >> 8),
                               std::uint8_t(mask)};
  frame.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < size; ++i) frame.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return frame;
}

std::vector<Event> read_all(std::string_view bytes, std::size_t max = 1 << 20) {
  WebSocketFrameReader reader(max);
  std::vector<Event> events;
  reader.feed(bytes, events);
  return events;
}

TEST(WebSocketFrame, HeaderLengthsUseTheShortestForm) {
  std::uint8_t header[kMaxFrameHeaderBytes];
  EXPECT_EQ(encode_frame_header(WebSocketOpcode::text, 125, header), 2u);
  EXPECT_EQ(header[0], 0x81);
  EXPECT_EQ(header[1], 125);
  EXPECT_EQ(encode_frame_header(WebSocketOpcode::text, 126, header), 4u);
  EXPECT_EQ(header[1], 126);
  EXPECT_EQ((header[2] << 8) | header[3], 126);
  EXPECT_EQ(encode_frame_header(WebSocketOpcode::binary, 65536, header), 10u);
  EXPECT_EQ(header[0], 0x82);
  EXPECT_EQ(header[1], 127);
  EXPECT_EQ(header[7], 1);  // 65536 = 0x00000000'00010000
  EXPECT_EQ(header[8], 0);
  EXPECT_EQ(encode_frame_header(WebSocketOpcode::close, 0, header), 2u);
  EXPECT_EQ(header[0], 0x88);
}

TEST(WebSocketFrame, ClosePayloadIsCodeThenReasonCutAtACharacter) {
  EXPECT_EQ(close_frame_payload(1000, "bye"), std::string("\x03\xE8") + "bye");
  std::string long_reason(122, 'a');
  long_reason += "\xC3\xA9\xC3\xA9";  // two 2-byte characters crossing the 123-byte limit
  const std::string payload = close_frame_payload(1009, long_reason);
  EXPECT_EQ(payload.size(), 2u + 122u);  // the split é is left out whole
  EXPECT_TRUE(is_valid_utf8(payload.substr(2)));
}

TEST(WebSocketFrame, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(is_valid_utf8("\x80"));                                // a continuation byte first
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                            // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));                        // overlong, 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                        // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                    // beyond U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));                            // cut short
}

TEST(WebSocketFrame, ReadsMessagesOfEveryLengthForm) {
  const std::string small = "hello";
  const std::string medium(300, 'm');
  const std::string large(70000, 'L');
  const auto events = read_all(client_frame(0x81, small) + client_frame(0x81, medium) + client_frame(0x82, large));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, Kind::message);
  EXPECT_EQ(events[0].payload, small);
  EXPECT_FALSE(events[0].binary);
  EXPECT_EQ(events[1].payload, medium);
  EXPECT_EQ(events[2].payload, large);
  EXPECT_TRUE(events[2].binary);
}

TEST(WebSocketFrame, ReassemblesFragmentsWithControlFramesBetween) {
  const std::string bytes = client_frame(0x01, "frag") + client_frame(0x89, "are you there") +
                            client_frame(0x00, "ment") + client_frame(0x80, "ed");
  const auto events = read_all(bytes);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::ping);
  EXPECT_EQ(events[0].payload, "are you there");
  EXPECT_EQ(events[1].kind, Kind::message);
  EXPECT_EQ(events[1].payload, "fragmented");
}

TEST(WebSocketFrame, AnyByteSplitGivesTheSameEvents) {
  const std::string bytes = client_frame(0x81, std::string(200, 'x')) + client_frame(0x01, "a") +
                            client_frame(0x8A, "") + client_frame(0x80, "b") + client_frame(0x88, "\x03\xE8" "done");
  const auto whole = read_all(bytes);
  ASSERT_EQ(whole.size(), 4u);
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    WebSocketFrameReader reader(1 << 20);
    std::vector<Event> events;
    reader.feed(std::string_view(bytes).substr(0, split), events);
    reader.feed(std::string_view(bytes).substr(split), events);
    ASSERT_EQ(events.size(), whole.size()) << "split at " << split;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].kind, whole[i].kind);
      EXPECT_EQ(events[i].payload, whole[i].payload);
    }
  }
  // Byte by byte, too; and nothing is held once a message is complete.
  WebSocketFrameReader reader(1 << 20);
  std::vector<Event> events;
  const std::string one = client_frame(0x81, "{\"t\":\"d\"}");
  for (char c : one) reader.feed(std::string_view(&c, 1), events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "{\"t\":\"d\"}");
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WebSocketFrame, CloseFrames) {
  auto events = read_all(client_frame(0x88, std::string("\x0F\xA0", 2) + "app going away"));  // 4000
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::close);
  EXPECT_EQ(events[0].code, 4000);
  EXPECT_EQ(events[0].payload, "app going away");

  events = read_all(client_frame(0x88, ""));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1005);

  // Nothing after a close frame is read.
  events = read_all(client_frame(0x88, "\x03\xE8") + client_frame(0x81, "late"));
  ASSERT_EQ(events.size(), 1u);
}

struct Violation {
  std::string name;
  std::string bytes;
  std::uint16_t code;
};

TEST(WebSocketFrame, ViolationsEndReadingWithTheRightCloseCode) {
  std::string unmasked = client_frame(0x81, "x");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7F);
  const std::vector<Violation> cases = {
      {"reserved bit", client_frame(0xC1, "x"), 1002},
      {"unknown opcode", client_frame(0x83, "x"), 1002},
      {"unmasked", unmasked, 1002},
      {"fragmented ping", client_frame(0x09, "x"), 1002},
      {"long ping", client_frame(0x89, std::string(126, 'p')), 1002},
      {"stray continuation", client_frame(0x80, "x"), 1002},
      {"message inside a message", client_frame(0x01, "a") + client_frame(0x81, "b"), 1002},
      {"non-minimal 16-bit length", client_frame(0x81, "short", 1, 2), 1002},
      {"non-minimal 64-bit length", client_frame(0x81, std::string(300, 'a'), 1, 8), 1002},
      {"invalid UTF-8 text", client_frame(0x81, "\xC3\x28"), 1007},
      {"1-byte close", client_frame(0x88, "\x03"), 1002},
      {"invalid close code", client_frame(0x88, std::string("\x03\xEC", 2)), 1002},  // 1004 is reserved
      {"close reason not UTF-8", client_frame(0x88, std::string("\x03\xE8\xFF", 3)), 1007},
      {"too big", client_frame(0x82, std::string(101, 'b')), 1009},
      {"too big in fragments", client_frame(0x02, std::string(60, 'b')) + client_frame(0x80, std::string(60, 'b')),
       1009},
  };
  for (const auto& violation : cases) {
    const auto events = read_all(violation.bytes + client_frame(0x81, "after"), 100);
    ASSERT_FALSE(events.empty()) << violation.name;
    EXPECT_EQ(events.back().kind, Kind::error) << violation.name;
    EXPECT_EQ(events.back().code, violation.code) << violation.name;
    EXPECT_FALSE(events.back().payload.empty()) << violation.name;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) EXPECT_NE(events[i].kind, Kind::error) << violation.name;
  }
}

TEST(WebSocketFrame, AnOversizedFrameIsRefusedBeforeItsPayloadArrives) {
  // Only the header of a 1 GiB frame: refused at once, nothing buffered.
  std::string header = client_frame(0x82, "", 1, 8).substr(0, 2);
  header[1] = static_cast<char>(0x80 | 127);
  const std::uint64_t size = std::uint64_t(1) << 30;
  for (int i = 7; i >= 0; --i) header.push_back(static_cast<char>((size >> (8 * i)) & 0xFF));
  WebSocketFrameReader reader(1 << 20);
  std::vector<Event> events;
  reader.feed(header, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1009);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WebSocketFrame, AbandonLetsGoOfAPartialMessageAndIgnoresWhatFollows) {
  WebSocketFrameReader reader(1 << 20);
  std::vector<Event> events;
  const std::string first = client_frame(0x01, std::string(5000, 'a'));  // a text fragment, not final
  reader.feed(first, events);
  reader.feed(client_frame(0x80, std::string(3000, 'b')).substr(0, 1000), events);  // half of the next fragment
  EXPECT_TRUE(events.empty());
  EXPECT_GE(reader.buffered_bytes(), 6000u);
  reader.abandon();
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  reader.feed(client_frame(0x81, "hello"), events);
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(reader.done());
}

}  // namespace
}  // namespace backside::net
