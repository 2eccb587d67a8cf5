#include "auth/tenant_folders.h"

#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "auth/lmdb_user_store.h"
#include "util/temp_dir.h"

namespace backside::auth {
namespace {

namespace fs = std::filesystem;

TEST(Tenants, CreatedWithAnIdMadeFromTheDisplayNameListedOldestFirstRenamedAndDeleted) {
  TempDir dir("backside-tenants-test");
  TenantFolders tenants(dir.path());
  auto acme = tenants.create("Acme-Shop");
  ASSERT_TRUE(acme.ok()) << acme.error().message;
  EXPECT_TRUE(std::regex_match(acme->id, std::regex("acme-shop-[a-z0-9]{5}"))) << acme->id;
  EXPECT_EQ(acme->display_name, "Acme-Shop");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // creation order is by the millisecond
  auto kids = tenants.create("Kids", "kids");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(kids->id, "kids");
  EXPECT_EQ(tenants.create("Kids", "kids").error().message, "DUPLICATE_TENANT_ID");

  auto listed = tenants.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, acme->id);
  EXPECT_EQ(listed[1].id, "kids");
  EXPECT_EQ(tenants.get("kids")->display_name, "Kids");
  EXPECT_EQ(tenants.get("nobody").error().message, "TENANT_NOT_FOUND");
  EXPECT_EQ(tenants.get("not valid").error().message, "INVALID_TENANT_ID");

  ASSERT_TRUE(tenants.rename("kids", "Children").ok());
  EXPECT_EQ(TenantFolders(dir.path()).get("kids")->display_name, "Children") << "durable, seen by another process";
  EXPECT_EQ(tenants.rename("kids", "x").error().message.substr(0, 20), "INVALID_DISPLAY_NAME");

  ASSERT_TRUE(LmdbUserStore::open(tenants.users_directory("kids").string()).ok());
  ASSERT_TRUE(tenants.remove("kids").ok());
  EXPECT_FALSE(tenants.exists("kids"));
  EXPECT_FALSE(fs::exists(dir.path() / "kids")) << "its users go with it";
  EXPECT_EQ(tenants.list().size(), 1u);
  EXPECT_EQ(tenants.remove("kids").error().message, "TENANT_NOT_FOUND");
}

TEST(Tenants, DisplayNamesFollowIdentityPlatformsRule) {
  for (const char* good : {"abcd", "Shop-2", "a1234567890123456789"}) {
    EXPECT_TRUE(Tenants::check_display_name(good).ok()) << good;
  }
  EXPECT_EQ(Tenants::check_display_name("").error().message, "MISSING_DISPLAY_NAME");
  for (const char* bad : {"abc", "1shop", "shop_2", "shop 2", "a12345678901234567890", "-shop"}) {
    auto refused = Tenants::check_display_name(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_TRUE(refused.error().message.starts_with("INVALID_DISPLAY_NAME")) << bad;
  }
  TempDir dir("backside-tenants-test");
  TenantFolders tenants(dir.path());
  EXPECT_EQ(tenants.create("", "x").error().message, "MISSING_DISPLAY_NAME");
  EXPECT_EQ(tenants.create("Good", "bad id").error().message, "INVALID_TENANT_ID");
  EXPECT_TRUE(tenants.list().empty()) << "nothing left behind by refused creations";
  EXPECT_TRUE(!fs::exists(dir.path()) || fs::is_empty(dir.path()));
}

// A user directory moved in from elsewhere (the migration of per-database users) becomes a tenant whole, also when
// a crash interrupted the move: what is staged is finished by the next attempt or by recover().
TEST(Tenants, AdoptingUsersIsCrashSafe) {
  TempDir dir("backside-tenants-test");
  const fs::path tenants_dir = dir.path() / "auth" / "tenants";
  const fs::path old_users = dir.path() / "db" / "shop" / "users";
  {
    auto store = std::move(LmdbUserStore::open(old_users.string()).value());
    ASSERT_TRUE(store->create({{"localId", "s1"}, {"email", "s@x.com"}}).ok());
  }
  TenantFolders tenants(tenants_dir);
  ASSERT_TRUE(tenants.adopt("shop", "shop", old_users).ok());
  EXPECT_FALSE(fs::exists(old_users));
  EXPECT_EQ(tenants.get("shop")->display_name, "shop") << "named as is: database names need not be display names";
  EXPECT_TRUE((*LmdbUserStore::open(tenants.users_directory("shop").string()))->find_by_email("s@x.com"));
  EXPECT_EQ(tenants.adopt("shop", "shop", old_users).error().message, "DUPLICATE_TENANT_ID");

  // Cut short after the users moved into the staging folder and before it became the tenant.
  const fs::path staged = tenants_dir / ".adopting-club";
  {
    auto store = std::move(LmdbUserStore::open((staged / "users").string()).value());
    ASSERT_TRUE(store->create({{"localId", "c1"}}).ok());
  }
  EXPECT_FALSE(tenants.exists("club")) << "a staged adoption is no tenant";
  EXPECT_TRUE(tenants.list().size() == 1);
  // Cut short before anything of a creation or a deletion was done.
  fs::create_directories(tenants_dir / ".creating-half-abcdefgh");
  fs::create_directories(tenants_dir / ".deleted-gone-abcdefgh" / "users");
  tenants.recover();
  EXPECT_TRUE(tenants.exists("club"));
  EXPECT_TRUE((*LmdbUserStore::open(tenants.users_directory("club").string()))->find_by_uid("c1"));
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_FALSE(fs::exists(tenants_dir / ".creating-half-abcdefgh"));
  EXPECT_FALSE(fs::exists(tenants_dir / ".deleted-gone-abcdefgh"));
  tenants.recover();  // idempotent
  EXPECT_EQ(tenants.list().size(), 2u);
}

}  // namespace
}  // namespace backside::auth
