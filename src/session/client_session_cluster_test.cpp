// A client session's onDisconnect writes in a cluster (docs/cluster.md): kept in PostgreSQL under its node's lease
// (store/pending_disconnects.h), so that the database's owner runs them when that node dies; forgotten once they
// ran where the session ended. Two "nodes" in one process: an owner and a replica of one database, each with its
// own keeper, on a real PostgreSQL.
#include <boost/json/parse.hpp>

#include <chrono>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster/in_process_broker.h"
#include "db/database.h"
#include "db/registry.h"
#include "gtest/gtest.h"
#include "session/client_session.h"
#include "store/pending_disconnects.h"
#include "store/postgresql_connection.h"
#include "store/postgresql_store.h"
#include "store/postgresql_test_server.h"
#include "tree/json_codec.h"

namespace backside::session {
namespace {

using namespace std::chrono_literals;
using tree::Path;

struct Node {
  std::unique_ptr<store::PendingDisconnects> keeper;
  std::unique_ptr<db::Database> database;
};

Node open_node(const std::string& url, const std::string& name, const char* node_id, bool replica,
               cluster::Broker& broker) {
  Node node;
  auto keeper = store::PendingDisconnects::open({.url = url, .node_id = node_id, .lease = 60s, .scan_interval = 50ms});
  EXPECT_TRUE(keeper.ok()) << keeper.error().message;
  if (!keeper) return node;
  node.keeper = std::move(*keeper);
  auto opened = store::open_postgresql_store({.url = url, .database = name, .node_id = node_id, .replica = replica});
  EXPECT_TRUE(opened.ok()) << opened.error().message;
  if (!opened) return node;
  db::DatabaseOptions options{.name = name,
                              .store = std::move(*opened),
                              .rules = *db::Registry::compile_rules(
                                  R"({"rules": {".read": true, "presence": {"$who": {".write": "auth != null && auth.uid == $who"}}}})")};
  options.broker = &broker;
  options.replica = replica;
  options.replica_catch_up_interval = 100ms;
  options.pending_disconnects = node.keeper.get();
  auto database = db::Database::open(std::move(options));
  EXPECT_TRUE(database.ok()) << database.error().message;
  if (database) node.database = std::move(*database);
  return node;
}

identity::Identity user(const std::string& uid) {
  identity::Identity id;
  id.variable = std::make_shared<const boost::json::value>(boost::json::object{{"uid", uid}});
  return id;
}

std::string read(db::Database& db, const char* at) {
  std::promise<std::string> done;
  db.read(*Path::parse(at), std::nullopt, identity::Identity::admin_identity(),
          [&](const Error* error, const tree::Node& value) -> db::ReadSend {
            std::string text = error ? "error: " + error->message : tree::to_json(value, {.format = tree::Format::export_});
            return [&done, text] { done.set_value(text); };
          });
  return done.get_future().get();
}

bool eventually_reads(db::Database& db, const char* at, const std::string& expected, std::chrono::seconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (read(db, at) != expected) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

Status answered(const std::function<Status(StatusCallback)>& ask) {
  std::promise<Status> answer;
  Status asked = ask([&](const Status& status) { answer.set_value(status); });
  if (!asked) return asked;
  return answer.get_future().get();
}

std::int64_t kept_rows(const std::string& url, const std::string& incarnation) {
  store::PgConnection connection(url, "");
  EXPECT_TRUE(connection.ensure_connected().ok());
  auto rows = connection.query("counting", "SELECT count(*) FROM backside_disconnects WHERE incarnation = $1",
                               {store::PgParam::text(incarnation)});
  EXPECT_TRUE(rows.ok());
  return rows ? *rows->integer(0, 0) : -1;
}

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 1000000); }

TEST(ClientSessionCluster, TheOnDisconnectWritesOfANodeThatDiedRunOnTheOwnerAsTheirClientsIdentity) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("presence-");
  Node owner = open_node(url, name, "node-a", false, broker);
  Node dying = open_node(url, name, "node-b", true, broker);
  ASSERT_TRUE(owner.database && dying.database);

  auto session = ClientSession::create(*dying.database, {}, {});
  session->authenticate(user("ada"));
  ASSERT_TRUE(answered([&](StatusCallback done) {
                return session->on_disconnect_set({*Path::parse("/presence/ada/state"), false},
                                                  boost::json::parse(R"("offline")"), 9, done);
              }).ok());
  ASSERT_TRUE(answered([&](StatusCallback done) {
                return session->on_disconnect_update(*Path::parse("/presence/ada"),
                                                     boost::json::parse(R"({"seen": {".sv": "timestamp"}, "tmp": 1})"), 40,
                                                     done);
              }).ok());
  ASSERT_TRUE(answered([&](StatusCallback done) {
                return session->on_disconnect_cancel(*Path::parse("/presence/ada/tmp"), done);
              }).ok());
  // Refused when asked for (the rules, as ada): never kept, never run.
  Status forbidden = answered([&](StatusCallback done) {
    return session->on_disconnect_set({*Path::parse("/presence/bob"), false}, boost::json::parse("1"), 1, done);
  });
  EXPECT_EQ(forbidden.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(kept_rows(url, dying.keeper->incarnation()), 3);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read(*owner.database, "/presence"), "null") << "run while its node is alive";

  // node-b dies: its lease runs out, its session never ends.
  {
    store::PgConnection connection(url, "");
    ASSERT_TRUE(connection.ensure_connected().ok());
    ASSERT_TRUE(connection
                    .query("expiring", "UPDATE backside_nodes SET expires = now() - interval '1 second' WHERE incarnation = $1",
                           {store::PgParam::text(dying.keeper->incarnation())})
                    .ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (read(*owner.database, "/presence/ada/state") != R"("offline")" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const auto shown = boost::json::parse(read(*owner.database, "/presence"));
  EXPECT_EQ(shown.at("ada").at("state"), "offline");
  EXPECT_TRUE(shown.at("ada").at("seen").is_int64()) << "the server value resolved when it ran";
  EXPECT_EQ(shown.at("ada").as_object().size(), 2u) << "the cancelled child stays cancelled";
  EXPECT_TRUE(shown.as_object().if_contains("bob") == nullptr);
  owner.keeper->flush();
  EXPECT_EQ(kept_rows(url, dying.keeper->incarnation()), 0) << "ran once, then forgotten";
  // The replica (its node "dead" only to the others here) follows the owner.
  EXPECT_TRUE(eventually_reads(*dying.database, "/presence/ada/state", R"("offline")"));
}

TEST(ClientSessionCluster, ASessionThatEndsOnItsNodeRunsItsWritesThereAndForgetsWhatWasKept) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("presence-");
  Node owner = open_node(url, name, "node-a", false, broker);
  Node replica = open_node(url, name, "node-b", true, broker);
  ASSERT_TRUE(owner.database && replica.database);
  auto session = ClientSession::create(*replica.database, {}, {});
  session->authenticate(user("ada"));
  ASSERT_TRUE(answered([&](StatusCallback done) {
                return session->on_disconnect_set({*Path::parse("/presence/ada"), false},
                                                  boost::json::parse(R"("offline")"), 9, done);
              }).ok());
  EXPECT_EQ(kept_rows(url, replica.keeper->incarnation()), 1);
  session->end();
  EXPECT_TRUE(eventually_reads(*owner.database, "/presence/ada", R"("offline")"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (kept_rows(url, replica.keeper->incarnation()) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(kept_rows(url, replica.keeper->incarnation()), 0);
  // Nothing left for an owner to run again: the value stays what the client's own end wrote.
  ASSERT_TRUE(answered([&](StatusCallback done) {
                db::WriteRequest request;
                request.path = *Path::parse("/presence/ada");
                request.data = "back";
                request.auth = identity::Identity::admin_identity();
                owner.database->write(std::move(request), [done](db::WriteReply&& reply) {
                  done(reply.error ? Status(*reply.error) : ok_status());
                });
                return ok_status();
              }).ok());
  replica.database.reset();
  replica.keeper.reset();  // a clean stop hands over anything still kept: nothing is
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read(*owner.database, "/presence/ada"), R"("back")");
}

TEST(ClientSessionCluster, SessionsThatEndAsTheirNodeStopsCleanlyStillHaveTheirWritesMade) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("presence-");
  // The stopping node owns the database (its writes are its own, not forwarded); the other one watches.
  Node stopping = open_node(url, name, "node-a", false, broker);
  Node watching = open_node(url, name, "node-b", true, broker);
  ASSERT_TRUE(stopping.database && watching.database);
  std::vector<std::shared_ptr<ClientSession>> sessions;
  for (const char* uid : {"ada", "bob", "cy"}) {
    auto session = ClientSession::create(*stopping.database, {}, {});
    session->authenticate(user(uid));
    ASSERT_TRUE(answered([&](StatusCallback done) {
                  return session->on_disconnect_set({*Path::parse(std::string("/presence/") + uid), false},
                                                    boost::json::parse(R"("offline")"), 9, done);
                }).ok());
    sessions.push_back(session);
  }
  // A drain: the connections close (their ends are queued), then the database stops at once.
  for (auto& session : sessions) session->end();
  stopping.database->stop();
  EXPECT_TRUE(eventually_reads(*watching.database, "/presence", R"({"ada":"offline","bob":"offline","cy":"offline"})", 5s));
  EXPECT_EQ(kept_rows(url, stopping.keeper->incarnation()), 0);
}

TEST(ClientSessionCluster, AClientThatReconnectsElsewhereNamingItsPreviousSessionHasItsWritesRunFirstAndOnce) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("presence-");
  Node owner = open_node(url, name, "node-a", false, broker);
  Node old_node = open_node(url, name, "node-b", true, broker);
  ASSERT_TRUE(owner.database && old_node.database);
  auto previous = ClientSession::create(*old_node.database, {}, {.client_id = "connection-1"});
  previous->authenticate(user("ada"));
  ASSERT_TRUE(answered([&](StatusCallback done) {
                return previous->on_disconnect_set({*Path::parse("/presence/ada"), false},
                                                   boost::json::parse(R"("offline")"), 9, done);
              }).ok());

  // Node B is unreachable (its connection to the client broke); the client's new connection on the owner names
  // the old one.
  auto next = ClientSession::create(*owner.database, {}, {.client_id = "connection-2"});
  next->authenticate(user("ada"));
  std::promise<void> released;
  next->take_over_client("connection-1", [&] { released.set_value(); });
  ASSERT_EQ(released.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(eventually_reads(*owner.database, "/presence/ada", R"("offline")", 5s));
  EXPECT_EQ(kept_rows(url, old_node.keeper->incarnation()), 0);

  // The new connection's own write comes after; the old session's end (B noticing at last) runs nothing again.
  ASSERT_TRUE(answered([&](StatusCallback done) {
                db::WriteRequest request;
                request.path = *Path::parse("/presence/ada");
                request.data = "online";
                next->write(std::move(request), [done](db::WriteReply&& reply) {
                  done(reply.error ? Status(*reply.error) : ok_status());
                });
                return ok_status();
              }).ok());
  previous->end();
  old_node.keeper->flush();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read(*owner.database, "/presence/ada"), R"("online")");

  // A name nobody kept anything for releases at once and runs nothing.
  std::promise<void> nothing;
  next->take_over_client("no-such-connection", [&] { nothing.set_value(); });
  EXPECT_EQ(nothing.get_future().wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace backside::session
