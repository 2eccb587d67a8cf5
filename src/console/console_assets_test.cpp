#include "console/console_assets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace backside::console {
namespace {

TEST(ConsoleAssets, ThePageAndItsScriptsAreEmbeddedWithTypesAndEtags) {
  const ConsoleAsset* page = find_console_asset("index.html");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->bytes.find("<title>Backside console</title>"), std::string_view::npos);
  const ConsoleAsset* script = find_console_asset("js/main.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  for (const ConsoleAsset& asset : console_assets()) {
    // A quoted strong ETag: 20 hex digits of the file's SHA-256.
    ASSERT_EQ(asset.etag.size(), 22u) << asset.path;
    EXPECT_EQ(asset.etag.front(), '"');
    EXPECT_EQ(asset.etag.back(), '"');
    EXPECT_FALSE(asset.bytes.empty()) << asset.path;
  }
}

TEST(ConsoleAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(find_console_asset(""), nullptr);
  EXPECT_EQ(find_console_asset("js"), nullptr);
  EXPECT_EQ(find_console_asset("../index.html"), nullptr);
  EXPECT_EQ(find_console_asset("index.htm"), nullptr);
}

TEST(ConsoleAssets, TheTableIsSortedForTheBinarySearch) {
  auto assets = console_assets();
  EXPECT_TRUE(std::is_sorted(assets.begin(), assets.end(),
                             [](const ConsoleAsset& a, const ConsoleAsset& b) { return a.path < b.path; }));
}

}  // namespace
}  // namespace backside::console
