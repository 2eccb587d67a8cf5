#include "auth/accepted_users.h"

#include <gtest/gtest.h>

#include <fstream>

#include "auth/tenant_folders.h"
#include "util/temp_dir.h"

namespace backside::auth {
namespace {

TEST(AcceptedUsers, EveryPoolByDefaultOnlyTheListedOnesOnceLimited) {
  TempDir dir("backside-accepted-test");
  std::filesystem::create_directories(dir.path() / "db" / "shop");
  TenantFolders tenants(dir.path() / "auth" / "tenants");
  ASSERT_TRUE(tenants.create("Shop", "shop-t").ok());
  ASSERT_TRUE(tenants.create("Kids", "kids-t").ok());
  AcceptedUsers accepted(dir.path(), tenants);
  EXPECT_TRUE(accepted.load().empty());
  EXPECT_FALSE(accepted.refusal("shop", "").has_value());
  EXPECT_FALSE(accepted.refusal("shop", "kids-t").has_value());

  ASSERT_TRUE(accepted.set("shop", std::vector<std::string>{"shop-t"}).ok());
  EXPECT_FALSE(accepted.refusal("shop", "shop-t").has_value());
  EXPECT_EQ(accepted.refusal("shop", ""),
            "Auth token is for the project's users, which database \"shop\" does not accept.");
  EXPECT_EQ(accepted.refusal("shop", "kids-t"),
            "Auth token is for the users of tenant \"kids-t\", which database \"shop\" does not accept.");
  EXPECT_FALSE(accepted.refusal("other", "kids-t").has_value()) << "only the limited database";

  // Durable: a restart reads the same.
  AcceptedUsers restarted(dir.path(), tenants);
  EXPECT_TRUE(restarted.load().empty());
  EXPECT_EQ(restarted.of("shop"), AcceptedUsers::Pools(std::vector<std::string>{"shop-t"}));
  ASSERT_TRUE(restarted.set("shop", std::vector<std::string>{"@project", "shop-t", "@project"}).ok());
  EXPECT_EQ(restarted.of("shop"), AcceptedUsers::Pools(std::vector<std::string>{"@project", "shop-t"}));
  ASSERT_TRUE(restarted.set("shop", std::nullopt).ok());
  EXPECT_FALSE(restarted.of("shop").has_value());
  EXPECT_FALSE(std::filesystem::exists(AcceptedUsers::file_in(dir.path(), "shop")));

  // Names that are no pool are refused, and change nothing.
  EXPECT_EQ(accepted.set("shop", std::vector<std::string>{"ghost"}).error().message, "TENANT_NOT_FOUND : ghost");
  EXPECT_EQ(accepted.set("shop", std::vector<std::string>{"not valid"}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(accepted.of("shop"), AcceptedUsers::Pools(std::vector<std::string>{"shop-t"}));
}

TEST(AcceptedUsers, ADamagedSettingFailsClosed) {
  TempDir dir("backside-accepted-test");
  std::filesystem::create_directories(dir.path() / "db" / "shop");
  std::ofstream(AcceptedUsers::file_in(dir.path(), "shop")) << "{not json";
  TenantFolders tenants(dir.path() / "auth" / "tenants");
  AcceptedUsers accepted(dir.path(), tenants);
  EXPECT_EQ(accepted.load().size(), 1u);
  EXPECT_TRUE(accepted.refusal("shop", "").has_value());
  EXPECT_FALSE(accepted.refusal("other", "").has_value());
}

}  // namespace
}  // namespace backside::auth
