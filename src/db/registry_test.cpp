#include "db/registry.h"
#include "util/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace backside::db {
namespace {

namespace fs = std::filesystem;

RegistryOptions options_in(const TempDir& dir, bool create_on_first_use) {
  RegistryOptions options;
  options.data_dir = dir.str();
  options.default_rules = *Registry::compile_rules(R"({"rules": {".read": false, ".write": false}})", false);
  options.create_on_first_use = create_on_first_use;
  options.max_databases = 2;
  return options;
}

TEST(Registry, WithoutCreateOnFirstUseAnUnknownNameIsNotFoundAndLeavesNothingOnDisk) {
  TempDir dir;
  Registry registry(options_in(dir, false));
  auto unknown = registry.get("shop");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
  EXPECT_NE(unknown.error().message.find("\"shop\" does not exist"), std::string::npos) << unknown.error().message;
  EXPECT_FALSE(fs::exists(dir.path() / "db" / "shop"));
  EXPECT_TRUE(registry.names().empty());

  // The admin's way in: create() (and a rules deploy), after which get() finds it.
  ASSERT_TRUE(registry.create("shop"));
  EXPECT_TRUE(fs::is_directory(dir.path() / "db" / "shop"));
  EXPECT_TRUE(registry.get("shop"));
  ASSERT_TRUE(registry.set_rules("blog", R"({"rules": {".read": true}})"));
  EXPECT_TRUE(registry.get("blog"));
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"blog", "shop"}));
  // Invalid rules create nothing.
  EXPECT_FALSE(registry.set_rules("wiki", "{"));
  EXPECT_FALSE(fs::exists(dir.path() / "db" / "wiki"));
}

TEST(Registry, DatabasesAlreadyOnDiskKeepOpening) {
  TempDir dir;
  {
    Registry dev(options_in(dir, true));
    ASSERT_TRUE(dev.get("made-in-dev"));
  }
  Registry production(options_in(dir, false));
  EXPECT_TRUE(production.get("made-in-dev"));  // not loaded yet, but its directory exists
  Registry again(options_in(dir, false));
  ASSERT_TRUE(again.open_existing());
  EXPECT_EQ(again.names(), (std::vector<std::string>{"made-in-dev"}));
}

TEST(Registry, CreateOnFirstUseOpensAnyValidNameUpToTheLimit) {
  TempDir dir;
  Registry registry(options_in(dir, true));
  EXPECT_TRUE(registry.get("a"));
  EXPECT_TRUE(registry.get("b"));
  auto third = registry.create("c");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::unavailable);
  EXPECT_FALSE(fs::exists(dir.path() / "db" / "c"));
  auto invalid_name = registry.get("a/b");
  ASSERT_FALSE(invalid_name);
  EXPECT_EQ(invalid_name.error().code, ErrorCode::invalid_argument);
}

TEST(Registry, ADamagedDatabaseIsSkippedAtStartUpAndTheOthersOpen) {
  TempDir dir;
  {
    RegistryOptions options = options_in(dir, false);
    options.max_databases = 10;
    Registry registry(options);
    for (const char* name : {"good", "bad"}) {
      auto db = registry.create(name);
      ASSERT_TRUE(db);
    }
  }
  // A flipped byte in the header of "bad"'s log (inverted: byte 10 is in the random epoch, so writing a fixed value
  // left it unchanged one run in 256).
  const fs::path wal = dir.path() / "db" / "bad" / "wal";
  {
    std::fstream file(wal, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(10);
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(~byte);
    file.seekp(10);
    file.write(&byte, 1);
  }
  // The header alone is not damage when nothing follows it: give it a record-sized tail.
  {
    std::fstream file(wal, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);
    file.write("\x01\x02\x03", 3);
  }
  RegistryOptions options = options_in(dir, false);
  options.max_databases = 10;
  Registry registry(options);
  ASSERT_TRUE(registry.open_existing());
  EXPECT_EQ(registry.names(), std::vector<std::string>{"good"});
  const auto damaged = registry.damaged();
  ASSERT_EQ(damaged.count("bad"), 1u);
  EXPECT_NE(damaged.at("bad").find(wal.string()), std::string::npos) << damaged.at("bad");
  auto bad = registry.get("bad");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::unavailable);
  EXPECT_NE(bad.error().message.find("damaged"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(registry.create("bad"));  // not overwritten by the admin either
  EXPECT_TRUE(fs::exists(wal));
}

}  // namespace
}  // namespace backside::db
