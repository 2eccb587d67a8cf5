#pragma once
// Firebase key order (the SDK's "nameCompare") and string order by UTF-16 code units.
#include <string_view>

namespace backside::tree {

// Sentinels used by queries; they are not valid keys.
inline constexpr std::string_view kMinName = "[MIN_NAME]";
inline constexpr std::string_view kMaxName = "[MAX_NAME]";

// Compares two UTF-8 strings as JavaScript compares them (UTF-16 code units). <0, 0, >0.
int compare_utf16(std::string_view a, std::string_view b);

// Firebase key order: kMinName first, kMaxName last, integer-like keys (^-?0*\d{1,10}$ fitting int32) first,
// numerically, equal values shorter first; then the rest by compare_utf16. <0, 0, >0.
int compare_keys(std::string_view a, std::string_view b);

struct KeyLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return compare_keys(a, b) < 0; }
};

}  // namespace backside::tree
