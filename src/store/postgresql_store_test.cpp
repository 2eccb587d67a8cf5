// The PostgreSQL store against a real PostgreSQL (src/store/postgresql_test_server.h).
#include "store/postgresql_store.h"

#include <boost/json/parse.hpp>

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/postgresql_connection.h"
#include "store/postgresql_test_server.h"
#include "tree/json_codec.h"

namespace backside::store {
namespace {

using tree::Node;
using tree::Path;

Node json(std::string_view text) { return tree::from_json(boost::json::parse(text)).value(); }
Path path(std::string_view text) { return Path::parse(text).value(); }
std::string describe(const Node& node) { return tree::to_json(node, {.format = tree::Format::export_}); }

// Each test works on databases of its own, so that tests sharing the server never see each other's rows.
std::string fresh_database() {
  static std::atomic<int> counter{0};
  return "test-" + std::to_string(std::random_device{}()) + "-" + std::to_string(counter++);
}

PostgresqlOptions options_for(const std::string& url, const std::string& database, const std::string& node = "node-a") {
  PostgresqlOptions options;
  options.url = url;
  options.database = database;
  options.node_id = node;
  return options;
}

std::unique_ptr<Store> open(const PostgresqlOptions& options) {
  auto store = open_postgresql_store(options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(store).value() : nullptr;
}

std::uint64_t commit_set(Store& store, std::string_view at, std::string_view value) {
  WriteBatch batch;
  batch.replace_subtree(path(at), json(value));
  auto committed = store.commit(batch);
  EXPECT_TRUE(committed.ok()) << committed.error().message;
  return committed.ok() ? *committed : 0;
}

Snapshot load(Store& store) {
  auto loaded = store.load();
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return loaded.ok() ? std::move(loaded).value() : Snapshot{};
}

// SQL beside the store, as another client (an operator, another node) would.
void sql(const std::string& url, const std::string& statement) {
  PgConnection connection(url, "");
  ASSERT_TRUE(connection.ensure_connected().ok());
  Status done = connection.execute("test statement", statement);
  ASSERT_TRUE(done.ok()) << done.error().message;
}

TEST(PostgresqlStore, CommitsAreSequencedDurableAndReplayable) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = fresh_database();
  {
    auto store = open(options_for(url, database));
    ASSERT_TRUE(store);
    Snapshot empty = load(*store);
    EXPECT_TRUE(empty.root.is_null());
    EXPECT_EQ(empty.sequence, 0u);
    EXPECT_EQ(commit_set(*store, "/", R"({"a": {"b": 1, "c": "x"}, "ab": true})"), 1u);
    EXPECT_EQ(commit_set(*store, "/a", R"({"d": {".value": 2.5, ".priority": "p"}, ".priority": 7})"), 2u);
    EXPECT_EQ(*store->commit(WriteBatch()), 2u);  // nothing to commit: the sequence stays
  }
  // Another store on the same database (a restart of the same node) sees exactly what was committed.
  auto reopened = open(options_for(url, database));
  ASSERT_TRUE(reopened);
  Snapshot snapshot = load(*reopened);
  EXPECT_EQ(snapshot.sequence, 2u);
  const Node expected = json(R"({"a": {"d": {".value": 2.5, ".priority": "p"}, ".priority": 7}, "ab": true})");
  EXPECT_TRUE(snapshot.root == expected) << describe(snapshot.root);

  // The change log replays to the same tree, in order.
  auto changes = reopened->changes_since(0, 100);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].sequence, 1u);
  EXPECT_EQ((*changes)[1].sequence, 2u);
  WriteBatch expected_second;
  expected_second.replace_subtree(path("/a"), json(R"({"d": {".value": 2.5, ".priority": "p"}, ".priority": 7})"));
  ASSERT_EQ((*changes)[1].batch.ops().size(), expected_second.ops().size());
  for (std::size_t i = 0; i < expected_second.ops().size(); ++i) {
    EXPECT_EQ((*changes)[1].batch.ops()[i].key, expected_second.ops()[i].key);
    EXPECT_EQ((*changes)[1].batch.ops()[i].value, expected_second.ops()[i].value);
  }
  auto one = reopened->changes_since(1, 100);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().sequence, 2u);
  auto none = reopened->changes_since(2, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto limited = reopened->changes_since(0, 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  auto ahead = reopened->changes_since(9, 100);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, ErrorCode::invalid_argument);

  // Commits continue from the loaded sequence.
  EXPECT_EQ(commit_set(*reopened, "/a/b", "3"), 3u);
}

TEST(PostgresqlStore, RangesLongPathsBigValuesAndManyLeaves) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  PostgresqlOptions options = options_for(url, fresh_database());
  options.statement_bytes = 64 << 10;  // many statements per run of rows
  auto store = open(options);
  ASSERT_TRUE(store);

  // A subtree's range delete leaves siblings whose keys share its bytes ("a" and "ab") alone.
  commit_set(*store, "/", R"({"a": {"x": 1}, "ab": {"y": 2}, "a b": 3})");
  commit_set(*store, "/a", "null");
  EXPECT_TRUE(load(*store).root == json(R"({"ab": {"y": 2}, "a b": 3})")) << describe(load(*store).root);

  // Keys past any index-friendly size and a 10 MB string.
  std::string long_key(700, 'k');
  std::string deep = "/";
  for (int i = 0; i < 30; ++i) deep += long_key.substr(0, 600) + std::to_string(i) + "/";
  deep.pop_back();
  const std::string big(10 << 20, 'v');
  WriteBatch batch;
  batch.replace_subtree(path(deep), Node(Node::Leaf(big)));
  batch.replace_subtree(path("/" + long_key), Node(Node::Leaf(true)));
  ASSERT_TRUE(store->commit(batch).ok());

  // 50,000 leaves in one commit, split into statements of 64 KiB.
  std::string many = "{";
  for (int i = 0; i < 50000; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\": " + std::to_string(i);
  many += "}";
  commit_set(*store, "/many", many);

  auto reopened = open(options);
  ASSERT_TRUE(reopened);
  Snapshot snapshot = load(*reopened);
  EXPECT_EQ(snapshot.sequence, 4u);
  const Node* found = snapshot.root.find(path(deep));
  ASSERT_NE(found, nullptr);
  ASSERT_NE(found->leaf_value(), nullptr);
  EXPECT_TRUE(*found == Node(Node::Leaf(big)));
  EXPECT_TRUE(snapshot.root.find(path("/" + long_key)) != nullptr);
  const Node* leaves = snapshot.root.find(path("/many"));
  ASSERT_NE(leaves, nullptr);
  EXPECT_EQ(leaves->leaf_count(), 50000u);
  EXPECT_TRUE(*leaves == json(many));
  EXPECT_TRUE(snapshot.root.find(path("/ab/y")) != nullptr);
}

TEST(PostgresqlStore, ALeaseTakenOverFencesTheOldOwner) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = fresh_database();
  auto first = open(options_for(url, database, "node-a"));
  ASSERT_TRUE(first);
  load(*first);
  EXPECT_EQ(commit_set(*first, "/owner", R"("a")"), 1u);

  // While node-a's lease runs, another node cannot open the database.
  auto refused = open_postgresql_store(options_for(url, database, "node-b"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_NE(refused.error().message.find("owned by node node-a"), std::string::npos) << refused.error().message;

  // Once it has expired (node-a stalled), node-b takes it with the next epoch...
  sql(url, "UPDATE backside_databases SET lease_expires = now() - interval '1 second' WHERE name = '" + database + "'");
  auto second = open(options_for(url, database, "node-b"));
  ASSERT_TRUE(second);
  Snapshot taken = load(*second);
  EXPECT_EQ(taken.sequence, 1u);

  // ...and node-a, waking up, can no longer commit: its write is refused and nothing of it is stored.
  WriteBatch late;
  late.replace_subtree(path("/owner"), json(R"("a again")"));
  auto fenced = first->commit(late);
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.error().code, ErrorCode::unavailable);
  EXPECT_NE(fenced.error().message.find("no longer holds the lease"), std::string::npos) << fenced.error().message;

  EXPECT_EQ(commit_set(*second, "/owner", R"("b")"), 2u);
  first.reset();  // node-a's clean stop must not end node-b's lease
  auto third = open_postgresql_store(options_for(url, database, "node-c"));
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().message.find("owned by node node-b"), std::string::npos) << third.error().message;
  Snapshot now = load(*second);
  EXPECT_TRUE(now.root == json(R"({"owner": "b"})")) << describe(now.root);

  // A clean stop releases the lease: the next node opens at once.
  second.reset();
  auto fourth = open(options_for(url, database, "node-c"));
  ASSERT_TRUE(fourth);
  EXPECT_EQ(load(*fourth).sequence, 2u);
}

TEST(PostgresqlStore, TrimmedChangesAreReportedNotSkipped) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  PostgresqlOptions options = options_for(url, fresh_database());
  options.change_retention = 5;
  options.trim_every = 10;
  auto store = open(options);
  ASSERT_TRUE(store);
  load(*store);
  for (int i = 1; i <= 12; ++i) EXPECT_EQ(commit_set(*store, "/n", std::to_string(i)), static_cast<std::uint64_t>(i));
  // Trimmed at sequence 10: batches 5 to 12 are kept.
  auto kept = store->changes_since(4, 100);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_EQ(kept->size(), 8u);
  EXPECT_EQ(kept->front().sequence, 5u);
  EXPECT_EQ(kept->back().sequence, 12u);
  auto gone = store->changes_since(3, 100);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::not_found);
  EXPECT_NE(gone.error().message.find("load a snapshot"), std::string::npos) << gone.error().message;
}

TEST(PostgresqlStore, ALostConnectionIsATypedErrorAndTheStoreRecovers) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = fresh_database();
  auto store = open(options_for(url, database));
  ASSERT_TRUE(store);
  load(*store);
  EXPECT_EQ(commit_set(*store, "/kept", "1"), 1u);

  // The server ends the store's session (as a restart or a network failure would).
  sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'backside' "
           "AND pid <> pg_backend_pid()");
  WriteBatch lost;
  lost.replace_subtree(path("/lost"), json("2"));
  auto refused = store->commit(lost);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_NE(refused.error().message.find("connection lost"), std::string::npos) << refused.error().message;

  // The next calls reconnect; the refused batch is not there, and commits continue in sequence.
  EXPECT_TRUE(store->probe().ok());
  Snapshot after = load(*store);
  EXPECT_EQ(after.sequence, 1u);
  EXPECT_TRUE(after.root == json(R"({"kept": 1})")) << describe(after.root);
  EXPECT_EQ(commit_set(*store, "/more", "3"), 2u);

  // Nothing listening: opening fails with a clear, typed error.
  auto nowhere = open_postgresql_store(options_for("postgresql://backside@127.0.0.1:1/backside", database, "node-z"));
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().code, ErrorCode::unavailable);
  EXPECT_NE(nowhere.error().message.find("cannot connect to PostgreSQL"), std::string::npos)
      << nowhere.error().message;
  auto malformed = open_postgresql_store(options_for("postgresql://backside@127.0.0.1:notaport/x", database));
  ASSERT_FALSE(malformed.ok());
}

}  // namespace
}  // namespace backside::store

namespace backside::store {
namespace {

// One group commit of many writes is applied as its net effect (deletes first, then the puts no later delete
// removes): the result must be exactly what the writes one by one leave, whatever their order.
TEST(PostgresqlStore, AGroupOfWritesLeavesWhatTheyLeaveOneByOne) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  auto store = open(options_for(url, fresh_database()));
  ASSERT_TRUE(store);
  commit_set(*store, "/", R"({"a": {"old": 1, "b": {"x": 1}}, "keep": {"k": 1}, "p": {".priority": 3, "q": 1}})");
  WriteBatch batch;
  Node tree = load(*store).root;
  const auto set = [&](std::string_view at, std::string_view value) {
    tree.set(path(at), json(value));
    const Node* now = tree.find(path(at));
    batch.replace_subtree(path(at), now ? *now : Node());
  };
  set("/a/b/y", "2");              // a put under a range a later write deletes
  set("/a", R"({"new": true})");   // replaces a, including a/b/y and a/old
  set("/a/later", "3");            // a put after that range: it stays
  set("/keep/k", "2");             // the same key twice: the last wins
  set("/keep/k", "5");
  set("/gone", R"({"z": 1})");     // written, then removed in the same group
  batch.replace_subtree(path("/gone"), Node());
  tree.set(path("/gone"), Node());
  batch.set_object_priority(path("/p"), std::nullopt);  // an object's priority row removed...
  batch.set_object_priority(path("/p"), tree::Priority(7.0));  // ...then written again
  Node with_priority = *tree.find(path("/p"));
  with_priority.set_priority(tree::Priority(7.0));
  tree.set(path("/p"), std::move(with_priority));
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_EQ(describe(load(*store).root), describe(tree));
  EXPECT_EQ(describe(load(*store).root),
            R"({"a":{"later":3,"new":true},"keep":{"k":5},"p":{"q":1,".priority":7}})");
}

}  // namespace
}  // namespace backside::store
