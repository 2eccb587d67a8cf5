// onDisconnect operations kept under a node's lease (store/pending_disconnects.h), against a real PostgreSQL: two
// keepers play two nodes; one keeps a session's operations, the other owns the database and is given them once the
// first one's lease ran out (or it stopped cleanly), and only then.
#include "store/pending_disconnects.h"

#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/postgresql_connection.h"
#include "store/postgresql_test_server.h"

namespace backside::store {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<PendingDisconnects> open_keeper(const std::string& url, const char* node,
                                                std::chrono::milliseconds lease = 60s) {
  auto keeper = PendingDisconnects::open({.url = url, .node_id = node, .lease = lease, .scan_interval = 50ms});
  EXPECT_TRUE(keeper.ok()) << keeper.error().message;
  return keeper ? std::move(*keeper) : nullptr;
}

void append(PendingDisconnects& keeper, const std::string& database, std::uint64_t session, std::uint64_t ordinal,
            std::string operation, std::string client = {}) {
  std::promise<Status> kept;
  keeper.append(database, session, ordinal, std::move(client), std::move(operation),
                [&](Status s) { kept.set_value(std::move(s)); });
  Status status = kept.get_future().get();
  ASSERT_TRUE(status.ok()) << status.error().message;
}

// As if the node had died: its lease is over although its process never said so.
void expire(const std::string& url, const std::string& incarnation) {
  PgConnection connection(url, "");
  ASSERT_TRUE(connection.ensure_connected().ok());
  auto expired = connection.query("expiring a lease", "UPDATE backside_nodes SET expires = now() - interval '1 second' "
                                                      "WHERE incarnation = $1", {PgParam::text(incarnation)});
  ASSERT_TRUE(expired.ok()) << expired.error().message;
}

std::int64_t kept_rows(const std::string& url, const std::string& incarnation) {
  PgConnection connection(url, "");
  EXPECT_TRUE(connection.ensure_connected().ok());
  auto rows = connection.query("counting", "SELECT count(*) FROM backside_disconnects WHERE incarnation = $1",
                               {PgParam::text(incarnation)});
  EXPECT_TRUE(rows.ok());
  return rows ? *rows->integer(0, 0) : -1;
}

// What an owner was given.
struct Offers {
  std::mutex mutex;
  std::vector<PendingDisconnects::Orphan> orphans;
  bool ran = true;  // what finished() says
  std::size_t count() {
    std::lock_guard lock(mutex);
    return orphans.size();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds within = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (count() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
  PendingDisconnects::Runner runner() {
    return [this](PendingDisconnects::Orphan orphan, std::function<void(bool)> finished) {
      bool outcome;
      {
        std::lock_guard lock(mutex);
        orphans.push_back(std::move(orphan));
        outcome = ran;
      }
      finished(outcome);
    };
  }
};

std::string unique_name(const char* prefix) { return prefix + std::to_string(std::random_device{}() % 1000000); }

TEST(PendingDisconnects, TheOwnerRunsTheOperationsOfANodeWhoseLeaseRanOutOnceAndInOrder) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = unique_name("kept-");
  auto dying = open_keeper(url, "node-dying");
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(dying && owner);
  const std::uint64_t session = dying->new_session();
  const std::uint64_t gone = dying->new_session();
  EXPECT_NE(session, gone);
  append(*dying, database, session, 0, "first");
  append(*dying, database, gone, 0, "ran on its own node");
  append(*dying, database, session, 1, std::string("second\0with a zero byte", 23));
  append(*dying, database + "-other", dying->new_session(), 0, "not this owner's");
  dying->forget(gone);  // its session ended there and its write ran
  dying->flush();

  Offers offers;
  auto serving = owner->serve(database, offers.runner());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(offers.count(), 0u) << "given away while its node is alive";

  expire(url, dying->incarnation());
  ASSERT_TRUE(offers.wait_for(1));
  std::this_thread::sleep_for(300ms);  // several scans: none offers it again
  std::lock_guard lock(offers.mutex);
  ASSERT_EQ(offers.orphans.size(), 1u);
  const auto& orphan = offers.orphans[0];
  EXPECT_EQ(orphan.database, database);
  EXPECT_EQ(orphan.incarnation, dying->incarnation());
  EXPECT_EQ(orphan.session, session);
  EXPECT_EQ(orphan.operations, (std::vector<std::string>{"first", std::string("second\0with a zero byte", 23)}));
  owner->flush();
  EXPECT_EQ(kept_rows(url, dying->incarnation()), 1) << "what ran is forgotten; another database's stays";
}

// One scan looks at every database the owner serves (one statement), and hands each orphan to its database's runner.
TEST(PendingDisconnects, AnOwnerOfSeveralDatabasesGetsEachOnesOrphansForIt) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string first = unique_name("kept-");
  const std::string second = unique_name("we\"ird\\,{}-");  // quoted in the statement's array whatever it holds
  auto dying = open_keeper(url, "node-dying");
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(dying && owner);
  append(*dying, first, dying->new_session(), 0, "to the first");
  append(*dying, second, dying->new_session(), 0, "to the second");
  dying->flush();
  Offers to_first, to_second;
  auto serving_first = owner->serve(first, to_first.runner());
  auto serving_second = owner->serve(second, to_second.runner());
  expire(url, dying->incarnation());
  ASSERT_TRUE(to_first.wait_for(1));
  ASSERT_TRUE(to_second.wait_for(1));
  std::lock_guard lock_first(to_first.mutex);
  std::lock_guard lock_second(to_second.mutex);
  ASSERT_EQ(to_first.orphans.size(), 1u);
  ASSERT_EQ(to_second.orphans.size(), 1u);
  EXPECT_EQ(to_first.orphans[0].database, first);
  EXPECT_EQ(to_first.orphans[0].operations, std::vector<std::string>{"to the first"});
  EXPECT_EQ(to_second.orphans[0].database, second);
  EXPECT_EQ(to_second.orphans[0].operations, std::vector<std::string>{"to the second"});
}

TEST(PendingDisconnects, WhatCouldNotRunIsOfferedAgainAndWhatRanIsNot) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = unique_name("kept-");
  auto dying = open_keeper(url, "node-dying");
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(dying && owner);
  append(*dying, database, dying->new_session(), 0, "op");
  expire(url, dying->incarnation());
  Offers offers;
  offers.ran = false;  // the owner could not write now (failing over, its store away)
  auto serving = owner->serve(database, offers.runner());
  ASSERT_TRUE(offers.wait_for(2));
  {
    std::lock_guard lock(offers.mutex);
    offers.ran = true;
  }
  const std::size_t offered = offers.count();
  ASSERT_TRUE(offers.wait_for(offered + 1));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(offers.count(), offered + 1);
  owner->flush();
  EXPECT_EQ(kept_rows(url, dying->incarnation()), 0);
}

TEST(PendingDisconnects, ACleanStopHandsWhatIsStillKeptToTheOwnerAtOnce) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = unique_name("kept-");
  auto stopping = open_keeper(url, "node-stopping");  // a 60 s lease: only the clean stop can hand it over soon
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(stopping && owner);
  append(*stopping, database, stopping->new_session(), 0, "left behind");
  Offers offers;
  auto serving = owner->serve(database, offers.runner());
  stopping.reset();
  ASSERT_TRUE(offers.wait_for(1, 2s));
}

TEST(PendingDisconnects, ANodeThatNoLongerOwnsTheDatabaseIsGivenNothing) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = unique_name("kept-");
  auto dying = open_keeper(url, "node-dying");
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(dying && owner);
  Offers offers;
  owner->serve(database, offers.runner()).reset();  // stepped down at once
  append(*dying, database, dying->new_session(), 0, "op");
  expire(url, dying->incarnation());
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(offers.count(), 0u);
  EXPECT_EQ(kept_rows(url, dying->incarnation()), 1);
}

TEST(PendingDisconnects, AClaimTakesTheRowsOnceWhoeverClaimsAndTheOwnerGetsNothingAfterIt) {
  BACKSIDE_REQUIRE_POSTGRESQL(url);
  const std::string database = unique_name("kept-");
  auto node_b = open_keeper(url, "node-b");
  auto node_c = open_keeper(url, "node-c");
  auto owner = open_keeper(url, "node-owner");
  ASSERT_TRUE(node_b && node_c && owner);
  const std::uint64_t session = node_b->new_session();
  append(*node_b, database, session, 0, "first", "client-1");
  append(*node_b, database, session, 1, "second", "client-1");
  append(*node_b, database, session, 2, "third", "client-1");
  const std::uint64_t other = node_b->new_session();
  append(*node_b, database, other, 0, "someone else's", "client-2");

  // The client reconnects on node C naming its previous session: C claims its operations, in order.
  std::promise<Result<std::vector<std::string>>> claimed;
  node_c->claim_client(database, "client-1", [&](Result<std::vector<std::string>> r) { claimed.set_value(std::move(r)); });
  auto operations = claimed.get_future().get();
  ASSERT_TRUE(operations.ok()) << operations.error().message;
  EXPECT_EQ(*operations, (std::vector<std::string>{"first", "second", "third"}));
  std::promise<Result<std::vector<std::string>>> again;
  node_c->claim_client(database, "client-1", [&](Result<std::vector<std::string>> r) { again.set_value(std::move(r)); });
  EXPECT_TRUE(again.get_future().get()->empty()) << "claimed twice";

  // The session's own end on B then finds nothing to run; the other session's end finds its one operation.
  std::promise<Result<std::size_t>> own_end;
  node_b->claim_session(session, [&](Result<std::size_t> r) { own_end.set_value(std::move(r)); });
  EXPECT_EQ(*own_end.get_future().get(), 0u);
  std::promise<Result<std::size_t>> other_end;
  node_b->claim_session(other, [&](Result<std::size_t> r) { other_end.set_value(std::move(r)); });
  EXPECT_EQ(*other_end.get_future().get(), 1u);

  // B dies: its owner has nothing left to run.
  Offers offers;
  auto serving = owner->serve(database, offers.runner());
  expire(url, node_b->incarnation());
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(offers.count(), 0u);
}

TEST(PendingDisconnects, AnUnreachableServerIsAnErrorAtOpen) {
  auto keeper = PendingDisconnects::open({.url = "postgresql://nobody@127.0.0.1:1/none", .node_id = "n"});
  ASSERT_FALSE(keeper.ok());
  EXPECT_EQ(keeper.error().code, ErrorCode::unavailable);
  EXPECT_FALSE(PendingDisconnects::open({.url = "mysql://x", .node_id = "n"}).ok());
}

}  // namespace
}  // namespace backside::store
