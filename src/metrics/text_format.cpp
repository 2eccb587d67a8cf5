#include "metrics/text_format.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace backside::metrics {

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // 2^53: below it every integer is exact in a double and prints without an exponent.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    const auto integer = static_cast<std::int64_t>(value);
    std::array<char, 24> digits;
    auto end = std::to_chars(digits.data(), digits.data() + digits.size(), integer).ptr;
    out.append(digits.data(), end);
    return;
  }
  // The shortest digits that read back exactly, laid out as Go's strconv 'g' does (what Prometheus's own clients
  // write): an exponent only below 1e-4 or from 1e21 on, so bucket bounds read 0.0001, 0.25, 2.5.
  std::array<char, 400> digits;  // fixed notation of a large double can take over 300 characters
  auto scientific = std::to_chars(digits.data(), digits.data() + digits.size(), value, std::chars_format::scientific);
  const std::string_view text(digits.data(), static_cast<std::size_t>(scientific.ptr - digits.data()));
  int exponent = 0;
  const std::string_view exponent_text = text.substr(text.find('e') + 1);
  std::from_chars(exponent_text.data() + (exponent_text.front() == '+' ? 1 : 0),
                  exponent_text.data() + exponent_text.size(), exponent);
  if (exponent < -4 || exponent >= 21) {
    out.append(text);
    return;
  }
  auto fixed = std::to_chars(digits.data(), digits.data() + digits.size(), value, std::chars_format::fixed);
  out.append(digits.data(), fixed.ptr);
}

void append_value(std::string& out, std::uint64_t value) {
  std::array<char, 24> digits;
  auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

namespace {

bool valid_name(std::string_view name, bool colons) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false) && !name.starts_with("__"); }

}  // namespace backside::metrics
