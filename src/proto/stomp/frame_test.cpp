#include "proto/stomp/frame.h"

#include <gtest/gtest.h>

namespace backside::proto::stomp {
namespace {

using namespace std::string_literals;

std::vector<Frame> decode_all(Decoder& decoder, std::string_view data) {
  std::vector<Frame> frames;
  auto status = decoder.feed(data, frames);
  EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message);
  return frames;
}

TEST(StompFrame, DecodesASimpleFrame) {
  Decoder d;
  auto frames = decode_all(d, "SEND\ndestination:/a/b\n\n\"x\"\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].command, "SEND");
  ASSERT_NE(frames[0].header("destination"), nullptr);
  EXPECT_EQ(*frames[0].header("destination"), "/a/b");
  EXPECT_EQ(frames[0].body, "\"x\"");
}

TEST(StompFrame, AcceptsCrLfLineEndings) {
  Decoder d;
  auto frames = decode_all(d, "SEND\r\ndestination:/a\r\nfoo:bar\r\n\r\nbody\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0].header("destination"), "/a");
  EXPECT_EQ(*frames[0].header("foo"), "bar");
  EXPECT_EQ(frames[0].body, "body");
}

TEST(StompFrame, RepeatedHeadersFirstWins) {
  Decoder d;
  auto frames = decode_all(d, "SEND\nfoo:1\nfoo:2\n\n\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0].header("foo"), "1");
  EXPECT_EQ(frames[0].headers.size(), 2u);
}

TEST(StompFrame, UnescapesHeadersExceptInConnect) {
  Decoder d;
  auto frames = decode_all(d, "SEND\na\\cb:c\\\\d\\ne\\rf\n\n\0CONNECT\nhost:a\\cb\n\n\0"s);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(*frames[0].header("a:b"), "c\\d\ne\rf");
  EXPECT_EQ(*frames[1].header("host"), "a\\cb");
}

TEST(StompFrame, HeaderValueMayContainRawColon) {
  Decoder d;
  auto frames = decode_all(d, "CONNECT\nhost:a:b\n\n\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0].header("host"), "a:b");
}

TEST(StompFrame, UndefinedEscapeIsAnError) {
  Decoder d;
  std::vector<Frame> frames;
  EXPECT_FALSE(d.feed("SEND\nfoo:a\\tb\n\n\0"s, frames).ok());
  EXPECT_FALSE(d.feed("SEND\n\n\0"s, frames).ok());  // broken for good
}

TEST(StompFrame, Version10DoesNotUnescape) {
  Decoder d;
  d.set_version(Version::v1_0);
  auto frames = decode_all(d, "SEND\nfoo:a\\tb\n\n\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0].header("foo"), "a\\tb");
}

TEST(StompFrame, ContentLengthBodyMayHoldNul) {
  Decoder d;
  auto frames = decode_all(d, "SEND\ncontent-length:3\n\na\0b\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].body, "a\0b"s);
}

TEST(StompFrame, ContentLengthMustBeFollowedByNul) {
  Decoder d;
  std::vector<Frame> frames;
  EXPECT_FALSE(d.feed("SEND\ncontent-length:1\n\nab\0"s, frames).ok());
}

TEST(StompFrame, BadContentLength) {
  for (auto bad : {"x", "-1", "", "1 "}) {
    Decoder d;
    std::vector<Frame> frames;
    EXPECT_FALSE(d.feed("SEND\ncontent-length:"s + bad + "\n\n\0"s, frames).ok()) << bad;
  }
}

TEST(StompFrame, HeartBeatsBetweenFrames) {
  Decoder d;
  auto frames = decode_all(d, "\n\r\n\nSEND\n\n\0\n\nSEND\n\n\0\r\n"s);
  EXPECT_EQ(frames.size(), 2u);
  EXPECT_EQ(d.heartbeats(), 6u);
  EXPECT_TRUE(d.take_activity());
  EXPECT_FALSE(d.take_activity());
}

TEST(StompFrame, BareCrIsAnError) {
  Decoder d;
  std::vector<Frame> frames;
  EXPECT_FALSE(d.feed("\rX"s, frames).ok());
}

TEST(StompFrame, ByteAtATime) {
  std::string wire = "SEND\r\ndestination:/x\r\ncontent-length:4\r\n\r\na\0bc\0\nMESSAGE\nk:v\n\nhello\0"s;
  Decoder d;
  std::vector<Frame> frames;
  for (char c : wire) ASSERT_TRUE(d.feed(std::string_view(&c, 1), frames).ok());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].body, "a\0bc"s);
  EXPECT_EQ(*frames[0].header("destination"), "/x");
  EXPECT_EQ(frames[1].command, "MESSAGE");
  EXPECT_EQ(frames[1].body, "hello");
  EXPECT_EQ(d.heartbeats(), 1u);
  EXPECT_FALSE(d.in_frame());
}

TEST(StompFrame, HeaderBlockLimit) {
  Limits limits;
  limits.max_header_block_bytes = 64;
  Decoder d(limits);
  std::vector<Frame> frames;
  auto status = d.feed("SEND\nfoo:" + std::string(100, 'x'), frames);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::too_large);
}

TEST(StompFrame, HeaderCountLimit) {
  Limits limits;
  limits.max_headers = 3;
  Decoder d(limits);
  std::vector<Frame> frames;
  EXPECT_TRUE(d.feed("SEND\na:1\nb:2\nc:3\n\n\0"s, frames).ok());
  EXPECT_FALSE(d.feed("SEND\na:1\nb:2\nc:3\nd:4\n\n\0"s, frames).ok());
}

TEST(StompFrame, BodyLimit) {
  Limits limits;
  limits.max_body_bytes = 8;
  {
    Decoder d(limits);
    std::vector<Frame> frames;
    EXPECT_FALSE(d.feed("SEND\ncontent-length:9\n\n"s, frames).ok());
  }
  {
    Decoder d(limits);
    std::vector<Frame> frames;
    EXPECT_FALSE(d.feed("SEND\n\n" + std::string(9, 'x'), frames).ok());
  }
  {
    Decoder d(limits);
    std::vector<Frame> frames;
    EXPECT_TRUE(d.feed("SEND\n\n" + std::string(8, 'x') + "\0"s, frames).ok());
    EXPECT_EQ(frames.size(), 1u);
  }
}

TEST(StompFrame, MalformedHeaderLines) {
  for (auto bad : {"SEND\nnocolon\n\n\0"s, "SEND\n:value\n\n\0"s, "SEND\nna\0me:v\n\n\0"s, "SEND\nid:a\0b\n\n\0"s,
                   "CONNECT\nlogin:a\0b\n\n\0"s}) {
    Decoder d;
    std::vector<Frame> frames;
    EXPECT_FALSE(d.feed(bad, frames).ok()) << bad;
  }
}

TEST(StompFrame, EncodeEscapesAndRoundTrips) {
  Frame f;
  f.command = "MESSAGE";
  f.add("path", "a:b\nc\\d\re").add("event", "put");
  f.body = "{\"x\":1}";
  std::string wire = encode(f, Version::v1_2);
  EXPECT_EQ(wire, "MESSAGE\npath:a\\cb\\nc\\\\d\\re\nevent:put\ncontent-length:7\n\n{\"x\":1}\0"s);
  Decoder d;
  auto frames = decode_all(d, wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0].header("path"), "a:b\nc\\d\re");
  EXPECT_EQ(frames[0].body, f.body);
}

TEST(StompFrame, EncodeConnectedIsNotEscaped) {
  Frame f;
  f.command = "CONNECTED";
  f.add("server", "backside/0.1:x");
  EXPECT_EQ(encode(f, Version::v1_2, false), "CONNECTED\nserver:backside/0.1:x\n\n\0"s);
}

TEST(StompFrame, EncodeVersion11DoesNotEscapeCr) {
  EXPECT_EQ(escape_header("a\rb:", Version::v1_1), "a\rb\\c");
}

// Header values carry client text; what cannot be escaped must not be able to end a line or the frame.
TEST(StompFrame, EncodeNeverWritesARawNulOrLineBreakInAHeader) {
  EXPECT_EQ(escape_header("a\r\nb:c", Version::v1_0), "a  b:c");
  EXPECT_EQ(escape_header("a\0b"s, Version::v1_0), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(escape_header("a\0b\n"s, Version::v1_2), "a\xEF\xBF\xBD" "b\\n");
  EXPECT_EQ(escape_header("a\0b"s, Version::v1_1), "a\xEF\xBF\xBD" "b");
  Frame f;
  f.command = "CONNECTED";
  f.add("server", "x\nMESSAGE\0"s);
  EXPECT_EQ(encode(f, Version::v1_2, false), "CONNECTED\nserver:x MESSAGE\xEF\xBF\xBD\n\n\0"s);
  Frame m;
  m.command = "ERROR";
  m.add("message", "bad \"k\nreceipt-id:1\0\"\n"s);
  const std::string wire = encode(m, Version::v1_0, false);
  EXPECT_EQ(wire, "ERROR\nmessage:bad \"k receipt-id:1\xEF\xBF\xBD\" \n\n\0"s);
}

TEST(StompFrame, EncodeAddsContentLengthForNulBodies) {
  Frame f;
  f.command = "MESSAGE";
  f.body = "a\0b"s;
  EXPECT_EQ(encode(f, Version::v1_2, false), "MESSAGE\ncontent-length:3\n\na\0b\0"s);
}

TEST(StompFrame, BufferedBytesFollowAPartialFrameAndAreGivenBackAfterALargeOne) {
  // What a session charges to the memory budget: the partial frame held, and little once it is complete.
  Decoder d;
  const std::string body(1 << 20, 'b');
  const std::string frame = "SEND\ndestination:/a\ncontent-length:" + std::to_string(body.size()) + "\n\n" + body;
  EXPECT_TRUE(decode_all(d, frame.substr(0, 600000)).empty());
  EXPECT_GE(d.buffered_bytes(), 600000u);
  auto frames = decode_all(d, frame.substr(600000) + "\0"s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].body.size(), body.size());
  EXPECT_LT(d.buffered_bytes(), 64u * 1024);
  EXPECT_TRUE(decode_all(d, "SEND\ndestination:/a\n\npartial").empty());
  d.abandon();
  EXPECT_EQ(d.buffered_bytes(), std::string().capacity());
  std::vector<Frame> out;
  EXPECT_FALSE(d.feed("\0"s, out).ok());  // abandoned: no more frames
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace backside::proto::stomp
