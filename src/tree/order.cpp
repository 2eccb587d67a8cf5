#include "tree/order.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace backside::tree {
namespace {

// The value of an integer-like key (^-?0*\d{1,10}$ whose value fits in int32, as the SDK's tryParseInt), else
// nullopt. Cheap for ordinary keys: they fail on the first character.
std::optional<std::int64_t> integer_key_value(std::string_view key) {
  std::size_t i = 0;
  const bool negative = !key.empty() && key[0] == '-';
  if (negative) i = 1;
  if (i == key.size()) return std::nullopt;
  std::int64_t value = 0;
  std::size_t significant_digits = 0;
  for (; i < key.size(); ++i) {
    const char c = key[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (value != 0 || c != '0') {
      if (++significant_digits > 10) return std::nullopt;
      value = value * 10 + (c - '0');
    }
  }
  if (negative) value = -value;
  if (value < INT32_MIN || value > INT32_MAX) return std::nullopt;
  return value;
}

bool is_continuation_byte(unsigned char c) { return (c & 0xC0) == 0x80; }

// Lead bytes of U+E000..U+FFFF (0xEE, 0xEF) and of astral code points (0xF0..0xF4).
bool leads_high_bmp(unsigned char c) { return c == 0xEE || c == 0xEF; }
bool leads_astral(unsigned char c) { return c >= 0xF0; }

}  // namespace

int compare_utf16(std::string_view a, std::string_view b) {
  const auto [a_end, b_end] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  const auto i = static_cast<std::size_t>(a_end - a.begin());
  if (i == a.size() || i == b.size()) {
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  }
  const auto ac = static_cast<unsigned char>(*a_end);
  const auto bc = static_cast<unsigned char>(*b_end);
  if ((ac | bc) >= 0x80) {
    // UTF-8 byte order is code point order. UTF-16 differs only where an astral code point (a surrogate pair,
    // D800..DBFF first) meets U+E000..U+FFFF, so look at the lead bytes of the first differing characters.
    std::size_t start = i;
    while (start > 0 && is_continuation_byte(static_cast<unsigned char>(a[start]))) --start;
    const auto a_lead = static_cast<unsigned char>(a[start]);
    const auto b_lead = static_cast<unsigned char>(b[start]);
    if (leads_astral(a_lead) && leads_high_bmp(b_lead)) return -1;
    if (leads_high_bmp(a_lead) && leads_astral(b_lead)) return 1;
  }
  return ac < bc ? -1 : 1;
}

int compare_keys(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  if (a == kMinName || b == kMaxName) return -1;
  if (b == kMinName || a == kMaxName) return 1;
  const std::optional<std::int64_t> a_int = integer_key_value(a);
  const std::optional<std::int64_t> b_int = integer_key_value(b);
  if (a_int && b_int) {
    if (*a_int != *b_int) return *a_int < *b_int ? -1 : 1;
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    // Same value and length ("-0" vs "00"): the SDK calls them equal; order by text to stay a total order.
    return compare_utf16(a, b);
  }
  if (a_int) return -1;
  if (b_int) return 1;
  return compare_utf16(a, b);
}

}  // namespace backside::tree
