#include "util/excerpt.h"

#include <gtest/gtest.h>

namespace backside {
namespace {

TEST(Excerpt, ShortTextIsKeptWhole) {
  EXPECT_EQ(excerpt("abc", 3), "abc");
  EXPECT_EQ(excerpt("", 0), "");
}

TEST(Excerpt, LongTextIsCutAndSaysHowLongItWas) {
  EXPECT_EQ(excerpt(std::string(1000, 'k'), 4), "kkkk... (1000 bytes)");
}

TEST(Excerpt, NeverCutsInsideAUtf8Character) {
  const std::string text = "ab\xC3\xA9" "cd";  // "abécd": é is two bytes at offsets 2 and 3
  EXPECT_EQ(excerpt(text, 3), "ab... (6 bytes)");
  EXPECT_EQ(excerpt(text, 4), "ab\xC3\xA9... (6 bytes)");
}

}  // namespace
}  // namespace backside
