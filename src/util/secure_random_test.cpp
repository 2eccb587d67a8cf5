#include "util/secure_random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace backside {
namespace {

TEST(SecureRandom, StringsUseOnlyTheAlphabetEvenlyAndDoNotRepeat) {
  constexpr std::string_view kAlphabet = "abc";
  std::array<int, 3> counts{};
  const std::string drawn = secure_random_string(30000, kAlphabet);
  ASSERT_EQ(drawn.size(), 30000u);
  for (char c : drawn) {
    ASSERT_NE(kAlphabet.find(c), std::string_view::npos) << c;
    ++counts[static_cast<std::size_t>(c - 'a')];
  }
  // Each ~10,000; a biased pick (say modulo of a small range) or a stuck generator would be far off.
  for (int count : counts) EXPECT_NEAR(count, 10000, 600);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(secure_random_string(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(SecureRandom, BytesFillTheWholeBuffer) {
  std::array<unsigned char, 64> a{}, b{};
  secure_random_bytes(a.data(), a.size());
  secure_random_bytes(b.data(), b.size());
  EXPECT_NE(a, b);
  int zeros = 0;
  for (unsigned char byte : a) zeros += byte == 0 ? 1 : 0;
  EXPECT_LT(zeros, 8);
}

}  // namespace
}  // namespace backside
