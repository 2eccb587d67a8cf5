#include "auth/user_directories.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace backside::auth {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("backside-directories-test-" + std::to_string(rd()));
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

UserDirectories::Locate in(const fs::path& root) {
  return [root](const std::string& database) -> Result<std::string> {
    if (database == "refused") return invalid("no such database");
    return (root / database / "users").string();
  };
}

TEST(UserDirectories, EachDatabaseHasItsOwnUsers) {
  TempDir dir;
  UserDirectories directories("main", in(dir.path));
  auto main = directories.of("main");
  auto shop = directories.of("shop");
  ASSERT_TRUE(main.ok() && shop.ok());
  EXPECT_NE(*main, *shop);
  EXPECT_EQ(*directories.of(""), *main);  // "" is the default database
  EXPECT_EQ(*directories.of("shop"), *shop);  // opened once
  ASSERT_TRUE((*main)->create({{"localId", "u1"}, {"email", "a@x.com"}}).ok());
  // The same email and uid are free in another directory, and a user of one is unknown to the other.
  EXPECT_FALSE((*shop)->find_by_email("a@x.com").has_value());
  ASSERT_TRUE((*shop)->create({{"localId", "u1"}, {"email", "a@x.com"}, {"displayName", "Shop's"}}).ok());
  EXPECT_FALSE((*main)->find_by_uid("u1")->contains("displayName"));
  EXPECT_TRUE(fs::exists(dir.path / "shop" / "users" / "data.mdb"));
  EXPECT_FALSE(directories.of("refused").ok());

  EXPECT_EQ(directories.database_of_tenant(""), "main");
  EXPECT_EQ(directories.database_of_tenant("shop"), "shop");
  EXPECT_EQ(directories.tenant_of_database("main"), "");
  EXPECT_EQ(directories.tenant_of_database("shop"), "shop");
}

TEST(UserDirectories, ServerWideUsersOfEarlierVersionsBecomeTheDefaultDatabases) {
  TempDir dir;
  {
    auto legacy = std::move(UserStore::open((dir.path / "auth" / "users").string()).value());
    ASSERT_TRUE(legacy->create({{"localId", "old"}, {"email", "old@x.com"}}).ok());
  }
  const std::string target = (dir.path / "db" / "main" / "users").string();
  ASSERT_TRUE(adopt_server_wide_users(dir.path.string(), target).ok());
  ASSERT_TRUE(adopt_server_wide_users(dir.path.string(), target).ok());  // idempotent
  EXPECT_FALSE(fs::exists(dir.path / "auth" / "users"));
  auto store = std::move(UserStore::open(target).value());
  EXPECT_TRUE(store->find_by_email("old@x.com").has_value());
}

}  // namespace
}  // namespace backside::auth
