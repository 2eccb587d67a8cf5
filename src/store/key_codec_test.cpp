#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"

namespace backside::store {
namespace {

using tree::Path;

Path path(std::vector<std::string> segments) { return Path(std::move(segments)); }

TEST(KeyCodec, RootIsTheEmptyKey) {
  EXPECT_EQ(encode_path(Path()), "");
  EXPECT_TRUE(decode_path("").empty());
}

TEST(KeyCodec, EachSegmentIsFollowedByAZeroByte) {
  EXPECT_EQ(encode_path(path({"a"})), std::string("a\0", 2));
  EXPECT_EQ(encode_path(path({"a", "b"})), std::string("a\0b\0", 4));
  EXPECT_EQ(encode_path(path({"users", "42", "name"})), std::string("users\0" "42\0name\0", 14));
}

TEST(KeyCodec, RoundTrips) {
  const std::vector<Path> paths = {
      Path(),
      path({"a"}),
      path({"a", "b", "c"}),
      path({"-1", "0", "007", "2147483648"}),
      path({"ключ", "é", "😀", "中文"}),
      path({"with space", "dash-and_underscore", "~tilde"}),
      path({std::string(768, 'k'), "x"}),
  };
  for (const Path& p : paths) {
    EXPECT_EQ(decode_path(encode_path(p)), p) << p.to_string();
  }
}

TEST(KeyCodec, SubtreeKeysShareTheEncodedPathAsPrefix) {
  const std::string a = encode_path(path({"a"}));
  EXPECT_TRUE(encode_path(path({"a"})).starts_with(a));
  EXPECT_TRUE(encode_path(path({"a", "b"})).starts_with(a));
  EXPECT_TRUE(encode_path(path({"a", "b", "c"})).starts_with(a));
  // A sibling whose name extends "a" is not inside /a, and /a is not inside it.
  EXPECT_FALSE(encode_path(path({"ab"})).starts_with(a));
  EXPECT_FALSE(encode_path(path({"ab", "c"})).starts_with(a));
  EXPECT_FALSE(a.starts_with(encode_path(path({"ab"}))));
  // Every key is inside the root's range.
  EXPECT_TRUE(encode_path(path({"z"})).starts_with(encode_path(Path())));
}

TEST(KeyCodec, SubtreeKeysAreContiguousInByteOrder) {
  std::vector<std::string> keys;
  for (const Path& p : {path({"a"}), path({"a", "b"}), path({"a", "b", "c"}), path({"a", "z"}), path({"a!"}),
                        path({"ab"}), path({"ab", "c"}), path({"a0"}), path({"b"}), path({"A"}), path({"a", "~"})}) {
    keys.push_back(encode_path(p));
  }
  std::sort(keys.begin(), keys.end());
  const std::string prefix = encode_path(path({"a"}));
  const auto inside = [&](const std::string& key) { return key.starts_with(prefix); };
  const auto first = std::find_if(keys.begin(), keys.end(), inside);
  const auto last = std::find_if_not(first, keys.end(), inside);
  EXPECT_EQ(last - first, 5);  // /a, /a/b, /a/b/c, /a/z, /a/~
  EXPECT_TRUE(std::none_of(last, keys.end(), inside));
  EXPECT_EQ(*first, prefix);  // an object's own row comes before its children's
}

}  // namespace
}  // namespace backside::store
