// Two nodes' registries on one PostgreSQL (docs/cluster.md): which databases exist and their rules are the cluster's
// (store/shared_settings.h), so a database the admin creates on one node opens on the other, and rules deployed on
// one node reach the other's open database.
#include <boost/json/parse.hpp>

#include <chrono>
#include <future>
#include <random>
#include <string>
#include <thread>

#include "cluster/in_process_broker.h"
#include "db/registry.h"
#include "gtest/gtest.h"
#include "store/postgresql_test_server.h"
#include "store/shared_settings.h"
#include "util/temp_dir.h"

namespace backside::db {
namespace {

using namespace std::chrono_literals;

struct ClusterNode {
  TempDir dir;
  std::unique_ptr<store::SharedSettings> shared;
  std::unique_ptr<Registry> registry;
};

std::unique_ptr<ClusterNode> start_node(const std::string& url, const char* node_id, cluster::Broker& broker) {
  auto node = std::make_unique<ClusterNode>();
  auto shared = store::SharedSettings::open(url);
  EXPECT_TRUE(shared.ok()) << shared.error().message;
  if (!shared) return nullptr;
  node->shared = std::move(*shared);
  RegistryOptions options;
  options.data_dir = node->dir.path().string();
  options.default_rules = *Registry::compile_rules(R"({"rules": {".read": false, ".write": false}})", false);
  options.store = url;
  options.node_id = node_id;
  options.broker = &broker;
  options.shared = node->shared.get();
  options.shared_rules_interval = 50ms;
  node->registry = std::make_unique<Registry>(options);
  return node;
}

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 1000000); }

TEST(RegistryCluster, ADatabaseCreatedOnOneNodeOpensOnAnotherThatRefusesUnknownNames) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  auto a = start_node(url, "node-a", broker);
  auto b = start_node(url, "node-b", broker);
  ASSERT_TRUE(a && b);
  const std::string name = unique_name("made-on-a-");
  auto unknown = b->registry->get(name);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
  ASSERT_TRUE(a->registry->create(name).ok());
  auto opened = b->registry->get(name);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE((*opened)->replica());

  // A third node starting later opens every database of the cluster at once.
  auto c = start_node(url, "node-c", broker);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registry->open_existing().ok());
  const auto names = c->registry->names();
  EXPECT_NE(std::find(names.begin(), names.end(), name), names.end());
}

TEST(RegistryCluster, RulesDeployedOnOneNodeApplyOnTheOthersAndOnNodesThatOpenTheDatabaseLater) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  auto a = start_node(url, "node-a", broker);
  auto b = start_node(url, "node-b", broker);
  ASSERT_TRUE(a && b);
  const std::string name = unique_name("ruled-");
  ASSERT_TRUE(a->registry->create(name).ok());
  auto on_b = b->registry->get(name);
  ASSERT_TRUE(on_b.ok());
  EXPECT_FALSE((*on_b)->rules()->configured);

  const std::string rules = R"({"rules": {"public": {".read": true}}})";
  ASSERT_TRUE(a->registry->set_rules(name, rules).ok());
  EXPECT_EQ((*a->registry->get(name))->rules()->text, rules);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((*on_b)->rules()->text != rules && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ((*on_b)->rules()->text, rules);
  EXPECT_TRUE((*on_b)->rules()->configured);

  auto c = start_node(url, "node-c", broker);
  ASSERT_TRUE(c);
  auto on_c = c->registry->get(name);
  ASSERT_TRUE(on_c.ok());
  EXPECT_EQ((*on_c)->rules()->text, rules) << "read at open";

  // Invalid rules are refused where they are deployed and reach nobody.
  EXPECT_FALSE(b->registry->set_rules(name, R"({"rules": {".read": "nonsense("}})").ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ((*a->registry->get(name))->rules()->text, rules);
}

}  // namespace
}  // namespace backside::db
