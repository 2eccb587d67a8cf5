#include "util/base64.h"

#include <string>

#include "gtest/gtest.h"

namespace backside {
namespace {

std::string decoded(std::string_view text, std::string_view padding = "=") {
  auto out = base64_decode(text, padding);
  return out ? *out : "<invalid>";
}

TEST(Base64, EncodesUrlSafeWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_") << "the URL-safe alphabet";
  EXPECT_EQ(base64url_encode(std::string("\0\0", 2)), "AAA");
}

TEST(Base64, DecodesEitherAlphabetPaddedOrNot) {
  EXPECT_EQ(decoded(""), "");
  EXPECT_EQ(decoded("=="), "");
  EXPECT_EQ(decoded("Zm9vYg"), "foob");
  EXPECT_EQ(decoded("Zm9vYg=="), "foob");
  EXPECT_EQ(decoded("Zm9vYg="), "foob") << "padding is not counted";
  EXPECT_EQ(decoded("Zm9vYmE"), "fooba");
  EXPECT_EQ(decoded("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(decoded("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(decoded("Zm9vYg.."), "<invalid>") << "'.' is padding only when asked for";
  EXPECT_EQ(decoded("Zm9vYg..", ".="), "foob") << "the Firebase SDK's long-poll padding";
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes += static_cast<char>(c);
  EXPECT_EQ(decoded(base64url_encode(bytes)), bytes);
}

TEST(Base64, RefusesInvalidInput) {
  for (std::string_view bad : {
           "Zm9v!",      // not in either alphabet
           "Zm 9v",      // no whitespace
           "Zm9=vYg",    // padding inside
           "-_+/",       // the two alphabets mixed
           "Zm9vY",      // one character left over: no whole byte
           "Zh",         // stray bits in the last character ("Zg" is "f")
       }) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)).has_value());
}

}  // namespace
}  // namespace backside
