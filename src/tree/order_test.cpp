#include "tree/order.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace backside::tree {
namespace {

int sign(int value) { return (value > 0) - (value < 0); }

TEST(CompareUtf16, AsciiIsByteOrder) {
  EXPECT_EQ(compare_utf16("a", "a"), 0);
  EXPECT_EQ(compare_utf16("", ""), 0);
  EXPECT_LT(compare_utf16("a", "b"), 0);
  EXPECT_GT(compare_utf16("b", "a"), 0);
  EXPECT_LT(compare_utf16("", "a"), 0);
  EXPECT_LT(compare_utf16("a", "ab"), 0);
  EXPECT_GT(compare_utf16("ab", "a"), 0);
  EXPECT_LT(compare_utf16("B", "a"), 0);
  EXPECT_LT(compare_utf16("-", "0"), 0);
  EXPECT_LT(compare_utf16("Z", "_"), 0);
}

TEST(CompareUtf16, BmpCharactersInCodePointOrder) {
  EXPECT_LT(compare_utf16("z", "\u00e9"), 0);       // ASCII before Latin-1
  EXPECT_LT(compare_utf16("\u00e9", "\u00ea"), 0);  // differ in the second byte of a 2-byte sequence
  EXPECT_LT(compare_utf16("\u00ff", "\u0100"), 0);  // 2-byte lead C3 vs C4
  EXPECT_LT(compare_utf16("\u07ff", "\u0800"), 0);  // 2-byte vs 3-byte
  EXPECT_LT(compare_utf16("\u4e00", "\ue000"), 0);
  EXPECT_LT(compare_utf16("\ue000", "\uffff"), 0);
  EXPECT_EQ(compare_utf16("x\u4e00y", "x\u4e00y"), 0);
}

TEST(CompareUtf16, AstralSortsBetweenD7FFAndE000) {
  // U+1F600 is the surrogate pair D83D DE00: after U+D7FF, before U+E000..U+FFFF (UTF-8 byte order differs).
  const std::string astral = "\U0001F600";
  EXPECT_LT(compare_utf16(astral, "\ue000"), 0);
  EXPECT_GT(compare_utf16("\ue000", astral), 0);
  EXPECT_LT(compare_utf16(astral, "\uffff"), 0);
  EXPECT_LT(compare_utf16(astral, "\uf8ff"), 0);
  EXPECT_GT(compare_utf16(astral, "\ud7ff"), 0);
  EXPECT_GT(compare_utf16(astral, "\u4e00"), 0);
  EXPECT_GT(compare_utf16(astral, "z"), 0);
  // Prefix shared, then the difference.
  EXPECT_LT(compare_utf16("ab\U00010000", "ab\uffff"), 0);
  EXPECT_GT(compare_utf16("ab\uefff", "ab\U0010FFFF"), 0);
  // Two astral characters: code point order.
  EXPECT_LT(compare_utf16("\U00010000", "\U0001F600"), 0);
  EXPECT_LT(compare_utf16("\U0001F600", "\U0001F601"), 0);
  EXPECT_LT(compare_utf16("\U0001F600", "\U0010FFFF"), 0);
  // The string ends before the astral character.
  EXPECT_LT(compare_utf16("a", "a\U0001F600"), 0);
}

TEST(CompareKeys, Sentinels) {
  EXPECT_EQ(compare_keys(kMinName, kMinName), 0);
  EXPECT_EQ(compare_keys(kMaxName, kMaxName), 0);
  EXPECT_LT(compare_keys(kMinName, kMaxName), 0);
  for (std::string_view key : {"-2147483648", "0", "a", "", "\U0001F600", "~~~"}) {
    EXPECT_LT(compare_keys(kMinName, key), 0) << key;
    EXPECT_GT(compare_keys(key, kMinName), 0) << key;
    EXPECT_LT(compare_keys(key, kMaxName), 0) << key;
    EXPECT_GT(compare_keys(kMaxName, key), 0) << key;
  }
}

TEST(CompareKeys, IntegerKeysNumericallyBeforeOthers) {
  EXPECT_LT(compare_keys("2", "10"), 0);
  EXPECT_LT(compare_keys("9", "10"), 0);
  EXPECT_LT(compare_keys("-10", "-9"), 0);
  EXPECT_LT(compare_keys("-1", "0"), 0);
  EXPECT_LT(compare_keys("100", "a"), 0);
  EXPECT_LT(compare_keys("2147483647", "-"), 0);
  EXPECT_GT(compare_keys("a", "99999"), 0);
  EXPECT_LT(compare_keys("-2147483648", "-2147483647"), 0);
}

TEST(CompareKeys, EqualValuesShorterFirst) {
  EXPECT_LT(compare_keys("7", "007"), 0);
  EXPECT_GT(compare_keys("007", "7"), 0);
  EXPECT_LT(compare_keys("07", "007"), 0);
  EXPECT_LT(compare_keys("0", "-0"), 0);
  EXPECT_LT(compare_keys("-7", "-07"), 0);
  // Same value and length: still a strict order, so a map never merges them.
  EXPECT_LT(compare_keys("-0", "00"), 0);
  EXPECT_GT(compare_keys("00", "-0"), 0);
  EXPECT_LT(compare_keys("007", "8"), 0);
}

TEST(CompareKeys, NotIntegerLike) {
  // Out of int32 range: compared as strings, after every integer-like key.
  EXPECT_GT(compare_keys("2147483648", "3"), 0);
  EXPECT_GT(compare_keys("-2147483649", "5"), 0);
  EXPECT_LT(compare_keys("2147483648", "3a"), 0);  // as strings: '2' < '3'
  EXPECT_GT(compare_keys("12345678901", "2"), 0);
  EXPECT_LT(compare_keys("00000000000000000001", "2"), 0);  // leading zeros do not count: value 1
  EXPECT_LT(compare_keys("01234567890", "a"), 0);           // 10 significant digits, fits
  EXPECT_GT(compare_keys("1.5", "2"), 0);
  EXPECT_GT(compare_keys("+1", "2"), 0);
  EXPECT_GT(compare_keys(" 1", "2"), 0);
  EXPECT_GT(compare_keys("1 ", "2"), 0);
  EXPECT_GT(compare_keys("-", "0"), 0);
  EXPECT_GT(compare_keys("--1", "0"), 0);
  EXPECT_GT(compare_keys("1e3", "5"), 0);
  EXPECT_LT(compare_keys("-", "a"), 0);  // both strings
}

TEST(CompareKeys, StringsInUtf16Order) {
  EXPECT_LT(compare_keys("a", "b"), 0);
  EXPECT_LT(compare_keys("A", "a"), 0);
  EXPECT_LT(compare_keys("\U0001F600", "\uffee"), 0);
  EXPECT_LT(compare_keys("-Nabc", "-Nabd"), 0);
}

TEST(CompareKeys, SortsLikeTheSdk) {
  std::vector<std::string> keys = {"b", "\uffee", "2147483648", "-1", "a",  "007", "10",         "\U0001F600",
                                   "7", "-",      "0",          "A",  "-0", "1.5", "2147483647", "-2147483648"};
  std::sort(keys.begin(), keys.end(), KeyLess{});
  const std::vector<std::string> expected = {"-2147483648", "-1",         "0",          "-0",    "7",          "007",
                                             "10",          "2147483647", "-",          "1.5",   "2147483648", "A",
                                             "a",           "b",          "\U0001F600", "\uffee"};
  EXPECT_EQ(keys, expected);
}

TEST(CompareKeys, IsATotalOrder) {
  const std::vector<std::string> keys = {"",
                                         "0",
                                         "00",
                                         "-0",
                                         "1",
                                         "01",
                                         "-1",
                                         "a",
                                         "-",
                                         "10",
                                         "9",
                                         "1.0",
                                         "2147483647",
                                         "2147483648",
                                         "~",
                                         "\u00e9",
                                         "\ue000",
                                         "\U0001F600",
                                         std::string(kMinName),
                                         std::string(kMaxName)};
  for (const std::string& a : keys) {
    for (const std::string& b : keys) {
      const int ab = sign(compare_keys(a, b));
      EXPECT_EQ(ab, -sign(compare_keys(b, a))) << a << " vs " << b;
      EXPECT_EQ(ab == 0, a == b) << a << " vs " << b;
      for (const std::string& c : keys) {
        if (ab < 0 && compare_keys(b, c) < 0) {
          EXPECT_LT(compare_keys(a, c), 0) << a << " < " << b << " < " << c;
        }
      }
    }
  }
}

TEST(KeyLess, TransparentLookup) {
  EXPECT_TRUE(KeyLess{}("2", "10"));
  EXPECT_FALSE(KeyLess{}("10", "2"));
  EXPECT_FALSE(KeyLess{}("x", "x"));
}

}  // namespace
}  // namespace backside::tree
