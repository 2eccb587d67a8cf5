#include "auth/user_directories.h"

#include <gtest/gtest.h>

#include "util/temp_dir.h"

namespace backside::auth {
namespace {

TEST(UserDirectories, TheProjectsUsersAndEachTenantsAreSeparatePools) {
  TempDir dir("backside-directories-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories directories(users_on_disk((dir.path() / "users").string(), tenants), tenants);
  auto shop = tenants.create("Shop", "shop");
  ASSERT_TRUE(shop.ok());
  auto project = directories.of("");
  auto tenant = directories.of("shop");
  ASSERT_TRUE(project.ok() && tenant.ok());
  EXPECT_NE(project->get(), tenant->get());
  EXPECT_EQ(directories.of("shop")->get(), tenant->get()) << "opened once";
  ASSERT_TRUE((*project)->create({{"localId", "u1"}, {"email", "a@x.com"}}).ok());
  // The same email and uid are free in another pool, and a user of one is unknown to the other.
  EXPECT_FALSE((*tenant)->find_by_email("a@x.com").has_value());
  ASSERT_TRUE((*tenant)->create({{"localId", "u1"}, {"email", "a@x.com"}, {"displayName", "Shop's"}}).ok());
  EXPECT_FALSE((*project)->find_by_uid("u1")->contains("displayName"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "users" / "data.mdb"));
  EXPECT_TRUE(std::filesystem::exists(tenants.users_directory("shop") / "data.mdb"));
}

TEST(UserDirectories, UnknownAndMalformedTenantsAreRefusedWithFirebasesCodes) {
  TempDir dir("backside-directories-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories directories(users_on_disk((dir.path() / "users").string(), tenants), tenants);
  auto unknown = directories.of("ghost");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
  EXPECT_EQ(unknown.error().message, "TENANT_NOT_FOUND");
  for (const std::string& id : {std::string("no/such"), std::string("a b"), std::string(".adopting-x"),
                                std::string(101, 'x')}) {
    auto malformed = directories.of(id);
    ASSERT_FALSE(malformed.ok()) << id;
    EXPECT_EQ(malformed.error().code, ErrorCode::invalid_argument) << id;
    EXPECT_EQ(malformed.error().message, "INVALID_TENANT_ID") << id;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tenants" / "ghost")) << "nothing made for an unknown tenant";
}

TEST(UserDirectories, ADeletedTenantIsGoneAtOnceWhileAStoreInUseStaysValid) {
  TempDir dir("backside-directories-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories directories(users_on_disk((dir.path() / "users").string(), tenants), tenants);
  ASSERT_TRUE(tenants.create("Kids", "kids").ok());
  std::vector<std::string> removed;
  directories.on_tenant_removed([&](const std::string& tenant) { removed.push_back(tenant); });
  auto in_use = *directories.of("kids");
  ASSERT_TRUE(in_use->create({{"localId", "k1"}}).ok());
  ASSERT_TRUE(directories.remove_tenant("kids").ok());
  EXPECT_EQ(removed, std::vector<std::string>{"kids"});
  EXPECT_EQ(directories.of("kids").error().message, "TENANT_NOT_FOUND");
  EXPECT_TRUE(in_use->find_by_uid("k1").has_value()) << "a request holding the store finishes with it";
  EXPECT_EQ(directories.remove_tenant("kids").error().message, "TENANT_NOT_FOUND");
  EXPECT_EQ(directories.remove_tenant("").error().message, "INVALID_TENANT_ID") << "the project's users stay";

  // Deleted by another process (`backside tenants delete`): the next lookup no longer finds it, and a tenant made
  // again under the same id starts empty.
  ASSERT_TRUE(tenants.create("Club", "club").ok());
  ASSERT_TRUE((*directories.of("club"))->create({{"localId", "c1"}}).ok());
  {
    TenantFolders elsewhere(dir.path() / "tenants");
    ASSERT_TRUE(elsewhere.remove("club").ok());
  }
  EXPECT_EQ(directories.of("club").error().message, "TENANT_NOT_FOUND");
  ASSERT_TRUE(tenants.create("Club", "club").ok());
  EXPECT_FALSE((*directories.of("club"))->find_by_uid("c1").has_value());
  // Also when no lookup came between the deletion and the new tenant.
  ASSERT_TRUE((*directories.of("club"))->create({{"localId", "c2"}}).ok());
  {
    TenantFolders elsewhere(dir.path() / "tenants");
    ASSERT_TRUE(elsewhere.remove("club").ok());
    ASSERT_TRUE(elsewhere.create("Club", "club").ok());
  }
  EXPECT_FALSE((*directories.of("club"))->find_by_uid("c2").has_value());
}

}  // namespace
}  // namespace backside::auth
