// A cluster's users (auth/postgresql_user_store.h) against a real PostgreSQL: two connections play two nodes.
#include "auth/postgresql_user_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "auth/account_standings.h"
#include "auth/id_tokens.h"
#include "store/postgresql_test_server.h"
#include "util/temp_dir.h"
#include "util/test_service.h"

namespace backside::auth {
namespace {

namespace json = boost::json;

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 100000000); }

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<store::PgSharedConnection> connect(const std::string& url) {
  auto connection = store::PgSharedConnection::open(url);
  EXPECT_TRUE(connection.ok()) << connection.error().message;
  return connection ? *connection : nullptr;
}

std::unique_ptr<UserStore> directory(const std::shared_ptr<store::PgSharedConnection>& connection,
                                     const std::string& tenant) {
  auto store = PostgresqlUserStore::open(connection, tenant);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

TEST(PostgresqlUserStore, EveryNodeSeesTheSameUsersAndAnEmailBelongsToOneOfThem) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string tenant = unique_name("users-");
  auto node_a = directory(connect(url), tenant);
  auto node_b = directory(connect(url), tenant);
  ASSERT_TRUE(node_a && node_b);
  ASSERT_TRUE(node_a->create({{"localId", "u1"}, {"email", "Ann@X.com"}, {"provider", "password"}}).ok());
  auto found = node_b->find_by_email("ann@x.COM");
  ASSERT_TRUE(found);
  EXPECT_EQ((*found)["localId"], "u1");
  EXPECT_EQ((*node_b->find_by_uid("u1"))["provider"], "password");

  auto taken = node_b->create({{"localId", "u2"}, {"email", "ann@x.com"}});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().message, "EMAIL_EXISTS");
  auto same_uid = node_b->create({{"localId", "u1"}});
  ASSERT_FALSE(same_uid.ok());
  EXPECT_EQ(same_uid.error().message, "DUPLICATE_LOCAL_ID");
  EXPECT_EQ((*node_a->find_by_uid("u1"))["email"], "Ann@X.com") << "a refused create changed nothing";

  // Users without an email do not collide on it; an update moves the email index with the record.
  ASSERT_TRUE(node_b->create({{"localId", "u2"}}).ok());
  ASSERT_TRUE(node_b->create({{"localId", "u3"}}).ok());
  auto moved = node_a->update({{"localId", "u1"}, {"email", "ann@y.com"}});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_FALSE(node_b->find_by_email("ann@x.com"));
  EXPECT_TRUE(node_b->find_by_email("ann@y.com"));
  auto clash = node_b->update({{"localId", "u2"}, {"email", "ANN@y.com"}});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message, "EMAIL_EXISTS");
  auto missing = node_b->update({{"localId", "nobody"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);

  auto listed = node_b->list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0]["localId"], "u1");

  // Another directory (a tenant) is another pool: the same email and uid are free there.
  auto other = directory(connect(url), tenant + "-other");
  ASSERT_TRUE(other->create({{"localId", "u1"}, {"email", "ann@y.com"}}).ok());
  EXPECT_EQ(other->list().size(), 1u);

  ASSERT_TRUE(node_b->remove("u1").ok());
  EXPECT_FALSE(node_a->find_by_uid("u1"));
  EXPECT_FALSE(node_a->find_by_email("ann@y.com"));
  EXPECT_EQ(node_a->remove("u1").error().code, ErrorCode::not_found);
  EXPECT_TRUE(other->find_by_uid("u1")) << "the other pool's user of the same uid stays";
}

TEST(PostgresqlUserStore, RefreshTokensAreSharedRevocableAndGoWithTheirUser) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string tenant = unique_name("tokens-");
  auto node_a = directory(connect(url), tenant);
  auto node_b = directory(connect(url), tenant);
  ASSERT_TRUE(node_a->create({{"localId", "kim"}}).ok());
  ASSERT_TRUE(node_a->add_refresh_token("refresh-1", "kim").ok());
  ASSERT_TRUE(node_a->add_refresh_token("refresh-2", "kim").ok());
  auto owner = node_b->owner_of_refresh_token("refresh-1");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->uid, "kim");
  EXPECT_FALSE(owner->revoked);
  EXPECT_FALSE(node_b->owner_of_refresh_token("refresh-3"));

  ASSERT_TRUE(node_b->revoke_refresh_tokens("kim").ok());
  EXPECT_TRUE(node_a->owner_of_refresh_token("refresh-1")->revoked);
  EXPECT_TRUE(node_a->owner_of_refresh_token("refresh-2")->revoked);

  ASSERT_TRUE(node_a->add_refresh_token("refresh-4", "kim").ok());
  EXPECT_FALSE(node_b->owner_of_refresh_token("refresh-4")->revoked) << "a token issued after the revocation";
  ASSERT_TRUE(node_b->remove("kim").ok());
  EXPECT_FALSE(node_a->owner_of_refresh_token("refresh-1"));
  EXPECT_FALSE(node_a->owner_of_refresh_token("refresh-4"));
}

TEST(PostgresqlUserStore, EachAccountChangeMovesTheVersionAndNamesItsUser) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string tenant = unique_name("versions-");
  auto node_a = directory(connect(url), tenant);
  auto node_b = directory(connect(url), tenant);
  ASSERT_TRUE(node_a->create({{"localId", "a"}}).ok());
  ASSERT_TRUE(node_a->create({{"localId", "b"}}).ok());
  const UserStore::Versions a0 = node_a->versions();
  const UserStore::Versions b0 = node_b->versions();
  ASSERT_NE(a0.version, 0u);
  EXPECT_EQ(a0.version, b0.version);
  EXPECT_EQ(node_a->version(), a0.version);

  ASSERT_TRUE(node_a->update({{"localId", "a"}, {"disabled", true}}).ok());
  const UserStore::Versions a1 = node_a->versions();
  EXPECT_EQ(a1.version, a0.version + 1);
  EXPECT_EQ(a1.own_commits, a0.own_commits + 1) << "node a made it: not a change from elsewhere for a";
  const UserStore::Versions b1 = node_b->versions();
  EXPECT_EQ(b1.version, a1.version);
  EXPECT_EQ(b1.own_commits, b0.own_commits) << "for node b it came from elsewhere";

  ASSERT_TRUE(node_a->remove("b").ok());
  EXPECT_EQ(node_b->changed_since(b0.version), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(node_b->changed_since(b1.version), (std::vector<std::string>{"b"}));
  EXPECT_EQ(node_b->changed_since(node_b->versions().version), std::vector<std::string>{});
  // Adding refresh tokens, or creating users, ends no sign-in: the version stays.
  const std::uint64_t before = node_b->version();
  ASSERT_TRUE(node_a->add_refresh_token("t", "a").ok());
  ASSERT_TRUE(node_a->create({{"localId", "c"}}).ok());
  EXPECT_EQ(node_b->version(), before);
}

TEST(PostgresqlUserStore, AChangeLogPrunedPastASweepTellsItToRecheckEverything) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string tenant = unique_name("pruned-");
  auto opened = PostgresqlUserStore::open(connect(url), tenant, /*changes_kept=*/100);
  ASSERT_TRUE(opened.ok());
  auto& node = *opened;
  ASSERT_TRUE(node->create({{"localId", "p"}}).ok());
  const std::uint64_t start = node->version();
  // The log is pruned at every 10th version, down to the last 100: go past a prune with room to spare.
  const int changes = 120;
  for (int i = 0; i < changes; ++i) ASSERT_TRUE(node->update({{"localId", "p"}, {"n", i}}).ok());
  EXPECT_FALSE(node->changed_since(start)) << "its first changes are gone: the log cannot tell";
  auto recent = node->changed_since(node->version() - 3);
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->size(), 3u);
}

// Node a disables a user; a sign-in of that user on node b ends at node b's next sweep, and others stand.
TEST(PostgresqlUserStore, ASignInEndsOnEveryNodeWhenAnotherNodeChangesItsUser) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  TempDir dir("backside-pg-users-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories node_a(users_in_postgresql(connect(url)), tenants);
  UserDirectories node_b(users_in_postgresql(connect(url)), tenants);
  // The project's users ("") are shared by the whole test database: uids of this test's own.
  const std::string ann = unique_name("ann-"), bob = unique_name("bob-");
  UserStore& users_a = **node_a.of("");
  ASSERT_TRUE(users_a.create({{"localId", ann}}).ok());
  ASSERT_TRUE(users_a.create({{"localId", bob}}).ok());

  IdTokens tokens_b{*SigningKey::generate(), {}};
  tokens_b.check_users_in(&node_b);
  auto session = [&](const std::string& uid) {
    auto token = tokens_b.mint({.uid = uid, .sign_in_provider = "password", .auth_time = now() - 10}, now());
    auto verified = tokens_b.verify("default", *token);
    EXPECT_TRUE(verified && verified->ok());
    return verified && verified->ok() ? **verified : identity::Identity();
  };
  identity::Identity ann_on_b = session(ann);
  identity::Identity bob_on_b = session(bob);
  ASSERT_TRUE(ann_on_b.standing && bob_on_b.standing);
  tokens_b.standings()->sweep();  // the first sweep of a directory rechecks all: both stand
  EXPECT_FALSE(ann_on_b.standing->ended());

  ASSERT_TRUE(users_a.update({{"localId", ann}, {"disabled", true}}).ok());
  EXPECT_FALSE(ann_on_b.standing->ended()) << "node b hears of it at its sweep, not before";
  tokens_b.standings()->sweep();
  EXPECT_TRUE(ann_on_b.standing->ended());
  EXPECT_EQ(ann_on_b.standing->why(), "Auth token's user is disabled.");
  EXPECT_FALSE(bob_on_b.standing->ended());
  // A new token of the disabled user is refused on node b at once.
  auto token = tokens_b.mint({.uid = ann, .sign_in_provider = "password", .auth_time = now()}, now());
  auto refused = tokens_b.verify("default", *token);
  ASSERT_TRUE(refused && !refused->ok());
  EXPECT_EQ(refused->error().message, "Auth token's user is disabled.");

  ASSERT_TRUE(users_a.remove(bob).ok());
  tokens_b.standings()->sweep();
  EXPECT_TRUE(bob_on_b.standing->ended());
  EXPECT_EQ(bob_on_b.standing->why(), "Auth token's user no longer exists.");
}

// PostgreSQL away must not read as "no such user": sessions stay, tokens are refused as unavailable, not unknown.
TEST(PostgresqlUserStore, WithPostgreSQLAwayNoUserIsTakenForDeleted) {
  BACKSIDE_REQUIRE_POSTGRESQL(shared_url);  // skips when PostgreSQL is not installed
  TestService own("postgres", nullptr);  // a server of this test's own, to stop and start
  ASSERT_TRUE(own.started().url) << own.started().problem;
  TempDir dir("backside-pg-users-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories node(users_in_postgresql(connect(*own.started().url)), tenants);
  UserStore& users = **node.of("");
  ASSERT_TRUE(users.create({{"localId", "cy"}}).ok());
  IdTokens tokens{*SigningKey::generate(), {}};
  tokens.check_users_in(&node);
  auto token = tokens.mint({.uid = "cy", .sign_in_provider = "password", .auth_time = now() - 10}, now());
  auto verified = tokens.verify("default", *token);
  ASSERT_TRUE(verified && verified->ok());
  identity::Identity session = **verified;
  tokens.standings()->sweep();

  ASSERT_TRUE(own.stop());
  auto read = users.read_by_uid("cy");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::unavailable);
  auto by_email = users.read_by_email("cy@example.com");
  ASSERT_FALSE(by_email.ok()) << "a sign-in then answers unavailable, not EMAIL_NOT_FOUND (nor counts a failure)";
  EXPECT_EQ(by_email.error().code, ErrorCode::unavailable);
  EXPECT_EQ(users.versions().version, 0u);
  tokens.standings()->sweep();
  tokens.standings()->recheck("", "cy");
  EXPECT_FALSE(session.standing->ended()) << session.standing->why();
  auto fresh = tokens.mint({.uid = "cy", .sign_in_provider = "password", .auth_time = now()}, now());
  auto refused = tokens.verify("default", *fresh);
  ASSERT_TRUE(refused && !refused->ok());
  EXPECT_EQ(refused->error().code, ErrorCode::unavailable) << refused->error().message;

  own.start();
  ASSERT_TRUE(own.started().url) << own.started().problem;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!users.read_by_uid("cy").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(users.read_by_uid("cy").ok()) << "not reconnected within 10 s";
  ASSERT_TRUE(users.update({{"localId", "cy"}, {"disabled", true}}).ok());
  EXPECT_TRUE(session.standing->ended()) << "a change made through this node ends its sessions at once";
}

// Every token-bearing request asks for the version: it is answered from the last one read for up to version_kept,
// and a change made through this node moves it at once.
TEST(PostgresqlUserStore, TheVersionRequestsAskIsReadAtMostOncePerIntervalAndOwnChangesShowAtOnce) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string tenant = unique_name("kept-");
  auto opened_a = PostgresqlUserStore::open(connect(url), tenant, PostgresqlUserStore::kChangesKept,
                                            std::chrono::milliseconds(1500));
  auto opened_b = PostgresqlUserStore::open(connect(url), tenant, PostgresqlUserStore::kChangesKept,
                                            std::chrono::milliseconds(1500));
  ASSERT_TRUE(opened_a.ok() && opened_b.ok());
  auto& node_a = *opened_a;
  auto& node_b = *opened_b;
  ASSERT_TRUE(node_a->create({{"localId", "v"}}).ok());
  const std::uint64_t seen_by_b = node_b->version();
  ASSERT_NE(seen_by_b, 0u);
  ASSERT_TRUE(node_a->update({{"localId", "v"}, {"disabled", true}}).ok());
  EXPECT_EQ(node_a->version(), seen_by_b + 1) << "a change made here shows here at once";
  EXPECT_EQ(node_b->version(), seen_by_b) << "within the interval, b answers from what it read";
  EXPECT_EQ(node_b->versions().version, seen_by_b + 1) << "the sweep's read is exact";
  ASSERT_TRUE(node_a->update({{"localId", "v"}, {"disabled", false}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_EQ(node_b->version(), seen_by_b + 2) << "after the interval, b reads again";
}

TEST(PostgresqlUserStore, DeletingADirectoryDeletesItsUsersAndTokens) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto connection = connect(url);
  const std::string tenant = unique_name("gone-");
  auto users = directory(connection, tenant);
  ASSERT_TRUE(users->create({{"localId", "x"}, {"email", "x@x.com"}}).ok());
  ASSERT_TRUE(users->add_refresh_token("rt", "x").ok());
  ASSERT_TRUE(PostgresqlUserStore::remove_directory(*connection, tenant).ok());
  auto again = directory(connection, tenant);
  EXPECT_TRUE(again->list().empty());
  EXPECT_FALSE(again->owner_of_refresh_token("rt"));
  EXPECT_TRUE(again->create({{"localId", "y"}, {"email", "x@x.com"}}).ok());

  // A node that held the old directory open through its deletion and re-creation changes the new one correctly.
  ASSERT_TRUE(PostgresqlUserStore::remove_directory(*connection, tenant).ok());
  ASSERT_TRUE(users->create({{"localId", "z"}}).ok());
  const std::uint64_t before = users->version();
  auto changed = users->update({{"localId", "z"}, {"disabled", true}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(users->version(), before + 1);
  EXPECT_EQ(users->changed_since(before), std::vector<std::string>{"z"});
  EXPECT_TRUE(user_disabled(*again->find_by_uid("z")));
}

}  // namespace
}  // namespace backside::auth
