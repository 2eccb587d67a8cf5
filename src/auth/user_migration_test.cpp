#include "auth/user_migration.h"

#include <gtest/gtest.h>

#include "auth/accepted_users.h"
#include "auth/lmdb_user_store.h"
#include "util/temp_dir.h"

namespace backside::auth {
namespace {

namespace fs = std::filesystem;

// A data dir of the versions with one user directory per database.
void add_user(const fs::path& directory, const std::string& uid, const std::string& refresh_token) {
  auto store = std::move(LmdbUserStore::open(directory.string()).value());
  ASSERT_TRUE(store->create({{"localId", uid}, {"email", uid + "@x.com"}}).ok());
  ASSERT_TRUE(store->add_refresh_token(refresh_token, uid).ok());
}

TEST(UserMigration, TheDefaultDatabasesUsersBecomeTheProjectsAndEveryOthersATenantOfItsName) {
  TempDir dir("backside-migration-test");
  add_user(dir.path() / "db" / "main" / "users", "ana", "ana-token.main");
  add_user(dir.path() / "db" / "shop" / "users", "kim", "kim-token.shop");
  fs::create_directories(dir.path() / "db" / "empty");  // a database that had no users
  TenantFolders tenants(dir.path() / "auth" / "tenants");

  UserMigration report = migrate_database_users(dir.path(), "main", tenants);
  EXPECT_EQ(report.moved.size(), 2u);
  EXPECT_TRUE(report.conflicts.empty());
  auto project = std::move(LmdbUserStore::open((dir.path() / "auth" / "users").string()).value());
  EXPECT_EQ(project->owner_of_refresh_token("ana-token.main")->uid, "ana") << "users and refresh tokens kept";
  ASSERT_TRUE(tenants.exists("shop"));
  auto shop = std::move(LmdbUserStore::open(tenants.users_directory("shop").string()).value());
  EXPECT_EQ(shop->owner_of_refresh_token("kim-token.shop")->uid, "kim");
  EXPECT_FALSE(tenants.exists("empty") || tenants.exists("main"));
  EXPECT_FALSE(fs::exists(dir.path() / "db" / "main" / "users") || fs::exists(dir.path() / "db" / "shop" / "users"));

  // Each database keeps accepting exactly the users it had; one without users accepts every pool.
  AcceptedUsers accepted(dir.path(), tenants);
  EXPECT_TRUE(accepted.load().empty());
  EXPECT_EQ(accepted.of("main"), AcceptedUsers::Pools(std::vector<std::string>{"@project"}));
  EXPECT_EQ(accepted.of("shop"), AcceptedUsers::Pools(std::vector<std::string>{"shop"}));
  EXPECT_FALSE(accepted.of("empty").has_value());

  // Idempotent: nothing left to move, nothing to say.
  report = migrate_database_users(dir.path(), "main", tenants);
  EXPECT_TRUE(report.moved.empty() && report.conflicts.empty());
}

TEST(UserMigration, AConflictMovesNothingAndSaysWhy) {
  TempDir dir("backside-migration-test");
  add_user(dir.path() / "auth" / "users", "now", "now-token");  // the project has users already
  add_user(dir.path() / "db" / "main" / "users", "old", "old-token.main");
  add_user(dir.path() / "db" / "shop" / "users", "kim", "kim-token.shop");
  TenantFolders tenants(dir.path() / "auth" / "tenants");
  ASSERT_TRUE(tenants.create("Shop", "shop").ok());  // and a tenant of the same name as a database

  UserMigration report = migrate_database_users(dir.path(), "main", tenants);
  EXPECT_TRUE(report.moved.empty());
  ASSERT_EQ(report.conflicts.size(), 2u);
  EXPECT_TRUE(fs::exists(dir.path() / "db" / "main" / "users" / "data.mdb"));
  EXPECT_TRUE(fs::exists(dir.path() / "db" / "shop" / "users" / "data.mdb"));
  EXPECT_FALSE((*LmdbUserStore::open(tenants.users_directory("shop").string()))->find_by_uid("kim"));
  EXPECT_FALSE(fs::exists(AcceptedUsers::file_in(dir.path(), "shop"))) << "nothing limited for what did not move";
}

// A crash after the database was limited and before its users moved: the next start finishes the move.
TEST(UserMigration, ACrashBetweenStepsIsCompletedByTheNextStart) {
  TempDir dir("backside-migration-test");
  add_user(dir.path() / "db" / "shop" / "users", "kim", "kim-token.shop");
  ASSERT_TRUE(AcceptedUsers::write(dir.path(), "shop", std::vector<std::string>{"shop"}).ok());
  fs::create_directories(dir.path() / "auth" / "tenants" / ".adopting-shop");  // staged, users not moved yet
  TenantFolders tenants(dir.path() / "auth" / "tenants");
  UserMigration report = migrate_database_users(dir.path(), "default", tenants);
  EXPECT_EQ(report.moved.size(), 1u);
  EXPECT_TRUE(report.conflicts.empty());
  EXPECT_TRUE((*LmdbUserStore::open(tenants.users_directory("shop").string()))->find_by_uid("kim"));
}

}  // namespace
}  // namespace backside::auth
