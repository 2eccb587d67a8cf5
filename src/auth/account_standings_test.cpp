#include "auth/account_standings.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/string.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "auth/id_tokens.h"
#include "auth/lmdb_user_store.h"

namespace backside::auth {
namespace {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct World {
  std::filesystem::path root = std::filesystem::temp_directory_path() /
                               ("backside-standings-test-" + std::to_string(std::random_device{}()));
  TenantFolders tenants{root / "tenants"};
  UserDirectories directories{users_on_disk((root / "users").string(), tenants), tenants};
  IdTokens tokens{*SigningKey::generate(), {}};
  UserStore& users = **directories.of("");

  World() { tokens.check_users_in(&directories); }
  ~World() { std::filesystem::remove_all(root); }

  // A connection's identity from a fresh token of `uid` signed in at `auth_time`.
  identity::Identity session(const std::string& uid, std::int64_t auth_time) {
    auto token = tokens.mint({.uid = uid, .sign_in_provider = "password", .auth_time = auth_time}, now());
    auto verified = tokens.verify("default", *token);
    EXPECT_TRUE(verified && verified->ok());
    return verified && verified->ok() ? **verified : identity::Identity();
  }
  void set(const std::string& uid, const char* field, boost::json::value value) {
    auto record = *users.find_by_uid(uid);
    record[field] = std::move(value);
    ASSERT_TRUE(users.update(record).ok());
  }
};

// What `backside users disable` does from its own process: its own UserStore on the same directory.
void disable_in_another_process(World& world, const std::string& uid) {
  const std::string directory = (world.root / "users").string();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = LmdbUserStore::open(directory);
    if (!store) _exit(2);
    auto record = (*store)->find_by_uid(uid);
    if (!record) _exit(3);
    (*record)["disabled"] = true;
    _exit((*store)->update(*record).ok() ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(AccountStandings, SessionsOfOneSignInShareAStandingThatEndsWhenTheUserIsDisabled) {
  World world;
  ASSERT_TRUE(world.users.create({{"localId", "ann"}, {"disabled", false}}).ok());
  ASSERT_TRUE(world.users.create({{"localId", "bob"}, {"disabled", false}}).ok());
  const std::int64_t signed_in = now() - 10;
  identity::Identity first = world.session("ann", signed_in);
  identity::Identity second = world.session("ann", signed_in);
  identity::Identity bob = world.session("bob", signed_in);
  ASSERT_TRUE(first.standing && bob.standing);
  EXPECT_EQ(first.standing, second.standing);
  EXPECT_EQ(world.tokens.standings()->live(), 2u);

  world.set("ann", "disabled", true);  // through this process: ended at once, by the store's hook
  EXPECT_TRUE(first.standing->ended());
  EXPECT_EQ(first.standing->why(), "Auth token's user is disabled.");
  EXPECT_FALSE(bob.standing->ended()) << "other users are unaffected";

  // Enabled again: the same token opens a session that stands on its own.
  world.set("ann", "disabled", false);
  identity::Identity again = world.session("ann", signed_in);
  ASSERT_TRUE(again.standing);
  EXPECT_NE(again.standing, first.standing);
  EXPECT_FALSE(again.standing->ended());
}

TEST(AccountStandings, RevokingEndsOnlySessionsBegunBeforeIt) {
  World world;
  ASSERT_TRUE(world.users.create({{"localId", "cy"}}).ok());
  identity::Identity old_session = world.session("cy", now() - 100);
  identity::Identity new_session = world.session("cy", now());
  world.set("cy", "validSince", boost::json::string(std::to_string(now() - 50)));
  EXPECT_TRUE(old_session.standing->ended());
  EXPECT_NE(old_session.standing->why().find("revoked"), std::string::npos);
  EXPECT_FALSE(new_session.standing->ended());

  ASSERT_TRUE(world.users.remove("cy").ok());
  EXPECT_TRUE(new_session.standing->ended());
  EXPECT_EQ(new_session.standing->why(), "Auth token's user no longer exists.");
}

TEST(AccountStandings, DeadSignInsAreForgotten) {
  World world;
  ASSERT_TRUE(world.users.create({{"localId", "dee"}}).ok());
  for (int i = 0; i < 1100; ++i) {  // past the first prune (1024 entries)
    identity::Identity session = world.session("dee", now() - 10000 + i);  // each its own sign-in, gone at once
  }
  EXPECT_EQ(world.tokens.standings()->live(), 0u);
  world.tokens.standings()->sweep();  // prunes what is left, rechecks nothing
  identity::Identity kept = world.session("dee", now());
  EXPECT_EQ(world.tokens.standings()->live(), 1u);
}

TEST(AccountStandings, TheSweepFindsUsersThatAnotherProcessChanged) {
  World world;
  ASSERT_TRUE(world.users.create({{"localId", "eve"}, {"disabled", false}}).ok());
  ASSERT_TRUE(world.users.create({{"localId", "fox"}, {"disabled", false}}).ok());
  identity::Identity eve = world.session("eve", now() - 10);
  identity::Identity fox = world.session("fox", now() - 10);
  auto& standings = *world.tokens.standings();
  standings.sweep();  // the first sweep of a directory rechecks it: both still stand
  EXPECT_FALSE(eve.standing->ended() || fox.standing->ended());

  // Changes made by this process are not the sweep's business (the hook saw them) ...
  ASSERT_TRUE(world.users.create({{"localId", "gus"}}).ok());
  standings.sweep();
  EXPECT_FALSE(eve.standing->ended());

  // ... but another process's are (`backside users disable eve` beside the server).
  disable_in_another_process(world, "eve");
  EXPECT_FALSE(eve.standing->ended()) << "not seen before the sweep";
  standings.sweep();
  EXPECT_TRUE(eve.standing->ended());
  EXPECT_EQ(eve.standing->why(), "Auth token's user is disabled.");
  EXPECT_FALSE(fox.standing->ended());
}

TEST(AccountStandings, StandingsAreKeptPerPoolAndATenantDeletedElsewhereEndsItsOwn) {
  World world;
  ASSERT_TRUE(world.tenants.create("Shop", "shop").ok());
  ASSERT_TRUE(world.users.create({{"localId", "ivy"}, {"disabled", false}}).ok());
  ASSERT_TRUE((*world.directories.of("shop"))->create({{"localId", "ivy"}, {"disabled", false}}).ok());
  identity::Identity project_ivy = world.session("ivy", now() - 10);
  auto token = world.tokens.mint({.uid = "ivy", .sign_in_provider = "password", .tenant = "shop", .auth_time = now() - 10},
                                 now());
  auto shop_ivy = world.tokens.verify("default", *token);
  ASSERT_TRUE(shop_ivy && shop_ivy->ok());
  EXPECT_NE((*shop_ivy)->standing, project_ivy.standing) << "the same uid in two pools is two accounts";
  world.set("ivy", "disabled", true);
  EXPECT_TRUE(project_ivy.standing->ended());
  EXPECT_FALSE((*shop_ivy)->standing->ended());

  TenantFolders elsewhere(world.root / "tenants");  // `backside tenants delete shop` beside the server
  ASSERT_TRUE(elsewhere.remove("shop").ok());
  world.tokens.standings()->sweep();
  EXPECT_TRUE((*shop_ivy)->standing->ended());
  EXPECT_EQ((*shop_ivy)->standing->why(), "Auth token's tenant was deleted.");
}

TEST(AccountStandings, TheSweeperThreadEndsSessionsOfAccountsChangedElsewhere) {
  World world;
  ASSERT_TRUE(world.users.create({{"localId", "hal"}, {"disabled", false}}).ok());
  identity::Identity hal = world.session("hal", now() - 10);
  {
    AccountSweeper sweeper(world.tokens.standings(), std::chrono::milliseconds(10));
    disable_in_another_process(world, "hal");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!hal.standing->ended() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(hal.standing->ended());
  }  // the sweeper stops and joins here
}

}  // namespace
}  // namespace backside::auth
