// A cluster's tenants (auth/postgresql_tenants.h) against a real PostgreSQL: two connections play two nodes.
#include "auth/postgresql_tenants.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "auth/accepted_users.h"
#include "auth/id_tokens.h"
#include "auth/postgresql_user_store.h"
#include "store/postgresql_test_server.h"

namespace backside::auth {
namespace {

std::string unique_id(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 100000000); }

std::shared_ptr<store::PgSharedConnection> connect(const std::string& url) {
  auto connection = store::PgSharedConnection::open(url);
  EXPECT_TRUE(connection.ok()) << connection.error().message;
  return connection ? *connection : nullptr;
}

bool listed(const Tenants& tenants, const std::string& id) {
  auto all = tenants.list();
  return std::any_of(all.begin(), all.end(), [&](const Tenant& t) { return t.id == id; });
}

TEST(PostgresqlTenants, ATenantOneNodeCreatesRenamesOrDeletesIsSoOnEveryNode) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  PostgresqlTenants node_a(connect(url));
  PostgresqlTenants node_b(connect(url));
  const std::string id = unique_id("shop-");
  auto created = node_a.create("Shop", id);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto seen = node_b.get(id);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->display_name, "Shop");
  EXPECT_EQ(seen->created_at_ms, created->created_at_ms);
  EXPECT_TRUE(node_b.exists(id));
  EXPECT_TRUE(listed(node_b, id));
  EXPECT_EQ(node_b.create("Other", id).error().message, "DUPLICATE_TENANT_ID");

  auto made_up = node_b.create("Kids-Club");  // an id made from the display name
  ASSERT_TRUE(made_up.ok());
  EXPECT_TRUE(made_up->id.starts_with("kids-club-"));
  EXPECT_EQ(made_up->id.size(), std::string("kids-club-").size() + 5);
  EXPECT_TRUE(node_a.exists(made_up->id));

  ASSERT_TRUE(node_b.rename(id, "Store").ok());
  EXPECT_EQ(node_a.get(id)->display_name, "Store");
  EXPECT_EQ(node_a.rename(id, "x").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(node_a.rename(unique_id("none-"), "Valid").error().message, "TENANT_NOT_FOUND");

  ASSERT_TRUE(node_a.remove(id).ok());
  EXPECT_EQ(node_b.check(id).error().message, "TENANT_NOT_FOUND");
  EXPECT_EQ(node_b.check(id).error().code, ErrorCode::not_found);
  EXPECT_FALSE(listed(node_b, id));
  EXPECT_EQ(node_b.remove(id).error().code, ErrorCode::not_found);
  EXPECT_EQ(node_b.check("bad id!").error().message, "INVALID_TENANT_ID");
  EXPECT_EQ(node_b.create("Badly", "bad id!").error().message, "INVALID_TENANT_ID");
}

// A tenant's users on two nodes: deleting the tenant on one deletes its users and ends its sign-ins on the other.
TEST(PostgresqlTenants, DeletingATenantOnOneNodeEndsItsUsersSignInsOnAnother) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto connection_a = connect(url), connection_b = connect(url);
  PostgresqlTenants tenants_a(connection_a), tenants_b(connection_b);
  UserDirectories node_a(users_in_postgresql(connection_a), tenants_a);
  UserDirectories node_b(users_in_postgresql(connection_b), tenants_b);
  const std::string id = unique_id("club-");
  ASSERT_TRUE(tenants_a.create("Club", id).ok());
  ASSERT_TRUE((*node_a.of(id))->create({{"localId", "kim"}, {"email", "kim@x.com"}}).ok());
  auto users_b = node_b.of(id);
  ASSERT_TRUE(users_b.ok());
  EXPECT_TRUE((*users_b)->find_by_email("kim@x.com"));

  IdTokens tokens_b{*SigningKey::generate(), {}};
  tokens_b.check_users_in(&node_b);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  auto token = tokens_b.mint({.uid = "kim", .sign_in_provider = "password", .tenant = id, .auth_time = now}, now);
  ASSERT_TRUE(token.ok());
  auto verified = tokens_b.verify("default", *token);
  ASSERT_TRUE(verified && verified->ok());
  identity::Identity session = **verified;
  tokens_b.standings()->sweep();
  EXPECT_FALSE(session.standing->ended());

  ASSERT_TRUE(node_a.remove_tenant(id).ok());
  EXPECT_EQ(node_b.of(id).error().code, ErrorCode::not_found);
  tokens_b.standings()->sweep();
  EXPECT_TRUE(session.standing->ended());
  EXPECT_EQ(session.standing->why(), "Auth token's tenant was deleted.");

  // Made again under the same id, it has no users: they went with the old one.
  ASSERT_TRUE(tenants_b.create("Club", id).ok());
  auto fresh = node_b.of(id);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE((*fresh)->list().empty());
  EXPECT_FALSE((*fresh)->find_by_email("kim@x.com"));
}

// Which pools a database accepts, set on one node: every node refuses the other pools' tokens after its refresh.
TEST(PostgresqlTenants, ADatabaseLimitedToSomePoolsOnOneNodeIsLimitedOnEveryNode) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  PostgresqlTenants tenants(connect(url));
  const std::string club = unique_id("club-");
  ASSERT_TRUE(tenants.create("Club", club).ok());
  const std::string database = unique_id("limited-");
  AcceptedUsers node_a(connect(url), tenants);
  AcceptedUsers node_b(connect(url), tenants);
  EXPECT_TRUE(node_a.load().empty());
  EXPECT_TRUE(node_b.load().empty());
  EXPECT_FALSE(node_b.refusal(database, ""));

  ASSERT_TRUE(node_a.set(database, std::vector<std::string>{club}).ok());
  EXPECT_TRUE(node_a.refusal(database, "")) << "at once on the node that set it";
  EXPECT_FALSE(node_b.refusal(database, "")) << "not before the other node's refresh";
  ASSERT_TRUE(node_b.refresh().ok());
  auto refused = node_b.refusal(database, "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "Auth token is for the project's users, which database \"" + database + "\" does not accept.");
  EXPECT_FALSE(node_b.refusal(database, club));
  EXPECT_EQ(node_b.of(database), (std::vector<std::string>{club}));
  EXPECT_EQ(node_b.set(database, std::vector<std::string>{unique_id("nobody-")}).error().message.substr(0, 16),
            "TENANT_NOT_FOUND") << "the cluster's tenants are checked";

  // Every pool again (set on b), read by a; and a node started later reads the latest at load.
  ASSERT_TRUE(node_b.set(database, std::nullopt).ok());
  ASSERT_TRUE(node_a.refresh().ok());
  EXPECT_FALSE(node_a.refusal(database, ""));
  ASSERT_TRUE(node_a.set(database, std::vector<std::string>{std::string(AcceptedUsers::kProject)}).ok());
  AcceptedUsers node_c(connect(url), tenants);
  EXPECT_TRUE(node_c.load().empty());
  EXPECT_FALSE(node_c.refusal(database, ""));
  EXPECT_TRUE(node_c.refusal(database, club));

  // The watcher refreshes on its own.
  node_c.watch(std::chrono::milliseconds(50));
  ASSERT_TRUE(node_a.set(database, std::nullopt).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (node_c.refusal(database, club) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(node_c.refusal(database, club));
}

}  // namespace
}  // namespace backside::auth
