// What the nodes of a cluster share besides the trees (store/shared_settings.h), against a real PostgreSQL: two
// SharedSettings objects play two nodes.
#include "store/shared_settings.h"

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "store/postgresql_store.h"
#include "store/postgresql_test_server.h"
#include "util/test_service.h"

namespace backside::store {
namespace {

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 1000000); }

std::unique_ptr<SharedSettings> open_settings(const std::string& url) {
  auto settings = SharedSettings::open(url);
  EXPECT_TRUE(settings.ok()) << settings.error().message;
  return settings ? std::move(*settings) : nullptr;
}

TEST(SharedSettings, ADatabaseOneNodeCreatedExistsForEveryNode) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto node_a = open_settings(url);
  auto node_b = open_settings(url);
  ASSERT_TRUE(node_a && node_b);
  const std::string name = unique_name("shared-");
  EXPECT_FALSE(*node_b->database_exists(name));
  auto store = open_postgresql_store({.url = url, .database = name, .node_id = "node-a"});
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_TRUE(*node_b->database_exists(name));
  auto names = node_b->databases();
  ASSERT_TRUE(names.ok());
  EXPECT_NE(std::find(names->begin(), names->end(), name), names->end());
}

TEST(SharedSettings, RulesDeployedOnOneNodeAreReadAndHeardOfOnAnotherInVersionOrder) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto node_a = open_settings(url);
  auto node_b = open_settings(url);
  ASSERT_TRUE(node_a && node_b);
  const std::string first = unique_name("rules-a-");
  const std::string second = unique_name("rules-b-");
  EXPECT_FALSE(node_b->rules(first)->has_value());
  auto before = node_b->rules_since(0);
  ASSERT_TRUE(before.ok());
  const std::int64_t seen = before->empty() ? 0 : before->back().version;

  auto v1 = node_a->put_rules(first, R"({"rules": {".read": true}})");
  auto v2 = node_a->put_rules(second, R"({"rules": {".write": true}})");
  auto v3 = node_a->put_rules(first, R"({"rules": {".read": false}})");
  ASSERT_TRUE(v1.ok() && v2.ok() && v3.ok());
  EXPECT_LT(*v1, *v2);
  EXPECT_LT(*v2, *v3);
  auto read = node_b->rules(first);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->text, R"({"rules": {".read": false}})");
  EXPECT_EQ((*read)->version, *v3);

  auto since = node_b->rules_since(seen);
  ASSERT_TRUE(since.ok());
  // Only each database's latest deploy is kept: `second`, then `first`'s replacement.
  std::vector<std::string> order;
  for (const auto& rules : *since) {
    if (rules.database == first || rules.database == second) order.push_back(rules.database);
  }
  EXPECT_EQ(order, (std::vector<std::string>{second, first}));
  EXPECT_TRUE(node_b->rules_since(*v3)->empty() || node_b->rules_since(*v3)->front().version > *v3);
}

TEST(SharedSettings, TheFirstNodeToStoreASettingWinsAndBytesSurvive) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto node_a = open_settings(url);
  auto node_b = open_settings(url);
  ASSERT_TRUE(node_a && node_b);
  const std::string name = unique_name("setting-");
  const std::string mine("a\0b\xff", 4);
  EXPECT_EQ(*node_a->setting_or_create(name, mine), mine);
  EXPECT_EQ(*node_b->setting_or_create(name, "theirs"), mine);
}

TEST(SharedSettings, WithPostgreSQLAwayLookupsFailAtOnceAndWorkAgainOnceItIsBack) {
  BACKSIDE_REQUIRE_POSTGRESQL(shared_url);  // skips when PostgreSQL is not installed
  TestService own("postgres", nullptr);  // a server of this test's own, to stop and start
  ASSERT_TRUE(own.started().url) << own.started().problem;
  auto settings = open_settings(*own.started().url);
  ASSERT_TRUE(settings);
  ASSERT_TRUE(settings->database_exists("anything").ok());
  ASSERT_TRUE(own.stop());
  auto first = settings->database_exists("anything");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::unavailable);
  // The lookup that found the connection lost was refused; the next one tries to connect again, and fails.
  const std::uint64_t before = settings->connect_attempts();
  EXPECT_FALSE(settings->database_exists("anything").ok());
  EXPECT_EQ(settings->connect_attempts(), before + 1);
  // From then on, for a second, every caller (I/O threads among them) is answered at once rather than each trying
  // to connect (which against a vanished host takes the connect timeout).
  const std::uint64_t attempts = settings->connect_attempts();
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(settings->database_exists("anything").ok());
  EXPECT_EQ(settings->connect_attempts(), attempts);
  own.start();
  ASSERT_TRUE(own.started().url) << own.started().problem;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool back = false;
  while (!back && std::chrono::steady_clock::now() < deadline) {
    back = settings->database_exists("anything").ok();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(back) << "not reconnected within 10 s";
}

TEST(SharedSettings, AnUnreachableServerIsAnErrorAtOpen) {
  auto settings = SharedSettings::open("postgresql://nobody@127.0.0.1:1/none");
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace backside::store
