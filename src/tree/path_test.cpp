#include "tree/path.h"

#include <string>

#include "gtest/gtest.h"

namespace backside::tree {
namespace {

Path P(std::string_view text) { return Path::parse(text).value(); }

TEST(KeyError, ValidKeys) {
  for (std::string_view key : {"a", "abc", "-Nabc_xyz", "0", "-1", "with space", "\u00e9t\u00e9", "\U0001F600",
                               "~!@%^&*()=+{}|;:'\",<>?`\\", "a-b_c"}) {
    EXPECT_EQ(key_error(key), "") << key;
    EXPECT_TRUE(is_valid_key(key));
  }
  EXPECT_TRUE(is_valid_key(std::string(768, 'k')));
}

TEST(KeyError, EachForbiddenCharacter) {
  for (std::string_view key : {"a.b", "a$b", "a#b", "a[b", "a]b", "a/b", ".priority", ".value", "."}) {
    const std::string error = key_error(key);
    EXPECT_NE(error, "") << key;
    EXPECT_NE(error.find("\"" + std::string(key) + "\""), std::string::npos) << error;  // names the key
  }
  EXPECT_EQ(key_error("a.b"),
            "Invalid key \"a.b\": keys must be non-empty, at most 768 bytes of valid UTF-8, and must not contain "
            ". $ # [ ] / or control characters");
}

TEST(KeyError, ControlCharacters) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string key = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_FALSE(is_valid_key(key)) << c;
  }
  EXPECT_FALSE(is_valid_key("a\x7f"));
  // The message escapes the control character instead of embedding it.
  EXPECT_NE(key_error(std::string("a\nb")).find("\"a\\x0ab\""), std::string::npos) << key_error("a\nb");
}

TEST(KeyError, EmptyTooLongAndInvalidUtf8) {
  EXPECT_EQ(key_error(""),
            "Invalid key \"\": keys must be non-empty, at most 768 bytes of valid UTF-8, and must not contain "
            ". $ # [ ] / or control characters");
  const std::string error = key_error(std::string(769, 'k'));
  EXPECT_NE(error, "");
  EXPECT_LT(error.size(), 300u);  // the key is shortened in the message
  EXPECT_NE(error.find("kkk...\""), std::string::npos);
  EXPECT_FALSE(is_valid_key("\xff"));
  EXPECT_FALSE(is_valid_key("a\xc3"));             // truncated sequence
  EXPECT_FALSE(is_valid_key("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_key("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_key("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_TRUE(is_valid_key("\xf4\x8f\xbf\xbf"));   // U+10FFFF
}

TEST(Path, Parse) {
  EXPECT_TRUE(P("").empty());
  EXPECT_TRUE(P("/").empty());
  EXPECT_TRUE(P("//").empty());
  EXPECT_EQ(P("/a/b").segments(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(P("a/b/"), P("/a/b"));
  EXPECT_EQ(P("//a///b//"), P("a/b"));
  EXPECT_EQ(P("/a/b").size(), 2u);
  EXPECT_EQ(P("/a/b")[0], "a");
  EXPECT_EQ(P("/a/b").back(), "b");
}

TEST(Path, ParseErrors) {
  const Result<Path> bad_key = Path::parse("/a/b.c/d");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(bad_key.error().message.find("\"b.c\""), std::string::npos);
  EXPECT_FALSE(Path::parse("/a/.priority").ok());
  EXPECT_FALSE(Path::parse("/a/[x]").ok());

  std::string deep;
  for (std::size_t i = 0; i < kMaxDepth; ++i) deep += "/k";
  EXPECT_TRUE(Path::parse(deep).ok());
  const Result<Path> too_deep = Path::parse(deep + "/k");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().message, "Path too deep: more than 32 levels");
}

TEST(Path, ToString) {
  EXPECT_EQ(Path().to_string(), "/");
  EXPECT_EQ(P("a/b").to_string(), "/a/b");
  EXPECT_EQ(P("/x").to_string(), "/x");
}

TEST(Path, ChildAndParent) {
  EXPECT_EQ(P("/a").child("b"), P("/a/b"));
  EXPECT_EQ(Path().child("b"), P("/b"));
  EXPECT_EQ(P("/a").child(P("b/c")), P("/a/b/c"));
  EXPECT_EQ(P("/a").child(Path()), P("/a"));
  EXPECT_EQ(P("/a/b").parent(), P("/a"));
  EXPECT_EQ(P("/a").parent(), Path());
  EXPECT_EQ(Path().parent(), Path());
}

TEST(Path, IsPrefixOf) {
  EXPECT_TRUE(Path().is_prefix_of(P("/a/b")));
  EXPECT_TRUE(Path().is_prefix_of(Path()));
  EXPECT_TRUE(P("/a").is_prefix_of(P("/a/b")));
  EXPECT_TRUE(P("/a/b").is_prefix_of(P("/a/b")));
  EXPECT_FALSE(P("/a/b").is_prefix_of(P("/a")));
  EXPECT_FALSE(P("/a").is_prefix_of(P("/ab")));
  EXPECT_FALSE(P("/a/c").is_prefix_of(P("/a/b/c")));
  EXPECT_FALSE(P("/a").is_prefix_of(Path()));
}

TEST(Path, RelativeTo) {
  EXPECT_EQ(P("/a/b/c").relative_to(P("/a")), P("b/c"));
  EXPECT_EQ(P("/a/b").relative_to(Path()), P("a/b"));
  EXPECT_EQ(P("/a/b").relative_to(P("/a/b")), Path());
}

}  // namespace
}  // namespace backside::tree
