#include "app/json_log_formatter.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>

namespace backside::app {
namespace {

std::string formatted(spdlog::level::level_enum level, std::string_view text,
                      std::chrono::system_clock::time_point time) {
  spdlog::details::log_msg message(time, spdlog::source_loc{}, "backside", level,
                                   spdlog::string_view_t(text.data(), text.size()));
  JsonLogFormatter formatter;
  spdlog::memory_buf_t out;
  formatter.format(message, out);
  return std::string(out.data(), out.size());
}

TEST(JsonLogFormatter, WritesOneObjectPerLine) {
  // 2025-01-31T12:34:56.007Z
  const auto time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1738326896007));
  EXPECT_EQ(formatted(spdlog::level::warn, "disk \"full\"", time),
            "{\"time\":\"2025-01-31T12:34:56.007Z\",\"level\":\"warn\",\"message\":\"disk \\\"full\\\"\"}\n");
  EXPECT_EQ(formatted(spdlog::level::err, "x", time),
            "{\"time\":\"2025-01-31T12:34:56.007Z\",\"level\":\"error\",\"message\":\"x\"}\n");
}

TEST(JsonLogFormatter, EveryLineParsesWhateverTheMessageHolds) {
  const std::string nasty = std::string("line\nbreak\ttab \x01 \\ back \xC3\xA9 \xFF\xFE bad \xE2\x82 cut ") +
                            "\xED\xA0\x80 surrogate \xF0\x9F\x98\x80 emoji" + std::string(1, '\0');
  const std::string line = formatted(spdlog::level::info, nasty, std::chrono::system_clock::now());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  const std::string message(value.as_object().at("message").as_string());
  EXPECT_NE(message.find("line\nbreak\ttab \x01 \\ back \xC3\xA9 "), std::string::npos);
  EXPECT_NE(message.find("\xEF\xBF\xBD\xEF\xBF\xBD bad "), std::string::npos);  // each bad byte replaced
  EXPECT_NE(message.find("\xF0\x9F\x98\x80 emoji"), std::string::npos);          // valid 4-byte kept
  EXPECT_EQ(message.find("\xED\xA0\x80"), std::string::npos);                    // a surrogate is not UTF-8
  EXPECT_EQ(message.back(), '\0');
}

TEST(JsonLogFormatter, EscapesControlCharactersAsJsonDoes) {
  std::string out;
  append_json_string(out, std::string_view("\x1f\x7f", 2));
  EXPECT_EQ(out, "\"\\u001f\\u007f\"");
}

}  // namespace
}  // namespace backside::app
