#include "proto/rest/read_timeout.h"

#include <gtest/gtest.h>

#include <string>

namespace backside::proto::rest {
namespace {

using std::chrono::milliseconds;

milliseconds Parsed(const std::string& text) {
  auto timeout = parse_read_timeout(text);
  EXPECT_TRUE(timeout.ok()) << text << ": " << timeout.error().message;
  if (!timeout.ok()) return milliseconds(-1);
  EXPECT_EQ(timeout->text, text);
  return timeout->duration;
}

void ExpectRefused(const std::string& text) {
  auto timeout = parse_read_timeout(text);
  ASSERT_FALSE(timeout.ok()) << text << " parsed as " << timeout->duration.count() << " ms";
  EXPECT_EQ(timeout.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(timeout.error().message.find("timeout must be a positive whole number followed by ms, s or min"),
            std::string::npos)
      << timeout.error().message;
  EXPECT_NE(timeout.error().message.find("\"" + text + "\""), std::string::npos) << timeout.error().message;
}

TEST(ReadTimeout, NumberAndUnit) {
  EXPECT_EQ(Parsed("1ms"), milliseconds(1));
  EXPECT_EQ(Parsed("500ms"), milliseconds(500));
  EXPECT_EQ(Parsed("1s"), milliseconds(1000));
  EXPECT_EQ(Parsed("3min"), milliseconds(180000));
  EXPECT_EQ(Parsed("007s"), milliseconds(7000));
}

TEST(ReadTimeout, FifteenMinutesIsTheMost) {
  EXPECT_EQ(Parsed("15min"), kMaxReadTimeout);
  EXPECT_EQ(Parsed("900s"), kMaxReadTimeout);
  EXPECT_EQ(Parsed("900000ms"), kMaxReadTimeout);
  ExpectRefused("16min");
  ExpectRefused("901s");
  ExpectRefused("900001ms");
  ExpectRefused("99999999999999999999999min");  // past any integer
}

TEST(ReadTimeout, NotPositive) {
  ExpectRefused("0ms");
  ExpectRefused("0s");
  ExpectRefused("-1s");
  ExpectRefused("+1s");
}

TEST(ReadTimeout, GarbageAndMissingUnits) {
  ExpectRefused("");
  ExpectRefused("3");
  ExpectRefused("s");
  ExpectRefused("ms");
  ExpectRefused("1.5s");
  ExpectRefused("3 s");
  ExpectRefused("3s ");
  ExpectRefused(" 3s");
  ExpectRefused("3S");
  ExpectRefused("3m");
  ExpectRefused("3h");
  ExpectRefused("3sec");
  ExpectRefused("3mins");
  ExpectRefused("abc");
}

TEST(ReadTimeout, TheExpiryNamesTheTimeoutAsGiven) {
  auto timeout = parse_read_timeout("1500ms");
  ASSERT_TRUE(timeout.ok());
  EXPECT_EQ(timeout->expired_message(), "The read did not finish within timeout=1500ms");
}

}  // namespace
}  // namespace backside::proto::rest
