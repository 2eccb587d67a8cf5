#pragma once
// `--log-format json`: each log line is one JSON object, for log collectors that parse rather than grep:
//   {"time":"2025-01-31T12:00:00.123Z","level":"info","message":"backside listening on ..."}
// time in UTC with milliseconds (RFC 3339), level as log_level spells it (trace, debug, info, warn, error,
// critical). The message is escaped as a JSON string; bytes that are not UTF-8 (a client's bytes quoted in a
// message) become U+FFFD, so every line parses with a strict parser.
#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace backside::app {

class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// `text` as a JSON string, quotes included, invalid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace backside::app
