#include "proto/firebase/frame_codec.h"

#include <gtest/gtest.h>

namespace backside::proto::firebase {
namespace {

std::shared_ptr<const std::string> text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

std::string join(const std::vector<std::shared_ptr<const std::string>>& frames, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < frames.size(); ++i) out += *frames[i];
  return out;
}

bool valid_utf8_boundaries(const std::string& piece) {
  if (piece.empty()) return true;
  auto first = static_cast<unsigned char>(piece.front());
  if ((first & 0xC0) == 0x80) return false;  // starts inside a character
  // ends with a complete character: walk back to the last lead byte and check the sequence length
  std::size_t i = piece.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(piece[i]) & 0xC0) == 0x80) --i;
  auto lead = static_cast<unsigned char>(piece[i]);
  std::size_t need = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : 4;
  return piece.size() - i == need;
}

TEST(FrameCodec, SmallMessageIsOneFrameSharedNotCopied) {
  auto message = text(R"({"t":"d","d":{"r":1,"b":{"s":"ok","d":""}}})");
  auto frames = split_message(message);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].get(), message.get());
}

TEST(FrameCodec, MessageOfExactlyTheLimitIsNotSplit) {
  auto frames = split_message(text("{" + std::string(kMaxFrameBytes - 2, 'x') + "}"));
  EXPECT_EQ(frames.size(), 1u);
}

TEST(FrameCodec, LargeMessageIsCountThenPieces) {
  std::string body = "{\"d\":\"" + std::string(40000, 'a') + "\"}";
  auto frames = split_message(text(body));
  ASSERT_EQ(frames.size(), 4u);  // count + 3 pieces (16384 + 16384 + 7240)
  EXPECT_EQ(*frames[0], "3");
  EXPECT_EQ(frames[1]->size(), kMaxFrameBytes);
  EXPECT_EQ(frames[2]->size(), kMaxFrameBytes);
  EXPECT_EQ(join(frames, 1), body);
  EXPECT_EQ(frames.back()->back(), '}');
}

TEST(FrameCodec, SplitsOnlyOnUtf8CharacterBoundaries) {
  // "é" is 2 bytes, "€" 3 bytes, "𝄞" 4 bytes: with an odd prefix every boundary falls inside some character.
  for (std::size_t prefix = 0; prefix < 4; ++prefix) {
    std::string body = "{\"d\":\"" + std::string(prefix, 'p');
    for (int i = 0; i < 9000; ++i) body += (i % 3 == 0) ? "é" : (i % 3 == 1) ? "€" : "𝄞";
    body += "\"}";
    auto frames = split_message(text(body));
    ASSERT_GT(frames.size(), 2u);
    EXPECT_EQ(std::stoul(*frames[0]), frames.size() - 1);
    for (std::size_t i = 1; i < frames.size(); ++i) {
      EXPECT_LE(frames[i]->size(), kMaxFrameBytes);
      EXPECT_GE(frames[i]->size() + 3, i + 1 < frames.size() ? kMaxFrameBytes : 0u);
      EXPECT_TRUE(valid_utf8_boundaries(*frames[i])) << "piece " << i << " prefix " << prefix;
    }
    EXPECT_EQ(join(frames, 1), body);
  }
}

TEST(FrameCodec, DecoderPassesWholeMessagesThrough) {
  FrameDecoder decoder(1 << 20);
  auto out = decoder.feed(R"({"t":"c","d":{"t":"p","d":{}}})");
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ(**out, R"({"t":"c","d":{"t":"p","d":{}}})");
}

TEST(FrameDecoder, ZeroIsAKeepaliveAndProducesNothing) {
  FrameDecoder decoder(1 << 20);
  auto out = decoder.feed("0");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->has_value());
  EXPECT_FALSE(decoder.in_message());
}

TEST(FrameDecoder, ReassemblesCountedPieces) {
  FrameDecoder decoder(1 << 20);
  std::string body = "{\"t\":\"d\",\"d\":{\"r\":45,\"a\":\"p\",\"b\":{\"p\":\"/q/big\",\"d\":\"" +
                     std::string(20000, 'x') + "\"}}}";
  auto frames = split_message(text(body));
  ASSERT_EQ(frames.size(), 3u);
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    auto out = decoder.feed(std::string(*frames[i]));
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->has_value());
    EXPECT_TRUE(decoder.in_message());
  }
  auto out = decoder.feed(std::string(*frames.back()));
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ(**out, body);
  EXPECT_FALSE(decoder.in_message());
  // A digit-only piece inside a message is data, not a new count.
  ASSERT_TRUE(decoder.feed("2"));
  ASSERT_TRUE(decoder.feed("12"));
  auto digits = decoder.feed("34");
  ASSERT_TRUE(digits && digits->has_value());
  EXPECT_EQ(**digits, "1234");
}

TEST(FrameDecoder, RejectsMessagesOverTheLimitAndRecovers) {
  FrameDecoder decoder(100);
  ASSERT_TRUE(decoder.feed("3"));
  ASSERT_TRUE(decoder.feed(std::string(60, 'a')));
  auto over = decoder.feed(std::string(60, 'b'));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::too_large);
  EXPECT_FALSE(decoder.in_message());
  auto whole = decoder.feed(std::string(101, 'c'));
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, ErrorCode::too_large);
  auto fine = decoder.feed("{}");
  ASSERT_TRUE(fine && fine->has_value());
  EXPECT_EQ(**fine, "{}");
}

TEST(FrameDecoder, LongDigitStringsAreMessagesNotCounts) {
  FrameDecoder decoder(1 << 20);
  auto out = decoder.feed("1234567");  // 7 characters: not a count (and not valid JSON either, for the caller)
  ASSERT_TRUE(out && out->has_value());
  EXPECT_EQ(**out, "1234567");
}

}  // namespace
}  // namespace backside::proto::firebase
