#include "proto/rest/write_size_limit.h"

#include <gtest/gtest.h>

#include <string>

namespace backside::proto::rest {
namespace {

constexpr std::size_t kMB = 1024 * 1024;

std::optional<std::size_t> Parsed(const std::string& text) {
  auto limit = parse_write_size_limit(text);
  EXPECT_TRUE(limit.ok()) << text << ": " << limit.error().message;
  return limit.ok() ? *limit : std::optional<std::size_t>(0);
}

TEST(WriteSizeLimit, TargetsBecomeBytesAtOneMegabytePerSecond) {
  EXPECT_EQ(Parsed("tiny"), 1 * kMB);
  EXPECT_EQ(Parsed("small"), 10 * kMB);
  EXPECT_EQ(Parsed("medium"), 30 * kMB);
  EXPECT_EQ(Parsed("large"), 60 * kMB);
  EXPECT_EQ(Parsed("unlimited"), std::nullopt);
}

TEST(WriteSizeLimit, AnythingElseIsRefusedNamingIt) {
  for (const std::string text : {"", "Tiny", "TINY", "huge", "1s", "tiny ", "1048576", "none"}) {
    auto limit = parse_write_size_limit(text);
    ASSERT_FALSE(limit.ok()) << text;
    EXPECT_EQ(limit.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(limit.error().message,
              "writeSizeLimit must be tiny, small, medium, large or unlimited, got \"" + text + "\"");
  }
}

}  // namespace
}  // namespace backside::proto::rest
