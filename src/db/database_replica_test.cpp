// A database's owner and a replica of it on another "node" (docs/cluster.md): both on one PostgreSQL (started by
// src/store/postgresql_test_server.h), the owner publishing each committed batch on a broker, the replica applying
// them to its tree and delivering their events to its own listeners.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster/in_process_broker.h"
#include "db/database.h"
#include "db/registry.h"
#include "gtest/gtest.h"
#include "store/postgresql_connection.h"
#include "store/postgresql_store.h"
#include "store/postgresql_test_server.h"
#include "tree/hash.h"
#include "tree/json_codec.h"

namespace backside::db {
namespace {

using tree::Node;
using tree::Path;

constexpr const char* kOpenRules = R"({"rules": {".read": true, ".write": true}})";

// A broker that can be told to lose batches (a RabbitMQ outage, a failed publish).
class LossyBroker final : public cluster::Broker {
 public:
  Status publish(cluster::PublishedBatchPtr batch) override {
    if (losing) return Error{ErrorCode::unavailable, "lost on purpose"};
    return inner.publish(std::move(batch));
  }
  std::unique_ptr<cluster::Subscription> subscribe(const std::string& database, cluster::BatchHandler handler) override {
    return inner.subscribe(database, std::move(handler));
  }
  std::atomic<bool> losing{false};
  cluster::InProcessBroker inner;
};

// Keeps what a listener has been told: the view's value rebuilt from its events alone.
class Mirror : public sync::Subscriber {
 public:
  explicit Mirror(Path at) : at_(std::move(at)) {}
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override {
    boost::json::object rendered;
    if (event.kind == sync::ViewEvent::Kind::put) {
      rendered[event.path.to_string()] = tree::to_json_value(*event.value, tree::Format::export_);
    } else {
      for (const auto& [relative, value] : event.merge) {
        rendered[event.path.child(relative).to_string()] =
            value ? tree::to_json_value(*value, tree::Format::export_) : boost::json::value(nullptr);
      }
    }
    return std::make_shared<const std::string>(boost::json::serialize(rendered));
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override {
    std::lock_guard lock(mutex_);
    const boost::json::value parsed = boost::json::parse(*bytes);
    for (const auto& [path, value] : parsed.as_object()) {
      view_.set(Path::parse(path)->relative_to(at_), *tree::from_json(value));
    }
    ++events_;
  }
  std::string shown() {
    std::lock_guard lock(mutex_);
    return tree::to_json(view_, {.format = tree::Format::export_});
  }
  int events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  Path at_;
  std::string key_ = "mirror";
  std::mutex mutex_;
  Node view_;
  int events_ = 0;
};

// One node's database object: the owner ("node-a" unless named) or a replica ("node-b" unless named).
struct NodeOptions {
  const char* node = nullptr;
  std::chrono::milliseconds catch_up_interval{100};
  std::chrono::seconds lease{10};
  const char* rules = kOpenRules;
};

std::unique_ptr<Database> open_on(const std::string& url, const std::string& name, bool replica,
                                  cluster::Broker& broker, NodeOptions node = {}) {
  auto store = store::open_postgresql_store({.url = url,
                                             .database = name,
                                             .node_id = node.node ? node.node : replica ? "node-b" : "node-a",
                                             .lease_duration = node.lease,
                                             .replica = replica});
  EXPECT_TRUE(store.ok()) << store.error().message;
  if (!store) return nullptr;
  DatabaseOptions options{.name = name, .store = std::move(*store), .rules = *Registry::compile_rules(node.rules)};
  options.broker = &broker;
  options.replica = replica;
  options.replica_catch_up_interval = node.catch_up_interval;
  auto db = Database::open(std::move(options));
  EXPECT_TRUE(db.ok()) << db.error().message;
  return db ? std::move(*db) : nullptr;
}

WriteReply write(Database& db, WriteRequest::Op op, const std::string& at, const std::string& json) {
  WriteRequest request;
  request.auth = identity::Identity::admin_identity();
  request.op = op;
  request.path = *Path::parse(at);
  request.data = boost::json::parse(json);
  std::promise<WriteReply> done;
  db.write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
  return done.get_future().get();
}

std::string read(Database& db, const std::string& at) {
  std::promise<std::string> done;
  db.read(*Path::parse(at), std::nullopt, identity::Identity::admin_identity(), [&](const Error* error, const Node& value) -> ReadSend {
    std::string text = error ? "error: " + error->message : tree::to_json(value, {.format = tree::Format::export_});
    return [&done, text] { done.set_value(text); };
  });
  return done.get_future().get();
}

std::shared_ptr<Mirror> listen(Database& db, const std::string& at) {
  auto mirror = std::make_shared<Mirror>(*Path::parse(at));
  std::promise<bool> done;
  db.listen(*Path::parse(at), std::nullopt, identity::Identity::admin_identity(), mirror,
            [&](Result<sync::Hub::Handle> handle) { done.set_value(handle.ok()); });
  EXPECT_TRUE(done.get_future().get());
  return mirror;
}

bool caught_up(Database& replica, Database& owner) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (replica.sequence() != owner.sequence()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 1000000); }

TEST(DatabaseReplica, FollowsEveryKindOfWriteAndItsListenersSeeWhatTheOwnersSee) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-writes-");
  auto owner = open_on(url, name, false, broker);
  ASSERT_TRUE(owner);
  ASSERT_TRUE(write(*owner, WriteRequest::Op::set, "/before", R"({"there": 1})").error == std::nullopt);
  auto replica = open_on(url, name, true, broker);
  ASSERT_TRUE(replica);
  EXPECT_EQ(read(*replica, "/before"), R"({"there":1})");

  auto owner_root = listen(*owner, "/");
  auto replica_root = listen(*replica, "/");
  auto replica_room = listen(*replica, "/rooms/a");

  // Every kind of write, priorities (an object's own, a leaf's), numeric keys (Firebase order is not byte order),
  // removals that empty their parents, a leaf replaced by an object and back.
  std::mt19937 random(7);
  for (int i = 0; i < 300; ++i) {
    const std::string room = "/rooms/" + std::string(1, static_cast<char>('a' + random() % 3));
    const std::string key = std::to_string(random() % 12);
    switch (random() % 7) {
      case 0:
        write(*owner, WriteRequest::Op::set, room + "/" + key, std::to_string(i));
        break;
      case 1:
        write(*owner, WriteRequest::Op::set, room + "/" + key,
              R"({"text": "m)" + std::to_string(i) + R"(", ".priority": )" + std::to_string(random() % 5) + "}");
        break;
      case 2:
        write(*owner, WriteRequest::Op::update, room,
              R"({")" + key + R"(/n": )" + std::to_string(i) + R"(, "meta/last": )" + std::to_string(i) + "}");
        break;
      case 3:
        write(*owner, WriteRequest::Op::push, room + "/log", R"({"at": )" + std::to_string(i) + "}");
        break;
      case 4:
        write(*owner, WriteRequest::Op::set, room + "/" + key, "null");
        break;
      case 5:
        write(*owner, WriteRequest::Op::set_priority, room, std::to_string(random() % 9));
        break;
      default:
        write(*owner, WriteRequest::Op::set, room, random() % 2 ? R"("a leaf")" : "null");
        break;
    }
  }
  ASSERT_TRUE(caught_up(*replica, *owner)) << replica->sequence() << " of " << owner->sequence();
  const std::string expected = read(*owner, "/");
  EXPECT_EQ(read(*replica, "/"), expected);
  EXPECT_EQ(replica_root->shown(), expected);
  EXPECT_EQ(owner_root->shown(), expected);
  EXPECT_EQ(replica_room->shown(), read(*owner, "/rooms/a"));
  EXPECT_GT(replica_room->events(), 1);

}

WriteReply write_as(Database& db, WriteRequest::Op op, const std::string& at, const std::string& json,
                    identity::Identity auth, std::optional<std::string> if_hash = std::nullopt) {
  WriteRequest request;
  request.auth = std::move(auth);
  request.op = op;
  request.path = *Path::parse(at);
  request.data = boost::json::parse(json);
  request.if_hash = std::move(if_hash);
  request.want_written = true;
  request.want_hash = true;
  std::promise<WriteReply> done;
  db.write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
  return done.get_future().get();
}

TEST(DatabaseReplica, WritesOnAReplicaRunOnTheOwnerAndAreShownBeforeTheyAreAnswered) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-forward-");
  const char* rules = R"({"rules": {".read": true, "counter": {".write": "auth != null"},
                                     "users": {"$uid": {".write": "auth.uid === $uid"}}}})";
  auto owner = open_on(url, name, false, broker, {.rules = rules});
  auto replica = open_on(url, name, true, broker, {.rules = rules});
  ASSERT_TRUE(owner && replica);
  const identity::Identity alice = identity::Identity::from_token_claims({{"sub", "alice"}});

  // The owner's rules decide; the reply is the owner's (echo, hash); the replica shows the write at once.
  WriteReply mine = write_as(*replica, WriteRequest::Op::set, "/users/alice", R"({"name": "Alice"})", alice);
  ASSERT_FALSE(mine.error) << mine.error->message;
  EXPECT_EQ(tree::to_json(mine.written), R"({"name":"Alice"})");
  EXPECT_FALSE(mine.new_hash.empty());
  EXPECT_EQ(read(*replica, "/users/alice"), R"({"name":"Alice"})");
  WriteReply theirs = write_as(*replica, WriteRequest::Op::set, "/users/bob", R"({"name": "Eve"})", alice);
  ASSERT_TRUE(theirs.error);
  EXPECT_EQ(theirs.error->code, ErrorCode::permission_denied);
  EXPECT_EQ(read(*owner, "/users/bob"), "null");
  WriteReply pushed = write_as(*replica, WriteRequest::Op::push, "/users/alice/notes", R"("hi")", alice);
  ASSERT_FALSE(pushed.error) << pushed.error->message;
  EXPECT_EQ(read(*replica, "/users/alice/notes/" + pushed.push_key), R"("hi")");

  // Compare-and-set increments from both nodes at once end exact.
  write(*owner, WriteRequest::Op::set, "/counter", "0");
  ASSERT_TRUE(caught_up(*replica, *owner));
  auto increment = [&](Database& db, int times) {
    for (int done = 0; done < times;) {
      std::promise<std::string> hash;
      std::promise<int> value;
      db.read(*Path::parse("/counter"), std::nullopt, alice, [&](const Error* error, const Node& node) -> ReadSend {
        EXPECT_EQ(error, nullptr) << error->message;
        const Node::Leaf* leaf = node.leaf_value();
        const int number = leaf && std::holds_alternative<double>(*leaf) ? static_cast<int>(std::get<double>(*leaf)) : -1;
        return [&hash, &value, node_hash = tree::node_hash(node), number] {
          hash.set_value(node_hash);
          value.set_value(number);
        };
      });
      const std::string expected = hash.get_future().get();
      WriteReply reply = write_as(db, WriteRequest::Op::set, "/counter", std::to_string(value.get_future().get() + 1),
                                  alice, expected);
      if (!reply.error) {
        ++done;
      } else {
        EXPECT_EQ(reply.error->code, ErrorCode::hash_mismatch) << reply.error->message;
      }
    }
  };
  std::thread on_owner([&] { increment(*owner, 40); });
  increment(*replica, 40);
  on_owner.join();
  EXPECT_EQ(read(*owner, "/counter"), "80");
  EXPECT_EQ(read(*replica, "/counter"), "80");
}

TEST(DatabaseReplica, AWriteTheOwnerCannotBeReachedForIsRefusedAndChangesNothing) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-ownerless-");
  auto owner = open_on(url, name, false, broker);
  // No tick during the test: it would take the database over, the owner's lease having ended.
  auto replica = open_on(url, name, true, broker, {.catch_up_interval = std::chrono::hours(1)});
  ASSERT_TRUE(owner && replica);
  owner.reset();  // the owner's node is gone, and nobody has taken the database over yet
  WriteReply refused = write(*replica, WriteRequest::Op::set, "/x", "1");
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, ErrorCode::unavailable);
  EXPECT_NE(refused.error->message.find("no node owns database"), std::string::npos) << refused.error->message;
  EXPECT_EQ(read(*replica, "/x"), "null");
}

TEST(DatabaseReplica, BatchesTheBrokerLostAreReadFromTheChangeLog) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  LossyBroker broker;
  const std::string name = unique_name("replica-lost-");
  auto owner = open_on(url, name, false, broker);
  auto replica = open_on(url, name, true, broker);
  ASSERT_TRUE(owner && replica);
  auto mirror = listen(*replica, "/counter");
  write(*owner, WriteRequest::Op::set, "/counter", "1");
  broker.losing = true;
  for (int i = 2; i <= 20; ++i) write(*owner, WriteRequest::Op::set, "/counter", std::to_string(i));
  // Nothing more is published: the replica's idle catch-up finds 2..20 in the change log.
  ASSERT_TRUE(caught_up(*replica, *owner));
  EXPECT_EQ(read(*replica, "/counter"), "20");
  broker.losing = false;
  write(*owner, WriteRequest::Op::set, "/counter", "21");
  ASSERT_TRUE(caught_up(*replica, *owner));
  EXPECT_EQ(mirror->shown(), "21");
}

TEST(DatabaseReplica, AReplicaFartherBehindThanTheLogReloadsASnapshotAndItsListenersHearTheDifference) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  LossyBroker broker;
  const std::string name = unique_name("replica-snapshot-");
  auto owner_store = store::open_postgresql_store(
      {.url = url, .database = name, .node_id = "node-a", .change_retention = 5, .trim_every = 5});
  ASSERT_TRUE(owner_store.ok()) << owner_store.error().message;
  DatabaseOptions options{.name = name, .store = std::move(*owner_store), .rules = *Registry::compile_rules(kOpenRules)};
  options.broker = &broker;
  auto owner = Database::open(std::move(options));
  ASSERT_TRUE(owner.ok());
  // No idle catch-up during the test: the replica learns of the loss from the gap at the next published batch.
  auto replica = open_on(url, name, true, broker, {.catch_up_interval = std::chrono::hours(1)});
  ASSERT_TRUE(replica);
  write(**owner, WriteRequest::Op::set, "/kept", "1");
  write(**owner, WriteRequest::Op::set, "/gone", "1");
  auto mirror = listen(*replica, "/");
  // The replica stops hearing while the owner writes on and trims its change log past the replica.
  broker.losing = true;
  write(**owner, WriteRequest::Op::set, "/gone", "null");
  for (int i = 0; i < 30; ++i) write(**owner, WriteRequest::Op::set, "/n", std::to_string(i));
  broker.losing = false;
  write(**owner, WriteRequest::Op::set, "/last", "true");
  ASSERT_TRUE(caught_up(*replica, **owner));
  const std::string expected = read(**owner, "/");
  EXPECT_EQ(read(*replica, "/"), expected);
  EXPECT_EQ(mirror->shown(), expected);
}

TEST(DatabaseReplica, AnIdleOwnerKeepsItsLeaseAndASecondNodeOpensAReplica) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-lease-");
  auto owner_store = store::open_postgresql_store(
      {.url = url, .database = name, .node_id = "node-a", .lease_duration = std::chrono::seconds(1)});
  ASSERT_TRUE(owner_store.ok()) << owner_store.error().message;
  DatabaseOptions options{.name = name, .store = std::move(*owner_store), .rules = *Registry::compile_rules(kOpenRules)};
  options.broker = &broker;
  auto owner = Database::open(std::move(options));
  ASSERT_TRUE(owner.ok());
  write(**owner, WriteRequest::Op::set, "/a", "1");
  // Three lease durations without a write: the owner's committer renews the lease meanwhile.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto taken = store::open_postgresql_store({.url = url, .database = name, .node_id = "node-b"});
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message.find("owned by node node-a"), std::string::npos) << taken.error().message;
  // A node of a cluster opens it as a replica instead.
  auto second = store::open_postgresql_store(
      {.url = url, .database = name, .node_id = "node-b", .replica_when_owned = true});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE((*second)->replica());
  DatabaseOptions replica_options{.name = name, .store = std::move(*second), .rules = *Registry::compile_rules(kOpenRules)};
  replica_options.broker = &broker;
  auto replica = Database::open(std::move(replica_options));
  ASSERT_TRUE(replica.ok());
  EXPECT_TRUE((*replica)->replica());
  write(**owner, WriteRequest::Op::set, "/a", "2");
  ASSERT_TRUE(caught_up(**replica, **owner));
  EXPECT_EQ(read(**replica, "/a"), "2");
}

TEST(DatabaseReplica, WhenTheOwnerGoesOneReplicaTakesOverAndTheOtherForwardsToIt) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-takeover-");
  const auto open = [&](const char* node, bool replica) {
    return open_on(url, name, replica, broker,
                   {.node = node, .catch_up_interval = std::chrono::milliseconds(50), .lease = std::chrono::seconds(1)});
  };
  auto owner = open("node-a", false);
  auto b = open("node-b", true);
  auto c = open("node-c", true);
  for (int i = 1; i <= 50; ++i) ASSERT_FALSE(write(*owner, WriteRequest::Op::set, "/n", std::to_string(i)).error);
  auto seen_on_c = listen(*c, "/n");
  owner.reset();  // the owner stops (its lease ends now; after a crash it would run out within a second)

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (b->replica() && c->replica() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(b->replica(), c->replica()) << "exactly one of them owns the database now";
  Database& new_owner = b->replica() ? *c : *b;
  Database& replica = b->replica() ? *b : *c;
  EXPECT_EQ(read(new_owner, "/n"), "50");
  // Both take writes again: the new owner commits after sequence 50, the other forwards to it.
  ASSERT_FALSE(write(new_owner, WriteRequest::Op::set, "/n", "51").error);
  WriteReply forwarded = write(replica, WriteRequest::Op::set, "/n", "52");
  ASSERT_FALSE(forwarded.error) << forwarded.error->message;
  EXPECT_EQ(read(replica, "/n"), "52");
  EXPECT_EQ(new_owner.sequence(), 52u);
  ASSERT_TRUE(caught_up(*c, *b));
  EXPECT_EQ(seen_on_c->shown(), "52");
}

TEST(DatabaseReplica, AnOwnerWhoseLeaseWasTakenOverBecomesAReplicaOfTheNewOwner) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  cluster::InProcessBroker broker;
  const std::string name = unique_name("replica-fenced-");
  const auto open = [&](const char* node, bool replica) {
    return open_on(url, name, replica, broker,
                   {.node = node, .catch_up_interval = std::chrono::milliseconds(20), .lease = std::chrono::seconds(2)});
  };
  auto a = open("node-a", false);
  auto b = open("node-b", true);
  ASSERT_FALSE(write(*a, WriteRequest::Op::set, "/v", "1").error);
  auto seen_on_a = listen(*a, "/v");
  // node-a stalls (a pause longer than its lease) while node-b finds the lease run out and takes over.
  store::PgConnection sql(url, "");
  ASSERT_TRUE(sql.ensure_connected().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (b->replica() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(sql.query("expiring the lease", "UPDATE backside_databases SET lease_expires = now() WHERE name = $1",
                          {store::PgParam::text(name)})
                    .ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(b->replica());
  ASSERT_FALSE(write(*b, WriteRequest::Op::set, "/v", "2").error);
  // node-a's next commit is fenced: refused, and node-a becomes a replica of node-b.
  WriteReply fenced = write(*a, WriteRequest::Op::set, "/v", "99");
  ASSERT_TRUE(fenced.error);
  EXPECT_EQ(fenced.error->code, ErrorCode::unavailable);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!a->replica() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(a->replica());
  // It shows the new owner's value (never the refused one), and forwards its writes there.
  WriteReply forwarded = write(*a, WriteRequest::Op::set, "/v", "3");
  ASSERT_FALSE(forwarded.error) << forwarded.error->message;
  EXPECT_EQ(read(*a, "/v"), "3");
  EXPECT_EQ(read(*b, "/v"), "3");
  EXPECT_EQ(seen_on_a->shown(), "3");
}

}  // namespace
}  // namespace backside::db
